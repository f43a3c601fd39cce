// A closed-loop load generator for small requests: `concurrency` raw keep-alive connections
// (raw-http.ts), each sending its next request as soon as the previous response has ended.
// Much cheaper per request than node:http, so the client stays well below the servers' CPU
// on a shared 2-core machine.
import { performance } from 'node:perf_hooks';
import { RawConnection } from './raw-http.js';
import { SampleBuffer, percentile } from './stats.js';

export { buildRequest } from './raw-http.js';

export interface LoadOptions {
  readonly host: string;
  readonly port: number;
  readonly concurrency: number;
  /** The raw request, from buildRequest(). */
  readonly request: Buffer;
  /** HEAD responses carry no body whatever their Content-Length says. */
  readonly head: boolean;
  readonly expectStatus: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /**
   * For servers that answer in slow rounds (the reference running bcrypt on every request, ~16
   * requests finishing together): warm up until every connection has had a response, and keep
   * the window open past durationMs until this many responses completed in it, so that the
   * window spans whole rounds instead of catching none. Each wait is capped at SLOW_CAP_MS.
   */
  readonly minRequests?: number;
  /**
   * Closes the measured window when this settles instead of after durationMs (the GC rows: the
   * window is the garbage collection's run, started by onWindowStart).
   */
  readonly until?: Promise<unknown>;
  /** Called when the measured window opens and closes (to read CPU counters). */
  readonly onWindowStart?: () => void;
  readonly onWindowEnd?: () => void;
}

export interface LoadResult {
  /** Responses completed inside the measured window. */
  readonly requests: number;
  /** Responses with another status, and broken connections, over the whole run. */
  readonly errors: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly firstError: string | undefined;
}

/** The longest a slow server is waited for, in the warm-up and again at the window's end. */
const SLOW_CAP_MS = 60_000;

/** Runs the connections for warmup + duration and reports what completed inside the window. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  let running = true;
  let windowOpen = false;
  let completed = 0;
  let errors = 0;
  let firstError: string | undefined;
  const latencies = new SampleBuffer();
  const answered = new Set<number>();
  let progress: (() => void) | undefined;

  const worker = async (_: unknown, index: number): Promise<void> => {
    const connection = new RawConnection(options.host, options.port);
    try {
      while (running) {
        try {
          const response = await connection.request(options.request, options.head);
          if (response.status !== options.expectStatus) {
            errors++;
            firstError ??= `HTTP ${response.status}`;
          } else {
            answered.add(index);
            if (windowOpen) {
              completed++;
              latencies.push(response.totalMs);
            }
          }
        } catch (error) {
          errors++;
          firstError ??= error instanceof Error ? error.message : String(error);
          connection.close();
        }
        progress?.();
      }
    } finally {
      connection.close();
    }
  };

  const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  /** Resolves as soon as `done()` holds after a response, or after SLOW_CAP_MS. */
  const until = (done: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        progress = undefined;
        resolve();
      };
      const timer = setTimeout(finish, SLOW_CAP_MS);
      if (done()) return finish();
      progress = () => {
        if (done()) finish();
      };
    });
  const slow = options.minRequests !== undefined;
  const workers = Array.from({ length: options.concurrency }, worker);
  await pause(options.warmupMs);
  if (slow) await until(() => answered.size === options.concurrency || errors > 0);
  options.onWindowStart?.();
  windowOpen = true;
  const opened = performance.now();
  await (options.until ? options.until.catch(() => undefined) : pause(options.durationMs));
  if (slow) await until(() => completed >= (options.minRequests ?? 0) || errors > 0);
  windowOpen = false;
  const seconds = (performance.now() - opened) / 1000;
  options.onWindowEnd?.();
  running = false;
  await Promise.all(workers);

  const sorted = latencies.sorted();
  return {
    requests: completed,
    errors,
    seconds,
    requestsPerSecond: completed / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    firstError,
  };
}
