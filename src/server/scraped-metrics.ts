// prom-client metrics whose numbers are kept elsewhere and read when Prometheus scrapes. The
// request path must cost next to nothing (a manifest GET takes about 60 us of CPU), and
// prom-client's own inc()/observe() build a label key string per call; so the hot paths count
// into plain numbers (request-metrics.ts, timings.ts) and these classes hand them to prom-client's
// registry, which still writes the exposition format, at scrape time.
import { Counter, Histogram, type MetricType, type Registry } from 'prom-client';

export type CounterValues<T extends string> = Awaited<ReturnType<Counter<T>['get']>>['values'];
export type HistogramValues<T extends string> = Awaited<ReturnType<Histogram<T>['get']>>['values'];

/** A counter whose values `read` returns at each scrape (running totals kept by their source). */
export class ScrapedCounter<T extends string> extends Counter<T> {
  readonly #read: () => CounterValues<T>;

  constructor(config: { name: string; help: string; labelNames: readonly T[]; registers: Registry[] }, read: () => CounterValues<T>) {
    super(config);
    this.#read = read;
  }

  override async get(): ReturnType<Counter<T>['get']> {
    // The base supplies name, help, type and aggregator; it holds no values of its own.
    return { ...(await super.get()), values: this.#read() };
  }
}

/**
 * prom-client's typings declare a metric's type as a numeric enum, while its registry reads the
 * strings it really uses ('histogram'); the one cast between the two.
 */
const HISTOGRAM_TYPE = 'histogram' as unknown as MetricType;

/** A histogram whose buckets `read` returns at each scrape (DurationSeries below). */
export class ScrapedHistogram<T extends string> extends Histogram<T> {
  readonly #name: string;
  readonly #help: string;
  readonly #read: () => HistogramValues<T>;

  constructor(
    config: { name: string; help: string; labelNames: readonly T[]; buckets: number[]; registers: Registry[] },
    read: () => HistogramValues<T>,
  ) {
    super(config);
    this.#name = config.name;
    this.#help = config.help;
    this.#read = read;
  }

  override async get(): ReturnType<Histogram<T>['get']> {
    // Built here rather than from the base's get(), which calls getForPromString below.
    return { name: this.#name, help: this.#help, type: HISTOGRAM_TYPE, aggregator: 'sum', collect: () => undefined, values: this.#read() };
  }

  /** What prom-client's Registry calls for a histogram's text (not in its typings): the same values. */
  getForPromString(): ReturnType<Histogram<T>['get']> {
    return this.get();
  }
}

/**
 * Observations of durations in fixed buckets, as plain numbers: observe() is a few comparisons
 * and additions, no allocation. `bounds` are the buckets' upper bounds in seconds, ascending.
 */
export class DurationSeries {
  /** Observations per bucket (not cumulative); the last one is above every bound (+Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(seconds: number): void {
    const bounds = this.bounds;
    let bucket = 0;
    while (bucket < bounds.length && seconds > (bounds[bucket] as number)) bucket++;
    this.counts[bucket] = (this.counts[bucket] as number) + 1;
    this.sum += seconds;
    this.count++;
  }

  /** Appends this series' exposition values (cumulative buckets, sum, count) under `labels`. */
  appendTo<T extends string>(values: HistogramValues<T>, name: string, labels: Partial<Record<T, string>>): void {
    let cumulative = 0;
    for (let bucket = 0; bucket <= this.bounds.length; bucket++) {
      cumulative += this.counts[bucket] as number;
      const le = bucket < this.bounds.length ? (this.bounds[bucket] as number) : '+Inf';
      const bucketLabels = { ...labels, le };
      values.push({ metricName: `${name}_bucket`, labels: bucketLabels, value: cumulative });
    }
    values.push({ metricName: `${name}_sum`, labels, value: this.sum });
    values.push({ metricName: `${name}_count`, labels, value: this.count });
  }
}
