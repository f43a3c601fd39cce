// One process-wide budget of bytes held in memory on behalf of requests: request bodies kept
// whole (manifests, forms, chunks checked before they are stored) and the storage writers'
// staging buffers. Holders reserve before they buffer and release as soon as the bytes are
// written or dropped; a refused reservation means "not now", and each holder decides what that
// means (the filesystem writer writes through unbuffered, a request answers 429). It lives in
// storage because the writers need it and storage imports nothing above it; the HTTP layer uses
// it through the same two methods, and the server wires one instance into both.

export class MemoryBudget {
  #used = 0;

  /** `limit`: the most bytes reserved at once; Infinity for no bound (tools, tests). */
  constructor(readonly limit: number) {
    if (!(limit > 0)) throw new RangeError(`a memory budget needs a positive limit, got ${limit}`);
  }

  /** Bytes reserved now. */
  get used(): number {
    return this.#used;
  }

  /** Reserves `bytes` if they fit; false (and nothing reserved) if they do not. */
  tryReserve(bytes: number): boolean {
    if (bytes <= 0) return true;
    if (this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  /** Gives back bytes reserved earlier. */
  release(bytes: number): void {
    if (bytes <= 0) return;
    this.#used -= bytes;
    // A holder that released more than it reserved is a bug; never let it grant more than the limit.
    if (this.#used < 0) this.#used = 0;
  }
}

/** A budget that never refuses, for drivers used outside a server (CLI tools, tests). */
export const UNBOUNDED_MEMORY = new MemoryBudget(Infinity);
