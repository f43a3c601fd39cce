// The audit log: who did what, from where, with what outcome. The HTTP layer hands it each
// finished request worth keeping (src/http/request-audit.ts: writes, denials, sign-ins, admin
// changes, sampled pulls) and Berth's own events (berth-events.ts); it queues them and writes
// them in batches (write-batch.ts: at most a second late, so a request never waits for the audit
// write; a crash loses that last second), and deletes entries past the retention period.
// Nothing secret is ever handed to it: names, addresses, paths without queries, status codes.
import type { AuditEntry, AuditLogQueries } from '../metadata/index.js';
import type { AuditedRequest } from '../registry/interfaces.js';
import { uuidv7 } from './ids.js';
import { WriteBatch } from './write-batch.js';

export interface AuditLogOptions {
  /** The share of pulls recorded, 0 to 1. */
  readonly pullSampling: number;
  readonly retentionMs: number;
  readonly warn: (error: unknown, message: string) => void;
  /** Most entries held before they are dropped (the database is down): the log never grows without bound. */
  readonly maxQueued?: number;
}

/** An entry as the log is handed it: the id and time are its own. */
export type NewAuditEntry = Omit<AuditEntry, 'id' | 'at'> & { at?: Date };

export class AuditLog {
  private readonly batch: WriteBatch<AuditEntry>;
  private lastPrune = 0;
  /** Entries recorded since start, by action and outcome (berth_audit_entries_total; actions are a fixed set). */
  readonly counts = new Map<string, { action: string; outcome: string; count: number }>();

  constructor(
    private readonly store: AuditLogQueries,
    private readonly options: AuditLogOptions,
  ) {
    this.batch = new WriteBatch(
      async (entries) => {
        await store.append(entries);
        await this.prune();
      },
      {
        delayMs: 1000,
        maxBatch: 500,
        maxQueued: options.maxQueued ?? 10_000,
        failed: (error, count) => options.warn(error, `could not write ${count} audit entries`),
      },
    );
  }

  /** Entries dropped because the queue was full. */
  get dropped(): number {
    return this.batch.dropped;
  }

  samplePull(): boolean {
    const share = this.options.pullSampling;
    return share >= 1 || (share > 0 && Math.random() < share);
  }

  record(request: AuditedRequest): void {
    this.append({
      action: request.action,
      actor: request.actor,
      address: request.address,
      repository: request.repository,
      outcome: request.outcome,
      status: request.status,
      requestId: request.requestId,
      detail: {
        method: request.method,
        path: request.path,
        ...(request.userAgent === undefined ? {} : { userAgent: request.userAgent }),
        ...request.detail,
      },
    });
  }

  /** Records something that was not a request as such (a garbage-collection run, a refusal's detail). */
  append(entry: NewAuditEntry): void {
    const at = entry.at ?? new Date();
    const { at: _at, ...rest } = entry;
    this.count(entry.action, entry.outcome);
    this.batch.add({ ...rest, id: uuidv7(at.getTime()), at: at.toISOString() });
  }

  /** Writes what is queued now (close(), the admin API and tests, before they read). */
  flush(): Promise<void> {
    return this.batch.flush();
  }

  close(): Promise<void> {
    return this.batch.flush();
  }

  private count(action: string, outcome: string): void {
    const key = `${action} ${outcome}`;
    const held = this.counts.get(key);
    if (held !== undefined) held.count++;
    else this.counts.set(key, { action, outcome, count: 1 });
  }

  private async prune(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPrune < 3_600_000) return;
    this.lastPrune = now;
    await this.store.prune(new Date(now - this.options.retentionMs));
  }
}
