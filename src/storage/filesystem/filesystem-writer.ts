// The filesystem driver's StorageWriter: appends to one file at explicit positions, gathers
// small writes into one staging buffer of at most COALESCE_BYTES so that a stream of small
// chunks costs few system calls, and makes the bytes durable on commit() and close(). New
// content is written to a temporary file beside its key and renamed into place only then, so a
// key never shows content that is half written (or about to be cancelled). State, queue,
// failure, signal and the staging buffer's memory are WriterBase's (writer-base.ts).
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
import { BufferPool, StagingBuffer } from '../staging-buffer.js';
import { WriterBase, type WriterBaseOptions } from '../writer-base.js';
import { fsyncDirectory } from './durability.js';
import { errorCode } from './fs-errors.js';

/** Writes smaller than this are copied into one buffer and written together. */
export const COALESCE_BYTES = 1024 * 1024;

/**
 * Staging buffers of finished writers, for the next ones: allocating 1 MiB (twice) for every
 * upload, most of them small layers, costs page faults and garbage collection.
 */
const freeBuffers = new BufferPool(COALESCE_BYTES, 8);

/** Bytes written between flushes to disk while the upload goes on. */
export const BACKGROUND_SYNC_BYTES = 4 * 1024 * 1024;

export interface FilesystemWriterOptions extends Omit<WriterBaseOptions, 'pool'> {
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
}

export class FilesystemWriter extends WriterBase {
  readonly #path: string;
  readonly #temporaryPath: string | undefined;
  readonly #handle: FileHandle;
  /** Bytes written to the file so far (the next write position). */
  #position: number;
  /** The other staging buffer: being written to the file while `staging` fills, or free. */
  #spare: StagingBuffer;
  /** The spare buffer's write to the file, while in flight (its bytes count as the spare's length). */
  #flushing: Promise<void> | undefined;
  /** The running background flush to disk, if any, and the position it was started at. */
  #syncing: Promise<void> | undefined;
  #syncedTo: number;
  #handleOpen = true;

  constructor(options: FilesystemWriterOptions) {
    // Named one by one: spreading the options made this constructor a visible cost per upload.
    super({ errors: options.errors, key: options.key, signal: options.signal, memory: options.memory, pool: freeBuffers });
    this.#path = options.path;
    this.#temporaryPath = options.temporaryPath;
    this.#handle = options.handle;
    this.#position = options.initialSize;
    this.#syncedTo = options.initialSize;
    this.#spare = new StagingBuffer(this.memory, freeBuffers);
  }

  protected get unstagedSize(): number {
    return this.#position + this.#spare.length;
  }

  protected async writeChunk(chunk: Uint8Array): Promise<void> {
    if (this.staging.length + chunk.byteLength > COALESCE_BYTES) {
      await this.#startFlush();
    }
    // Large chunks go straight to the file: copying them would only cost time. So do all
    // chunks while the memory budget has no staging buffer to spare.
    if (chunk.byteLength >= COALESCE_BYTES || !this.staging.reserve(COALESCE_BYTES)) {
      await this.#settleFlush();
      await this.#writeToFile(chunk);
      this.#position += chunk.byteLength;
      this.#maybeSyncInBackground();
      return;
    }
    // Copied, because the caller may reuse its buffer once write() resolves.
    this.staging.append(chunk);
  }

  protected async completeContent(): Promise<void> {
    try {
      await this.#makeDurable();
    } finally {
      // The handle is closed either way, so the writer cannot be used again; cancel() still works.
      await this.#closeHandle();
    }
    await this.#publish();
  }

  protected override afterCommit(): Promise<void> {
    return this.#syncEntry();
  }

  protected async keepContent(): Promise<void> {
    if (this.failure !== undefined) {
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
    await this.#publish();
    await this.#syncEntry();
  }

  protected async discardContent(): Promise<void> {
    this.staging.clear();
    // Nothing may still be writing into the file when it is removed.
    await this.#flushing?.catch(() => undefined);
    await this.#syncing?.catch(() => undefined);
    await this.#closeHandle();
    try {
      await unlink(this.#temporaryPath ?? this.#path);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
  }

  /** Flushes every staged byte and fsyncs the file. */
  async #makeDurable(): Promise<void> {
    await this.#flush();
    await this.#settleSync();
    await this.#handle.sync();
  }

  /** Renames new content from its temporary file to its key; nothing is left behind on failure. */
  async #publish(): Promise<void> {
    if (this.#temporaryPath === undefined) return;
    try {
      await rename(this.#temporaryPath, this.#path);
    } catch (error) {
      await this.#removeTemporaryFile().catch(() => undefined);
      throw error;
    }
  }

  /** Makes new content's directory entry durable, once it is renamed into place. */
  async #syncEntry(): Promise<void> {
    if (this.#temporaryPath !== undefined) await fsyncDirectory(dirname(this.#path));
  }

  async #removeTemporaryFile(): Promise<void> {
    if (this.#temporaryPath === undefined) return;
    try {
      await unlink(this.#temporaryPath);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
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
    const full = this.staging;
    if (full.length === 0) {
      return;
    }
    this.staging = this.#spare;
    this.#spare = full;
    this.staging.reserve(COALESCE_BYTES);
    this.#flushing = this.#writeToFile(full.bytes()).then(() => {
      // Both in one step, so that size never counts these bytes twice.
      this.#position += full.length;
      full.clear();
      this.#maybeSyncInBackground();
    });
    // Its failure is recorded as the writer's and seen by the next operation.
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
        this.fail('write', error);
      },
    );
  }

  /** Waits for a background flush; its failure fails the caller. */
  async #settleSync(): Promise<void> {
    await this.#syncing;
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * Writes all of data at #position (the caller then advances it); a short write is
   * continued, not lost.
   */
  async #writeToFile(data: Uint8Array): Promise<void> {
    let written = 0;
    try {
      while (written < data.byteLength) {
        const { bytesWritten } = await this.#handle.write(data, written, data.byteLength - written, this.#position + written);
        written += bytesWritten;
      }
    } catch (error) {
      throw this.fail('write', error);
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
      throw this.errors.write(this.key, 'close', error);
    } finally {
      await this.#releaseBuffers();
    }
  }

  /** Hands the staging buffers on, once no write to the file can still be reading one. */
  async #releaseBuffers(): Promise<void> {
    await this.#flushing?.catch(() => undefined);
    this.staging.release();
    this.#spare.release();
  }
}
