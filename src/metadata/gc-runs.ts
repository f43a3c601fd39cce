// The history of garbage-collection runs (gc_runs): one row per run, written when it starts and
// again when it ends, so the admin API and `berth gc` can show what ran, what it freed and how
// long it took, on any replica.
import type { Kysely, Selectable } from 'kysely';
import type { Database, GcRunsTable } from './schema.js';

export interface GcRunRecord {
  readonly id: string;
  readonly startedAt: string;
  readonly finishedAt: string | undefined;
  /** What started it: 'schedule', 'api' or 'cli'. */
  readonly trigger: string;
  readonly dryRun: boolean;
  readonly options: Readonly<Record<string, unknown>>;
  readonly status: 'running' | 'finished' | 'failed';
  readonly stats: Readonly<Record<string, unknown>> | undefined;
  readonly error: string | undefined;
}

export interface GcRunIndex {
  startGcRun(run: { id: string; trigger: string; dryRun: boolean; options: Record<string, unknown>; startedAt: Date }): Promise<void>;
  finishGcRun(
    id: string,
    outcome: { status: 'finished' | 'failed'; stats?: Record<string, unknown>; error?: string; finishedAt: Date },
  ): Promise<void>;
  /** Marks runs still shown as running, other than `except`, as failed (their process died: the lease had expired). */
  failAbandonedGcRuns(except: string, at: Date): Promise<void>;
  /** The newest runs first, `limit` at most, before the run `before` (an id) when given. */
  listGcRuns(limit: number, before?: string): Promise<GcRunRecord[]>;
  findGcRun(id: string): Promise<GcRunRecord | undefined>;
}

export class GcRunQueries implements GcRunIndex {
  constructor(private readonly db: Kysely<Database>) {}

  async startGcRun(run: {
    id: string;
    trigger: string;
    dryRun: boolean;
    options: Record<string, unknown>;
    startedAt: Date;
  }): Promise<void> {
    await this.db
      .insertInto('gc_runs')
      .values({
        id: run.id,
        started_at: run.startedAt.toISOString(),
        finished_at: null,
        trigger: run.trigger,
        dry_run: run.dryRun ? 1 : 0,
        options: JSON.stringify(run.options),
        status: 'running',
        stats: null,
        error: null,
      })
      .execute();
  }

  async finishGcRun(
    id: string,
    outcome: { status: 'finished' | 'failed'; stats?: Record<string, unknown>; error?: string; finishedAt: Date },
  ): Promise<void> {
    await this.db
      .updateTable('gc_runs')
      .set({
        status: outcome.status,
        finished_at: outcome.finishedAt.toISOString(),
        stats: outcome.stats === undefined ? null : JSON.stringify(outcome.stats),
        error: outcome.error ?? null,
      })
      .where('id', '=', id)
      .execute();
  }

  async failAbandonedGcRuns(except: string, at: Date): Promise<void> {
    await this.db
      .updateTable('gc_runs')
      .set({ status: 'failed', finished_at: at.toISOString(), error: 'interrupted: the process running it stopped' })
      .where('status', '=', 'running')
      .where('id', '!=', except)
      .execute();
  }

  async listGcRuns(limit: number, before?: string): Promise<GcRunRecord[]> {
    let query = this.db.selectFrom('gc_runs').selectAll().orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit);
    if (before !== undefined) {
      const anchor = await this.db.selectFrom('gc_runs').select(['started_at', 'id']).where('id', '=', before).executeTakeFirst();
      if (!anchor) return [];
      query = query.where((eb) =>
        eb.or([eb('started_at', '<', anchor.started_at), eb.and([eb('started_at', '=', anchor.started_at), eb('id', '<', anchor.id)])]),
      );
    }
    return (await query.execute()).map(toRunRecord);
  }

  async findGcRun(id: string): Promise<GcRunRecord | undefined> {
    const row = await this.db.selectFrom('gc_runs').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toRunRecord(row);
  }
}

function toRunRecord(row: Selectable<GcRunsTable>): GcRunRecord {
  return {
    id: row.id,
    startedAt: row.started_at,
    finishedAt: row.finished_at ?? undefined,
    trigger: row.trigger,
    dryRun: Number(row.dry_run) === 1,
    options: JSON.parse(row.options) as Record<string, unknown>,
    status: row.status,
    stats: row.stats === null ? undefined : (JSON.parse(row.stats) as Record<string, unknown>),
    error: row.error ?? undefined,
  };
}
