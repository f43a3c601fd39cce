// Prometheus metrics at GET /metrics (prom-client): the bytes requests hold in memory against
// limits.bodymemory, and the pull-through cache's counters (hits, misses, upstream fetches,
// stale serves, verification failures) when upstreams are configured; all read when scraped.
import { Counter, Gauge, Registry } from 'prom-client';
import type { PullThroughCache } from '../proxy/index.js';
import type { MemoryBudget } from '../storage/memory-budget.js';

export function createMetrics(proxy: PullThroughCache | undefined, memory?: MemoryBudget): Registry {
  const registry = new Registry();
  if (memory) {
    new Gauge({
      name: 'berth_request_memory_bytes',
      help: 'Bytes held in memory for requests now (bodies kept whole, upload staging buffers), of limits.bodymemory.',
      registers: [registry],
      collect() {
        this.set(memory.used);
      },
    });
    new Gauge({
      name: 'berth_request_memory_limit_bytes',
      help: 'limits.bodymemory: the most bytes held in memory for requests at once.',
      registers: [registry],
      collect() {
        this.set(memory.limit);
      },
    });
  }
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
