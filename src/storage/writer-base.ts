// What every driver's StorageWriter shares, so that a driver's writer holds only its protocol:
// the state (open, then committed, closed or cancelled, each final), the first failure (after
// which write() and commit() reject with it, while close() and cancel() still clean up), one
// queue that runs operations in order even when a caller does not await each write, the
// writer's AbortSignal (every write() after it aborts rejects), the staging buffer with its
// memory reservation, the size, and the mapping of every error to a storage error.
//
// A driver's writer implements five steps: writeChunk (a non-empty chunk: stage it or hand it
// on), completeContent and afterCommit (commit), keepContent (close) and discardContent
// (cancel). The base calls each at most as the contract allows and never after the writer is
// finished. Nothing here adds work per chunk beyond the state check every writer made anyway.
import type { StorageWriter } from './driver.js';
import type { ErrorMapper } from './error-mapping.js';
import { UNBOUNDED_MEMORY, type MemoryBudget } from './memory-budget.js';
import { StagingBuffer, type BufferPool } from './staging-buffer.js';

export type WriterState = 'open' | 'committed' | 'closed' | 'cancelled';

export interface WriterBaseOptions {
  /** The driver's error mapping (it names the driver). */
  readonly errors: ErrorMapper;
  readonly key: string;
  readonly signal?: AbortSignal | undefined;
  /** What the staging buffer is reserved from (the server's request memory budget); default: no bound. */
  readonly memory?: MemoryBudget | undefined;
  /** Where the staging buffer comes from and goes back to, for buffers of one size. */
  readonly pool?: BufferPool | undefined;
}

export abstract class WriterBase implements StorageWriter {
  protected readonly key: string;
  protected readonly signal: AbortSignal | undefined;
  protected readonly errors: ErrorMapper;
  protected readonly memory: MemoryBudget;
  /** Bytes written and not yet handed to the store; released when the writer finishes. */
  protected staging: StagingBuffer;
  #state: WriterState = 'open';
  #failure: Error | undefined;
  /** Operations run one after the other even if a caller does not await each write. */
  #queue: Promise<void> = Promise.resolve();

  constructor(options: WriterBaseOptions) {
    this.key = options.key;
    this.signal = options.signal;
    this.errors = options.errors;
    this.memory = options.memory ?? UNBOUNDED_MEMORY;
    this.staging = new StagingBuffer(this.memory, options.pool);
  }

  get size(): number {
    return this.unstagedSize + this.staging.length;
  }

  /**
   * Bytes of the content outside the staging buffer: in the store, on their way there, or (for
   * continued content) still to be loaded. With the staged bytes, the writer's size.
   */
  protected abstract get unstagedSize(): number;

  /** Takes a non-empty chunk; a failure that leaves the content unknown goes through fail(). */
  protected abstract writeChunk(chunk: Uint8Array): Promise<void>;

  /** commit(): makes the content whole and durable at its key. A failure fails the writer. */
  protected abstract completeContent(): Promise<void>;

  /** commit(), once the content is committed: what is left to tidy or make durable. */
  protected afterCommit(): Promise<void> {
    return Promise.resolve();
  }

  /** close(): keeps what was written, durably, for a later writer; see `failure`. */
  protected abstract keepContent(): Promise<void>;

  /** cancel(): removes the content. */
  protected abstract discardContent(): Promise<void>;

  /** The first failure of a write or commit: what reached the store past it is unknown. */
  protected get failure(): Error | undefined {
    return this.#failure;
  }

  /** Records a failure (the first one stays) and returns the error to throw. */
  protected fail(operation: string, error: unknown): Error {
    this.#failure ??= this.errors.write(this.key, operation, error);
    return this.#failure;
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.#enqueue(() => {
      this.#assertWritable('write');
      this.signal?.throwIfAborted();
      return chunk.byteLength === 0 ? undefined : this.writeChunk(chunk);
    });
  }

  commit(): Promise<void> {
    return this.#enqueue(async () => {
      this.#assertWritable('commit');
      try {
        await this.completeContent();
      } catch (error) {
        throw this.fail('commit', error);
      }
      this.#state = 'committed';
      this.staging.release();
      try {
        await this.afterCommit();
      } catch (error) {
        throw this.errors.write(this.key, 'commit', error);
      }
    });
  }

  close(): Promise<void> {
    return this.#enqueue(async () => {
      if (this.#state !== 'open') {
        return; // closing a finished writer is harmless, so `finally { close() }` is safe
      }
      this.#state = 'closed';
      try {
        await this.keepContent();
      } catch (error) {
        throw this.errors.write(this.key, 'close', error);
      } finally {
        this.staging.release();
      }
    });
  }

  cancel(): Promise<void> {
    return this.#enqueue(async () => {
      if (this.#state !== 'open') {
        return; // never remove content that was committed or handed over by close()
      }
      this.#state = 'cancelled';
      this.staging.release();
      try {
        await this.discardContent();
      } catch (error) {
        throw this.errors.write(this.key, 'cancel', error);
      }
    });
  }

  #enqueue(operation: () => Promise<void> | undefined): Promise<void> {
    const result = this.#queue.then(operation);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  #assertWritable(operation: string): void {
    if (this.#state !== 'open') {
      throw new Error(`${this.errors.driver}: cannot ${operation} "${this.key}": the writer is ${this.#state}`);
    }
    if (this.#failure !== undefined) {
      throw this.#failure;
    }
  }
}
