// The audit log: who did what, from where, with what outcome. The HTTP layer hands it each
// finished request worth keeping (src/http/request-audit.ts: writes, denials, sign-ins, admin
// changes, sampled pulls); it queues them and writes them in batches (at most a second late, so
// a request never waits for the audit write), and deletes entries past the retention period.
// Nothing secret is ever handed to it: names, addresses, paths without queries, status codes.
import type { AuditEntry, AuditLogQueries } from '../metadata/index.js';
import { uuidv7 } from './ids.js';

/** A finished request as the HTTP layer describes it (structurally http's AuditedRequest). */
export interface AuditedRequestLike {
  readonly action: string;
  readonly method: string;
  readonly path: string;
  readonly repository: string | undefined;
  readonly status: number;
  readonly outcome: 'success' | 'denied' | 'failed';
  readonly actor: string | undefined;
  readonly address: string;
  readonly userAgent: string | undefined;
  readonly requestId: string;
}

export interface AuditLogOptions {
  /** The share of pulls recorded, 0 to 1. */
  readonly pullSampling: number;
  readonly retentionMs: number;
  readonly warn: (error: unknown, message: string) => void;
  /** Most entries held before they are dropped (the database is down): the log never grows without bound. */
  readonly maxQueued?: number;
}

export class AuditLog {
  private queue: AuditEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private lastPrune = 0;
  /** Entries dropped because the queue was full. */
  dropped = 0;

  constructor(
    private readonly store: AuditLogQueries,
    private readonly options: AuditLogOptions,
  ) {}

  samplePull(): boolean {
    const share = this.options.pullSampling;
    return share >= 1 || (share > 0 && Math.random() < share);
  }

  record(request: AuditedRequestLike): void {
    this.append({
      action: request.action,
      actor: request.actor,
      address: request.address,
      repository: request.repository,
      outcome: request.outcome,
      status: request.status,
      requestId: request.requestId,
      detail: { method: request.method, path: request.path, ...(request.userAgent === undefined ? {} : { userAgent: request.userAgent }) },
    });
  }

  /** Records something that was not a request (a garbage-collection run, a change made by the CLI). */
  append(entry: Omit<AuditEntry, 'id' | 'at'> & { at?: Date }): void {
    if (this.queue.length >= (this.options.maxQueued ?? 10_000)) {
      this.dropped++;
      return;
    }
    const at = entry.at ?? new Date();
    const { at: _at, ...rest } = entry;
    this.queue.push({ ...rest, id: uuidv7(at.getTime()), at: at.toISOString() });
    if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, 1000);
      this.timer.unref();
    }
  }

  /** Writes what is queued now (close(), tests). */
  async flush(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.flushing = this.store
      .append(batch)
      .then(() => this.prune())
      .catch((error: unknown) => this.options.warn(error, `could not write ${batch.length} audit entries`))
      .finally(() => {
        this.flushing = undefined;
      });
    await this.flushing;
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private async prune(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPrune < 3_600_000) return;
    this.lastPrune = now;
    await this.store.prune(new Date(now - this.options.retentionMs));
  }
}
