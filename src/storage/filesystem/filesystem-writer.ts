// The filesystem driver's StorageWriter: appends to one file at explicit positions, gathers
// small writes into one buffer of at most COALESCE_BYTES so that a stream of small chunks
// costs few system calls, and makes the bytes durable on commit() and close(). New content is
// written to a temporary file beside its key and renamed into place only then, so a key never
// shows content that is half written (or about to be cancelled).
//
// Two things keep a large upload moving instead of waiting on the disk in turn: a full buffer
// is written to the file while the next one fills (two buffers, one write in flight), and
// every BACKGROUND_SYNC_BYTES (4 MiB) the written data is flushed to disk (fdatasync in libuv's thread
// pool) while more arrives, so that the fsync at the end finds little left to flush.
//
// Staging buffers are reserved from the process's memory budget (memory-budget.ts): a client
// that sends a little and stalls would otherwise keep up to 2 MiB staged per upload, without
// bound over many uploads. When the budget is used up, writes go straight to the file, one
// chunk at a time: slower, never refused.
import type { FileHandle } from 'node:fs/promises';
import { rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StorageWriter } from '../driver.js';
import { UNBOUNDED_MEMORY, type MemoryBudget } from '../memory-budget.js';
import { fsyncDirectory } from './durability.js';
import { errorCode, toWriteError } from './fs-errors.js';

/** Writes smaller than this are copied into one buffer and written together. */
export const COALESCE_BYTES = 1024 * 1024;

/**
 * Staging buffers of finished writers, for the next ones: allocating 1 MiB (twice) for every
 * upload, most of them small layers, costs page faults and garbage collection.
 */
const freeBuffers: Buffer[] = [];
const MAX_FREE_BUFFERS = 8;

/** A staging buffer, if the budget has room for one (a pooled buffer counts while in use). */
function takeBuffer(memory: MemoryBudget): Buffer | undefined {
  if (!memory.tryReserve(COALESCE_BYTES)) return undefined;
  return freeBuffers.pop() ?? Buffer.allocUnsafe(COALESCE_BYTES);
}

/** Bytes written between flushes to disk while the upload goes on. */
export const BACKGROUND_SYNC_BYTES = 4 * 1024 * 1024;

type WriterState = 'open' | 'committed' | 'closed' | 'cancelled';

export interface FilesystemWriterOptions {
  readonly driver: string;
  readonly key: string;
  /** Where the content lives once committed or closed. */
  readonly path: string;
  /**
   * For new content: the file the handle writes, renamed to path by commit() or close(), which
   * then fsync the directory for the new entry. Undefined when appending to path itself.
   */
  readonly temporaryPath: string | undefined;
  readonly handle: FileHandle;
  /** Bytes already in the file (the append position). */
  readonly initialSize: number;
  readonly signal?: AbortSignal | undefined;
  /** What staging buffers are reserved from; default: no bound. */
  readonly memory?: MemoryBudget | undefined;
}

export class FilesystemWriter implements StorageWriter {
  readonly #driver: string;
  readonly #key: string;
  readonly #path: string;
  readonly #temporaryPath: string | undefined;
  readonly #handle: FileHandle;
  readonly #signal: AbortSignal | undefined;
  readonly #memory: MemoryBudget;
  /** Bytes written to the file so far (the next write position). */
  #position: number;
  /** Small writes not yet in the file; allocated on the first small write. */
  #staging: Buffer | undefined;
  #staged = 0;
  /** The other staging buffer: being written to the file while #staging fills, or free. */
  #spare: Buffer | undefined;
  /** The staging buffer's write to the file, while in flight (its bytes count in #inFlight). */
  #flushing: Promise<void> | undefined;
  #inFlight = 0;
  /** The running background flush to disk, if any, and the position it was started at. */
  #syncing: Promise<void> | undefined;
  #syncedTo: number;
  #state: WriterState = 'open';
  #handleOpen = true;
  /** Set when a write to the file failed: its content past #position is unknown. */
  #failure: Error | undefined;
  /** Operations run one after the other even if a caller does not await each write. */
  #tail: Promise<void> = Promise.resolve();

