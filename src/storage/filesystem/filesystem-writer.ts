// The filesystem driver's StorageWriter: appends to one file at explicit positions, gathers
// small writes into one buffer of at most COALESCE_BYTES so that a stream of small chunks
// costs few system calls, and makes the bytes durable on commit().
import type { FileHandle } from 'node:fs/promises';
import { unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StorageWriter } from '../driver.js';
import { fsyncDirectory } from './durability.js';
import { errorCode, toWriteError } from './fs-errors.js';

/** Writes smaller than this are copied into one buffer and written together. */
export const COALESCE_BYTES = 1024 * 1024;

type WriterState = 'open' | 'committed' | 'closed' | 'cancelled';

export interface FilesystemWriterOptions {
  readonly driver: string;
  readonly key: string;
  readonly path: string;
  readonly handle: FileHandle;
  /** Bytes already in the file (the append position). */
  readonly initialSize: number;
  /** The file's directory entry may be new, so commit() fsyncs the directory too. */
  readonly createdEntry: boolean;
  readonly signal?: AbortSignal | undefined;
}

export class FilesystemWriter implements StorageWriter {
  readonly #driver: string;
  readonly #key: string;
  readonly #path: string;
  readonly #handle: FileHandle;
  readonly #createdEntry: boolean;
  readonly #signal: AbortSignal | undefined;
  /** Bytes written to the file so far (the next write position). */
  #position: number;
  /** Small writes not yet in the file; allocated on the first small write. */
  #staging: Buffer | undefined;
  #staged = 0;
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
    this.#handle = options.handle;
    this.#position = options.initialSize;
    this.#createdEntry = options.createdEntry;
    this.#signal = options.signal;
  }

  get size(): number {
    return this.#position + this.#staged;
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.#enqueue(async () => {
      this.#assertWritable('write');
      this.#signal?.throwIfAborted();
      if (chunk.byteLength === 0) {
        return;
      }
      if (this.#staged + chunk.byteLength > COALESCE_BYTES) {
        await this.#flush();
      }
      if (chunk.byteLength >= COALESCE_BYTES) {
        // Large chunks go straight to the file: copying them would only cost time.
        await this.#writeToFile(chunk);
        this.#position += chunk.byteLength;
        return;
      }
      this.#staging ??= Buffer.allocUnsafe(COALESCE_BYTES);
      // Copied, because the caller may reuse its buffer once write() resolves.
      this.#staging.set(chunk, this.#staged);
      this.#staged += chunk.byteLength;
    });
  }

  commit(): Promise<void> {
    return this.#enqueue(async () => {
      this.#assertWritable('commit');
      try {
        await this.#flush();
        await this.#handle.sync();
      } catch (error) {
        // The handle is closed below, so the writer cannot be used again; cancel() still works.
        this.#failure ??= toWriteError(this.#driver, this.#key, 'commit', error);
        throw this.#failure;
      } finally {
        await this.#closeHandle();
      }
      this.#state = 'committed';
      if (this.#createdEntry) {
        try {
          await fsyncDirectory(dirname(this.#path));
        } catch (error) {
          throw toWriteError(this.#driver, this.#key, 'commit', error);
        }
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
        if (this.#failure === undefined) {
          await this.#flush();
          // Durable, as the contract asks: an upload chunk acknowledged to a client survives
          // a power loss.
          await this.#handle.sync();
          if (this.#createdEntry) await fsyncDirectory(dirname(this.#path));
        }
      } finally {
        await this.#closeHandle();
      }
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
      await this.#closeHandle();
      try {
        await unlink(this.#path);
      } catch (error) {
        if (errorCode(error) !== 'ENOENT') {
          throw toWriteError(this.#driver, this.#key, 'cancel', error);
        }
      }
    });
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

  async #flush(): Promise<void> {
    if (this.#staging === undefined || this.#staged === 0) {
      return;
    }
    await this.#writeToFile(this.#staging.subarray(0, this.#staged));
    // Both in one step, so that size never counts these bytes twice.
    this.#position += this.#staged;
    this.#staged = 0;
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
    }
  }
}
