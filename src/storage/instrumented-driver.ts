// A StorageDriver decorator that times each call of the driver it wraps and reports it to an
// observer (the composition root turns that into berth_storage_operation_duration_seconds by
// driver and operation). Streams and writers pass through untouched: reader() is timed until
// the stream is open, writer() until the writer is ready, and a writer's commit(), close() and
// cancel() are timed, but its write() is the wrapped writer's own, so no byte pays for this.
import type { Readable } from 'node:stream';
import type {
  AbandonedWritesSweep,
  CallOptions,
  ReadOptions,
  StatInfo,
  StorageDriver,
  StorageWriter,
  SweepOptions,
  WriterOptions,
} from './driver.js';

export type StorageOperation =
  | 'stat'
  | 'getContent'
  | 'putContent'
  | 'reader'
  | 'writer'
  | 'list'
  | 'move'
  | 'delete'
  | 'redirectUrl'
  | 'commit'
  | 'close'
  | 'cancel';

export interface StorageObserver {
  /** One finished call: how long it took, and whether it threw (a missing key counts as an error). */
  operationFinished(driver: string, operation: StorageOperation, seconds: number, failed: boolean): void;
}

export class InstrumentedDriver implements StorageDriver {
  readonly name: string;
  readonly redirectUrl?: (key: string) => Promise<string | undefined>;
  readonly sweepAbandonedWrites?: (
    olderThan: Date,
    isLive: (key: string) => Promise<boolean>,
    options?: SweepOptions,
  ) => Promise<AbandonedWritesSweep>;

  constructor(
    private readonly inner: StorageDriver,
    private readonly observer: StorageObserver,
  ) {
    this.name = inner.name;
    const redirectUrl = inner.redirectUrl;
    // Only a driver that has redirects gets the method: callers test for it.
    if (redirectUrl !== undefined) this.redirectUrl = (key) => this.#time('redirectUrl', performance.now(), redirectUrl.call(inner, key));
    // Passed through untimed: a maintenance sweep, not a request's storage call.
    const sweep = inner.sweepAbandonedWrites;
    if (sweep !== undefined) this.sweepAbandonedWrites = (olderThan, isLive, options) => sweep.call(inner, olderThan, isLive, options);
  }

  stat(key: string, options?: CallOptions): Promise<StatInfo> {
    return this.#time('stat', performance.now(), this.inner.stat(key, options));
  }

  getContent(key: string, options?: CallOptions): Promise<Buffer> {
    return this.#time('getContent', performance.now(), this.inner.getContent(key, options));
  }

  putContent(key: string, content: Uint8Array, options?: CallOptions): Promise<void> {
    return this.#time('putContent', performance.now(), this.inner.putContent(key, content, options));
  }

  reader(key: string, options?: ReadOptions): Promise<Readable> {
    return this.#time('reader', performance.now(), this.inner.reader(key, options));
  }

  async writer(key: string, options: WriterOptions): Promise<StorageWriter> {
    const writer = await this.#time('writer', performance.now(), this.inner.writer(key, options));
    return new InstrumentedWriter(writer, this.name, this.observer);
  }

  list(prefix: string, options?: CallOptions): Promise<string[]> {
    return this.#time('list', performance.now(), this.inner.list(prefix, options));
  }

  move(sourceKey: string, destinationKey: string, options?: CallOptions): Promise<void> {
    return this.#time('move', performance.now(), this.inner.move(sourceKey, destinationKey, options));
  }

  delete(key: string, options?: CallOptions): Promise<void> {
    return this.#time('delete', performance.now(), this.inner.delete(key, options));
  }

  /** Times a call; `start` is an argument before the call's, so it is taken before the call runs. */
  #time<T>(operation: StorageOperation, start: number, call: Promise<T>): Promise<T> {
    return timed(this.name, operation, this.observer, start, call);
  }
}

/** Awaits a call started at `start` (performance.now()) and reports its duration and outcome. */
async function timed<T>(
  driver: string,
  operation: StorageOperation,
  observer: StorageObserver,
  start: number,
  call: Promise<T>,
): Promise<T> {
  try {
    const result = await call;
    observer.operationFinished(driver, operation, (performance.now() - start) / 1000, false);
    return result;
  } catch (error) {
    observer.operationFinished(driver, operation, (performance.now() - start) / 1000, true);
    throw error;
  }
}

/** A writer whose write() is the wrapped one's (bound once), and whose endings are timed. */
class InstrumentedWriter implements StorageWriter {
  readonly write: (chunk: Uint8Array) => Promise<void>;

  constructor(
    private readonly inner: StorageWriter,
    private readonly driver: string,
    private readonly observer: StorageObserver,
  ) {
    this.write = inner.write.bind(inner);
  }

  get size(): number {
    return this.inner.size;
  }

  commit(): Promise<void> {
    return timed(this.driver, 'commit', this.observer, performance.now(), this.inner.commit());
  }

  close(): Promise<void> {
    return timed(this.driver, 'close', this.observer, performance.now(), this.inner.close());
  }

  cancel(): Promise<void> {
    return timed(this.driver, 'cancel', this.observer, performance.now(), this.inner.cancel());
  }
}