  constructor(options: FilesystemWriterOptions) {
    this.#driver = options.driver;
    this.#key = options.key;
    this.#path = options.path;
    this.#temporaryPath = options.temporaryPath;
    this.#handle = options.handle;
    this.#position = options.initialSize;
    this.#syncedTo = options.initialSize;
    this.#signal = options.signal;
    this.#memory = options.memory ?? UNBOUNDED_MEMORY;
  }

  get size(): number {
    return this.#position + this.#inFlight + this.#staged;
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.#enqueue(async () => {
      this.#assertWritable('write');
      this.#signal?.throwIfAborted();
      if (chunk.byteLength === 0) {
        return;
      }
      if (this.#staged + chunk.byteLength > COALESCE_BYTES) {
        await this.#startFlush();
      }
      if (chunk.byteLength < COALESCE_BYTES) this.#staging ??= takeBuffer(this.#memory);
      if (chunk.byteLength >= COALESCE_BYTES || this.#staging === undefined) {
        // Large chunks go straight to the file: copying them would only cost time. So do all
        // chunks while the memory budget has no staging buffer to spare.
        await this.#settleFlush();
        await this.#writeToFile(chunk);
        this.#position += chunk.byteLength;
        this.#maybeSyncInBackground();
        return;
      }
      // Copied, because the caller may reuse its buffer once write() resolves.
      this.#staging.set(chunk, this.#staged);
      this.#staged += chunk.byteLength;
    });
  }

  commit(): Promise<void> {
    return this.#enqueue(async () => {
      this.#assertWritable('commit');
      try {
        await this.#makeDurable();
      } catch (error) {
        // The handle is closed below, so the writer cannot be used again; cancel() still works.
        this.#failure ??= toWriteError(this.#driver, this.#key, 'commit', error);
        throw this.#failure;
      } finally {
        await this.#closeHandle();
      }
      await this.#publish('committed');
    });
  }

  close(): Promise<void> {
    return this.#enqueue(async () => {
      if (this.#state !== 'open') {
        return; // closing a finished writer is harmless, so `finally { close() }` is safe
      }
      this.#state = 'closed';
      if (this.#failure !== undefined) {
        // What reached a new file is unknown past the failure: nothing of it is kept. An
        // append keeps its file, which held content before this writer.
        await this.#closeHandle();
        await this.#removeTemporaryFile();
        return;
      }
      try {
        // Durable, as the contract asks: an upload chunk acknowledged to a client survives
        // a power loss.
        await this.#makeDurable();
      } catch (error) {
        await this.#closeHandle().catch(() => undefined);
        await this.#removeTemporaryFile().catch(() => undefined);
        throw error;
      }
      await this.#closeHandle();
      await this.#publish('closed');
    });
  }

  cancel(): Promise<void> {
    return this.#enqueue(async () => {
      if (this.#state !== 'open') {
        // Never remove content that was committed or handed over by close().
        return;
      }
      this.#state = 'cancelled';
      this.#staged = 0;
      // Nothing may still be writing into the file when it is removed.
      await this.#flushing?.catch(() => undefined);
      await this.#syncing?.catch(() => undefined);
      await this.#closeHandle();
      try {
        await unlink(this.#temporaryPath ?? this.#path);
      } catch (error) {
        if (errorCode(error) !== 'ENOENT') {
          throw toWriteError(this.#driver, this.#key, 'cancel', error);
        }
      }
    });
  }

  /** Flushes every staged byte and fsyncs the file. */
  async #makeDurable(): Promise<void> {
    await this.#flush();
    await this.#settleSync();
    await this.#handle.sync();
  }

  /**
   * Renames new content from its temporary file to its key and fsyncs the directory for that
   * entry; the writer is in its final state once the content is under its key.
   */
  async #publish(state: 'committed' | 'closed'): Promise<void> {
    const operation = state === 'committed' ? 'commit' : 'close';
    if (this.#temporaryPath === undefined) {
      this.#state = state;
      return;
    }
    try {
      await rename(this.#temporaryPath, this.#path);
    } catch (error) {
      this.#failure ??= toWriteError(this.#driver, this.#key, operation, error);
      await this.#removeTemporaryFile().catch(() => undefined);
      throw this.#failure;
    }
    this.#state = state;
    try {
      await fsyncDirectory(dirname(this.#path));
    } catch (error) {
      throw toWriteError(this.#driver, this.#key, operation, error);
    }
  }

  async #removeTemporaryFile(): Promise<void> {
    if (this.#temporaryPath === undefined) return;
    try {
      await unlink(this.#temporaryPath);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw toWriteError(this.#driver, this.#key, 'close', error);
    }
  }

  #enqueue(operation: () => Promise<void>): Promise<void> {
    const result = this.#tail.then(operation);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  #assertWritable(operation: string): void {
    if (this.#state !== 'open') {
      throw new Error(`${this.#driver}: cannot ${operation} "${this.#key}": the writer is ${this.#state}`);
    }
    if (this.#failure !== undefined) {
      throw this.#failure;
    }
  }

  /** Writes every staged byte to the file and waits for it. */
  async #flush(): Promise<void> {
    await this.#startFlush();
    await this.#settleFlush();
  }

  /**
   * Starts writing the staging buffer to the file and swaps in the spare one, after the
   * previous write (which used the spare) has finished. Resolves once the swap is done.
   */
  async #startFlush(): Promise<void> {
    await this.#settleFlush();
    if (this.#staging === undefined || this.#staged === 0) {
      return;
    }
    const full = this.#staging;
    const length = this.#staged;
    this.#inFlight = length;
    this.#staged = 0;
    this.#staging = this.#spare ?? takeBuffer(this.#memory);
    this.#spare = full;
    this.#flushing = this.#writeToFile(full.subarray(0, length)).then(() => {
      // Both in one step, so that size never counts these bytes twice.
      this.#position += length;
      this.#inFlight = 0;
      this.#maybeSyncInBackground();
    });
    // Its failure is recorded in #failure and seen by the next operation.
    this.#flushing.catch(() => undefined);
  }

  async #settleFlush(): Promise<void> {
    const flushing = this.#flushing;
    if (flushing === undefined) return;
    try {
      await flushing;
    } finally {
      if (this.#flushing === flushing) this.#flushing = undefined;
    }
  }

  /** Starts an fdatasync once BACKGROUND_SYNC_BYTES have been written since the last one began. */
  #maybeSyncInBackground(): void {
    if (this.#syncing !== undefined || this.#position - this.#syncedTo < BACKGROUND_SYNC_BYTES) {
      return;
    }
    this.#syncedTo = this.#position;
    this.#syncing = this.#handle.datasync().then(
      () => {
        this.#syncing = undefined;
      },
      (error: unknown) => {
        this.#syncing = undefined;
        // A failed flush means written data may not reach the disk: the upload cannot commit.
        this.#failure ??= toWriteError(this.#driver, this.#key, 'write', error);
      },
    );
  }

  /** Waits for a background flush; its failure fails the caller. */
  async #settleSync(): Promise<void> {
    await this.#syncing;
    if (this.#failure !== undefined) throw this.#failure;
  }

  /**
   * Writes all of data at #position (the caller then advances it); a short write is
   * continued, not lost.
   */
  async #writeToFile(data: Uint8Array): Promise<void> {
    let written = 0;
    try {
      while (written < data.byteLength) {
        const { bytesWritten } = await this.#handle.write(
          data,
          written,
          data.byteLength - written,
          this.#position + written,
        );
        written += bytesWritten;
      }
    } catch (error) {
      this.#failure = toWriteError(this.#driver, this.#key, 'write', error);
      throw this.#failure;
    }
  }

  async #closeHandle(): Promise<void> {
    if (!this.#handleOpen) {
      return;
    }
    this.#handleOpen = false;
    try {
      await this.#handle.close();
    } catch (error) {
      throw toWriteError(this.#driver, this.#key, 'close', error);
    } finally {
      await this.#releaseBuffers();
    }
  }

  /** Hands the staging buffers on, once no write to the file can still be reading one. */
  async #releaseBuffers(): Promise<void> {
    await this.#flushing?.catch(() => undefined);
    for (const buffer of [this.#staging, this.#spare]) {
      if (buffer === undefined) continue;
      this.#memory.release(COALESCE_BYTES);
      if (freeBuffers.length < MAX_FREE_BUFFERS) freeBuffers.push(buffer);
    }
    this.#staging = undefined;
    this.#spare = undefined;
    this.#staged = 0;
  }
}
