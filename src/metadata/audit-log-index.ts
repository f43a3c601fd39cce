// The audit log (migration 8's audit_log): one row per audited request or change, written in
// batches by src/events/audit-log.ts, read newest first with filters and a cursor (the id of the
// last row of the previous page: ids are UUIDv7, ordered by time), and pruned by age.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface AuditEntry {
  /** A UUIDv7. */
  readonly id: string;
  /** ISO-8601. */
  readonly at: string;
  readonly actor: string | undefined;
  readonly address: string | undefined;
  readonly action: string;
  readonly repository: string | undefined;
  readonly outcome: 'success' | 'denied' | 'failed';
  readonly status: number | undefined;
  readonly requestId: string | undefined;
  readonly detail: Readonly<Record<string, unknown>> | undefined;
}

export type AuditRecord = AuditEntry;

export interface AuditFilter {
  readonly actor?: string | undefined;
  readonly repository?: string | undefined;
  readonly action?: string | undefined;
  readonly outcome?: string | undefined;
  /** ISO-8601 bounds on `at`: since inclusive, until exclusive. */
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  /** Newest first: only entries with an id before this one. */
  readonly before?: string | undefined;
  /** Oldest first instead (the export): only entries with an id after this one. */
  readonly after?: string | undefined;
  readonly limit: number;
}

export class AuditLogQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async append(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.db
      .insertInto('audit_log')
      .values(
        entries.map((entry) => ({
          id: entry.id,
          at: entry.at,
          actor: entry.actor ?? null,
          address: entry.address ?? null,
          action: entry.action,
          repository: entry.repository ?? null,
          outcome: entry.outcome,
          status: entry.status ?? null,
          request_id: entry.requestId ?? null,
          detail: entry.detail === undefined ? null : JSON.stringify(entry.detail),
        })),
      )
      .execute();
  }

  /** Newest first, or oldest first when `after` is given (the export walks forwards). */
  async list(filter: AuditFilter): Promise<AuditRecord[]> {
    const forwards = filter.after !== undefined;
    const rows = await this.db
      .selectFrom('audit_log')
      .selectAll()
      .$if(filter.actor !== undefined, (q) => q.where('actor', '=', filter.actor ?? ''))
      .$if(filter.repository !== undefined, (q) => q.where('repository', '=', filter.repository ?? ''))
      .$if(filter.action !== undefined, (q) => q.where('action', '=', filter.action ?? ''))
      .$if(filter.outcome !== undefined, (q) => q.where('outcome', '=', (filter.outcome ?? 'success') as 'success'))
      .$if(filter.since !== undefined, (q) => q.where('at', '>=', filter.since ?? ''))
      .$if(filter.until !== undefined, (q) => q.where('at', '<', filter.until ?? ''))
      .$if(filter.before !== undefined, (q) => q.where('id', '<', filter.before ?? ''))
      .$if(forwards, (q) => q.where('id', '>', filter.after ?? ''))
      .orderBy('id', forwards ? 'asc' : 'desc')
      .limit(filter.limit)
      .execute();
    return rows.map((row) => ({
      id: row.id,
      at: row.at,
      actor: row.actor ?? undefined,
      address: row.address ?? undefined,
      action: row.action,
      repository: row.repository ?? undefined,
      outcome: row.outcome,
      status: row.status === null ? undefined : Number(row.status),
      requestId: row.request_id ?? undefined,
      detail: row.detail === null ? undefined : (JSON.parse(row.detail) as Record<string, unknown>),
    }));
  }

  /** Deletes entries older than the cutoff; returns how many went. */
  async prune(cutoff: Date): Promise<number> {
    const result = await this.db.deleteFrom('audit_log').where('at', '<', cutoff.toISOString()).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
