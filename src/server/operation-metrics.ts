// The metrics of what requests wait on, counted as plain numbers and read at scrape time:
//   berth_storage_operation_duration_seconds{driver,operation} (histogram) and
//   berth_storage_operation_errors_total{driver,operation}: every blob-store call, through
//     storage/instrumented-driver.ts;
//   berth_database_query_duration_seconds{database,operation} (histogram) and
//     berth_database_query_errors_total{database,operation}: every query, from Kysely's log;
//   berth_auth_attempts_total{method,result}: sign-ins with credentials (Basic or Bearer).
// Every label value comes from a fixed list in the code: drivers and databases are named by
// their kind, operations by the method or statement kind, never by keys, tables or users.
import type { Registry } from 'prom-client';
import type { AuthObserver } from '../auth/authenticator.js';
import type { StorageObserver, StorageOperation } from '../storage/instrumented-driver.js';
import { DurationSeries, ScrapedCounter, ScrapedHistogram, type CounterValues, type HistogramValues } from './scraped-metrics.js';

/** Upper bounds in seconds: a SQLite read takes microseconds, an S3 commit of a large blob seconds. */
export const OPERATION_DURATION_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** Durations and failures by two labels, e.g. driver and operation. */
class TimedOperations<A extends string, B extends string> {
  readonly #series = new Map<string, Map<string, { durations: DurationSeries; errors: number }>>();

  constructor(
    registry: Registry,
    name: string,
    help: string,
    errorsName: string,
    errorsHelp: string,
    private readonly labels: readonly [A, B],
  ) {
    new ScrapedHistogram({ name, help, labelNames: [...labels], buckets: OPERATION_DURATION_BUCKETS, registers: [registry] }, () =>
      this.#durationValues(name),
    );
    new ScrapedCounter({ name: errorsName, help: errorsHelp, labelNames: [...labels], registers: [registry] }, () => this.#errorValues());
  }

  observe(first: string, second: string, seconds: number, failed: boolean): void {
    let inner = this.#series.get(first);
    if (inner === undefined) {
      inner = new Map();
      this.#series.set(first, inner);
    }
    let entry = inner.get(second);
    if (entry === undefined) {
      entry = { durations: new DurationSeries(OPERATION_DURATION_BUCKETS), errors: 0 };
      inner.set(second, entry);
    }
    entry.durations.observe(seconds);
    if (failed) entry.errors++;
  }

  #durationValues(name: string): HistogramValues<A | B> {
    const values: HistogramValues<A | B> = [];
    const [a, b] = this.labels;
    for (const [first, inner] of this.#series) {
      for (const [second, entry] of inner) entry.durations.appendTo(values, name, { [a]: first, [b]: second } as Record<A | B, string>);
    }
    return values;
  }

  #errorValues(): CounterValues<A | B> {
    const values: CounterValues<A | B> = [];
    const [a, b] = this.labels;
    for (const [first, inner] of this.#series) {
      for (const [second, entry] of inner)
        values.push({ labels: { [a]: first, [b]: second } as Record<A | B, string>, value: entry.errors });
    }
    return values;
  }
}

/** The StorageObserver of the instrumented driver. */
export class StorageMetrics implements StorageObserver {
  readonly #operations: TimedOperations<'driver', 'operation'>;

  constructor(registry: Registry) {
    this.#operations = new TimedOperations(
      registry,
      'berth_storage_operation_duration_seconds',
      'Blob store calls by driver and operation; reader and writer until the stream or writer is ready, commit/close/cancel of writers.',
      'berth_storage_operation_errors_total',
      'Blob store calls that failed (a key that does not exist included), by driver and operation.',
      ['driver', 'operation'],
    );
  }

  operationFinished(driver: string, operation: StorageOperation, seconds: number, failed: boolean): void {
    this.#operations.observe(driver, operation, seconds, failed);
  }
}

/** What the metrics read of a Kysely log event (Kysely itself belongs to the metadata layer). */
interface QueryLogEvent {
  readonly level: 'query' | 'error';
  readonly query: { readonly query: { readonly kind: string } };
  readonly queryDurationMillis: number;
}

/** Statement kinds as Kysely's operation nodes name them. */
const QUERY_KINDS: Readonly<Record<string, string>> = {
  SelectQueryNode: 'select',
  InsertQueryNode: 'insert',
  UpdateQueryNode: 'update',
  DeleteQueryNode: 'delete',
  RawNode: 'raw',
};

/** Kysely's log, turned into the database metrics. */
export class DatabaseMetrics {
  readonly #queries: TimedOperations<'database', 'operation'>;

  constructor(
    registry: Registry,
    private readonly database: 'sqlite' | 'postgres',
  ) {
    this.#queries = new TimedOperations(
      registry,
      'berth_database_query_duration_seconds',
      'Metadata database queries by database (sqlite or postgres) and statement kind (select, insert, update, delete, raw, other).',
      'berth_database_query_errors_total',
      'Metadata database queries that failed, by database and statement kind.',
      ['database', 'operation'],
    );
  }

  /** Kysely's `log` option. */
  readonly log = (event: QueryLogEvent): void => {
    const operation = QUERY_KINDS[event.query.query.kind] ?? 'other';
    this.#queries.observe(this.database, operation, event.queryDurationMillis / 1000, event.level === 'error');
  };
}

const AUTH_METHODS = ['basic', 'bearer'] as const;
const AUTH_RESULTS = ['success', 'failure', 'throttled'] as const;

/** Sign-in outcomes by method and result: six running totals. */
export class AuthMetrics implements AuthObserver {
  readonly #counts = new Float64Array(AUTH_METHODS.length * AUTH_RESULTS.length);

  constructor(registry: Registry) {
    new ScrapedCounter(
      {
        name: 'berth_auth_attempts_total',
        help: 'Requests that presented credentials, by method (basic, bearer) and result (success; failure: wrong, expired or unknown; throttled: refused by the failed-login limit).',
        labelNames: ['method', 'result'],
        registers: [registry],
      },
      () => this.#values(),
    );
  }

  authenticated(method: 'basic' | 'bearer', result: 'success' | 'failure' | 'throttled'): void {
    const index = AUTH_METHODS.indexOf(method) * AUTH_RESULTS.length + AUTH_RESULTS.indexOf(result);
    this.#counts[index] = (this.#counts[index] as number) + 1;
  }

  #values(): CounterValues<'method' | 'result'> {
    const values: CounterValues<'method' | 'result'> = [];
    AUTH_METHODS.forEach((method, m) => {
      AUTH_RESULTS.forEach((result, r) => {
        values.push({ labels: { method, result }, value: this.#counts[m * AUTH_RESULTS.length + r] as number });
      });
    });
    return values;
  }
}
