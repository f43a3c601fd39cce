// Prometheus metrics at GET /metrics (prom-client). For now they are the pull-through cache's
// counters (hits, misses, upstream fetches, stale serves, verification failures), read from the
// cache when scraped; an open registry without upstreams exposes an empty set.
import { Counter, Registry } from 'prom-client';
import type { PullThroughCache } from '../proxy/index.js';

export function createMetrics(proxy: PullThroughCache | undefined): Registry {
  const registry = new Registry();
  if (proxy) {
    new Counter({
      name: 'berth_proxy_events_total',
      help: 'Pull-through cache events by kind: hits, misses, manifestFetches, blobFetches, staleServes (served from cache while the upstream was unreachable), verificationFailures.',
      labelNames: ['event'],
      registers: [registry],
      collect() {
        // The cache keeps the running totals; the metric mirrors them at each scrape.
        this.reset();
        for (const [event, count] of Object.entries(proxy.stats)) this.inc({ event }, count);
      },
    });
  }
  return registry;
}
