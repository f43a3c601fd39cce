// The Prometheus metrics of a Berth process (prom-client), served at GET /metrics and on
// http.debug.addr: HTTP requests (request-metrics.ts); blob store calls, database queries and
// sign-ins (operation-metrics.ts); open upload sessions and garbage-collection runs (from the
// index); the bytes requests hold in memory against limits.bodymemory; the pull-through
// cache's counters; and the process's own (CPU, memory, event loop, V8's garbage collection:
// prom-client's default metrics). Everything that can be read
// when Prometheus scrapes is read then, so serving requests pays only for what must be counted
// as it happens. docs/metrics.md lists every metric.
//
// Parts of Berth assembled elsewhere add theirs through the small registration API below
// (gaugeFrom, counterFrom, labelledCounterFrom): each takes a function that reads the current
// value from its source, so a metric exists exactly when the thing it measures does.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { GcRunTotals } from '../metadata/gc-run-totals.js';
import type { PullThroughCache } from '../proxy/index.js';
import type { MemoryBudget } from '../storage/memory-budget.js';
import { AuthMetrics, DatabaseMetrics, StorageMetrics } from './operation-metrics.js';
import { RequestMetrics } from './request-metrics.js';
import { ScrapedCounter } from './scraped-metrics.js';

export class BerthMetrics {
  /** What /metrics serves. */
  readonly registry = new Registry();
  /** The http layer's RequestObserver. */
  readonly requests: RequestMetrics;
  /** The instrumented storage driver's observer. */
  readonly storage: StorageMetrics;
  /** The Authenticator's observer. */
  readonly auth: AuthMetrics;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Gauges whose names end in _total, which promtool rejects; nodejs_active_handles{type} and
    // its two siblings carry the same counts by type.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      this.registry.removeSingleMetric(name);
    }
    this.requests = new RequestMetrics(this.registry);
    this.storage = new StorageMetrics(this.registry);
    this.auth = new AuthMetrics(this.registry);
  }

  /** The metrics of the metadata database, fed by Kysely's `log` option. */
  database(kind: 'sqlite' | 'postgres'): DatabaseMetrics {
    return new DatabaseMetrics(this.registry, kind);
  }

  /** berth_uploads_in_progress: upload sessions open in the index, counted when scraped. */
  watchUploads(count: () => Promise<number>): void {
    this.gaugeFrom(
      'berth_uploads_in_progress',
      'Blob upload sessions started and not yet completed, cancelled or purged (in the index, so the same on every replica).',
      count,
    );
  }

  /**
   * Garbage collection from its run history, read once per scrape for the three metrics:
   * berth_gc_runs_total{result}, berth_gc_runs_in_progress, berth_gc_freed_bytes_total.
   */
  watchGcRuns(read: () => Promise<GcRunTotals>): void {
    // The three collectors of one scrape run together: they share one read.
    let pending: Promise<GcRunTotals> | undefined;
    const totals = (): Promise<GcRunTotals> => {
      if (pending === undefined) {
        pending = read();
        const forget = (): void => {
          pending = undefined;
        };
        pending.then(forget, forget);
      }
      return pending;
    };
    const registers = [this.registry];
    new Gauge({
      name: 'berth_gc_runs_in_progress',
      help: 'Garbage-collection runs in progress (not dry runs), on any replica.',
      registers,
      async collect() {
        this.set((await totals()).running);
      },
    });
    new Counter({
      name: 'berth_gc_runs_total',
      help: 'Garbage-collection runs that ended (not dry runs), on any replica, by result: finished or failed.',
      labelNames: ['result'],
      registers,
      async collect() {
        const { finished, failed } = await totals();
        this.reset();
        this.inc({ result: 'finished' }, finished);
        this.inc({ result: 'failed' }, failed);
      },
    });
    new Counter({
      name: 'berth_gc_freed_bytes_total',
      help: 'Bytes of blobs that finished garbage-collection runs deleted (orphaned bytes included), on any replica.',
      registers,
      async collect() {
        this.reset();
        this.inc((await totals()).bytesFreed);
      },
    });
  }

  watchMemory(memory: MemoryBudget): void {
    this.gaugeFrom(
      'berth_request_memory_bytes',
      'Bytes held in memory for requests now (bodies kept whole, upload staging buffers), of limits.bodymemory.',
      () => memory.used,
    );
    this.gaugeFrom(
      'berth_request_memory_limit_bytes',
      'limits.bodymemory: the most bytes held in memory for requests at once.',
      () => memory.limit,
    );
  }

  watchProxy(proxy: PullThroughCache): void {
    this.labelledCounterFrom(
      'berth_proxy_events_total',
      'Pull-through cache events by kind: hits, misses, manifestFetches, blobFetches, staleServes (served from cache while the upstream was unreachable), verificationFailures.',
      'event',
      () => proxy.stats,
    );
  }

  /** A gauge whose value `read` returns at each scrape (a queue's depth, open sessions). */
  gaugeFrom(name: string, help: string, read: () => number | Promise<number>): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        this.set(await read());
      },
    });
  }

  /** A counter whose running total its source keeps and `read` returns at each scrape (runs finished, bytes freed). */
  counterFrom(name: string, help: string, read: () => number): void {
    new ScrapedCounter({ name, help, labelNames: [], registers: [this.registry] }, () => [{ labels: {}, value: read() }]);
  }

  /**
   * A counter with one label whose totals by label value its source keeps (deliveries by result).
   * The label's values must be a small fixed set, never names from requests.
   */
  labelledCounterFrom(name: string, help: string, label: string, read: () => Readonly<Record<string, number>>): void {
    new ScrapedCounter({ name, help, labelNames: [label], registers: [this.registry] }, () =>
      Object.entries(read()).map(([value, count]) => ({ labels: { [label]: value }, value: count })),
    );
  }
}
