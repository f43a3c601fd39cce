// A writer's staging buffer: bytes copied out of write() calls until the writer hands them to
// its store (a write to a file, an uploaded part). Its memory is reserved from the process's
// memory budget (memory-budget.ts) before it is allocated and given back when the writer
// finishes, so that uploads that send a little and stall cannot hold staging memory without
// bound. A buffer may grow (an S3 part buffer doubles up to a part) or come from a pool of
// buffers of one size (the filesystem writer's 1 MiB buffers).
import type { MemoryBudget } from './memory-budget.js';

/** Buffers of one size that finished writers leave for the next ones (fewer page faults and GCs). */
export class BufferPool {
  readonly #free: Buffer[] = [];

  constructor(
    /** The size of every buffer in the pool. */
    readonly size: number,
    /** The most buffers kept. */
    readonly max: number,
  ) {}

  take(): Buffer | undefined {
    return this.#free.pop();
  }

  give(buffer: Buffer): void {
    if (buffer.length === this.size && this.#free.length < this.max) this.#free.push(buffer);
  }
}

export class StagingBuffer {
  readonly #memory: MemoryBudget;
  readonly #pool: BufferPool | undefined;
  #buffer: Buffer | undefined;
  #length = 0;
  /** Bytes of the budget held for #buffer: its capacity, or 0. */
  #reserved = 0;

  constructor(memory: MemoryBudget, pool?: BufferPool) {
    this.#memory = memory;
    this.#pool = pool;
  }

  /** Bytes staged. After release() it still counts them, so a finished writer's size stays right. */
  get length(): number {
    return this.#length;
  }

  /** Bytes the buffer can hold; 0 before the first reserve() and after release(). */
  get capacity(): number {
    return this.#buffer?.length ?? 0;
  }

  /**
   * Makes room for `capacity` bytes in all, keeping what is staged: the growth is reserved from
   * the budget first. False, and nothing changed, when the budget has not enough to spare.
   */
  reserve(capacity: number): boolean {
    if (capacity <= this.capacity) return true;
    if (!this.#memory.tryReserve(capacity - this.#reserved)) return false;
    this.#reserved = capacity;
    const grown = (capacity === this.#pool?.size ? this.#pool.take() : undefined) ?? Buffer.allocUnsafe(capacity);
    this.#buffer?.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
    return true;
  }

  /** Copies bytes in after those staged (the caller may reuse its buffer afterwards); reserve() first. */
  append(bytes: Uint8Array): void {
    if (this.#length + bytes.byteLength > this.capacity) {
      throw new RangeError(`staging buffer: no room for ${bytes.byteLength} more bytes (reserve first)`);
    }
    this.#buffer?.set(bytes, this.#length);
    this.#length += bytes.byteLength;
  }

  /** The staged bytes, without copying them. */
  bytes(): Buffer {
    return this.#buffer === undefined ? Buffer.alloc(0) : this.#buffer.subarray(0, this.#length);
  }

  /** Forgets the staged bytes (they were handed on, or dropped); the buffer stays for more. */
  clear(): void {
    this.#length = 0;
  }

  /** Gives the buffer back to the pool and its memory to the budget. */
  release(): void {
    if (this.#buffer !== undefined) this.#pool?.give(this.#buffer);
    this.#memory.release(this.#reserved);
    this.#buffer = undefined;
    this.#reserved = 0;
  }
}
