// Writes that need not be durable at once, batched: the audit log's entries and pull events
// (a pull changes nothing, so it has no transaction to join). Items are queued in memory and
// written together, one multi-row insert, at most `delayMs` after the first of a batch was
// queued, or at once when `maxBatch` are waiting; a request never waits for the write. The cost
// is that a crash loses what was queued (at most `delayMs` of items), and that a database that
// is down makes items pile up: past `maxQueued` they are dropped and counted, so memory stays
// bounded.

export interface WriteBatchOptions {
  /** Longest wait between queueing an item and writing it. */
  readonly delayMs: number;
  /** Items that start a write at once. */
  readonly maxBatch: number;
  /** Most items held; more are dropped (and counted in `dropped`). */
  readonly maxQueued: number;
  /** A write failed; its items are lost. */
  readonly failed: (error: unknown, count: number) => void;
}

export class WriteBatch<T> {
  private queue: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  /** Items dropped because the queue was full. */
  dropped = 0;

  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly options: WriteBatchOptions,
  ) {}

  add(item: T): void {
    if (this.queue.length >= this.options.maxQueued) {
      this.dropped++;
      return;
    }
    this.queue.push(item);
    if (this.queue.length >= this.options.maxBatch && this.writing === undefined) {
      void this.flush();
    } else {
      this.schedule();
    }
  }

  /** Writes everything queued now (close(), tests, a reader that wants the latest). */
  async flush(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.length === 0) return;
    const items = this.queue;
    this.queue = [];
    this.writing = this.write(items)
      .catch((error: unknown) => this.options.failed(error, items.length))
      .finally(() => {
        this.writing = undefined;
      });
    await this.writing;
    // Items queued while writing wait for their own timer, or go now when a batch is full.
    if (this.queue.length >= this.options.maxBatch) await this.flush();
    else if (this.queue.length > 0) this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.options.delayMs);
    this.timer.unref();
  }
}
