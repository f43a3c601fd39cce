// The rate limits' shared counts (migration 7's rate_limit_counts): each replica counts requests
// in memory and, every sync interval, adds what it counted to one row per key and window and
// reads back the total, which then includes every replica's requests. One statement per batch,
// never one per request. Rows of ended windows are deleted as the sync goes.
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Requests one replica counted for a key in one window since its last sync. */
export interface WindowCountDelta {
  readonly key: string;
  /** The window's start (ms since the epoch; windows are aligned to the epoch, so all replicas agree). */
  readonly windowStart: number;
  readonly windowMs: number;
  readonly added: number;
}

/** Where replicas add up their counts; the http layer never sees it, only auth's rate limiter. */
export interface SharedWindowCounts {
  /** Adds each delta to its shared count and returns the totals after adding, in the same order. */
  add(deltas: readonly WindowCountDelta[]): Promise<number[]>;
  /** Deletes the counts of windows that ended before `now`; returns how many. */
  deleteEnded(now: number): Promise<number>;
}

/** Rows per statement: PostgreSQL takes at most 65,535 parameters (4 a row). */
const BATCH_ROWS = 1000;

export class RateLimitCounters implements SharedWindowCounts {
  constructor(private readonly db: Kysely<Database>) {}

  async add(deltas: readonly WindowCountDelta[]): Promise<number[]> {
    const totals: number[] = [];
    for (let start = 0; start < deltas.length; start += BATCH_ROWS) {
      const batch = deltas.slice(start, start + BATCH_ROWS);
      const rows = await this.db
        .insertInto('rate_limit_counts')
        .values(batch.map((d) => ({ key: d.key, window_start: d.windowStart, window_end: d.windowStart + d.windowMs, count: d.added })))
        .onConflict((oc) => oc.columns(['key', 'window_start']).doUpdateSet({ count: sql`rate_limit_counts.count + excluded.count` }))
        .returning(['key', 'window_start', 'count'])
        .execute();
      // RETURNING gives no order guarantee for a multi-row upsert: match rows to deltas by key.
      const byKey = new Map(rows.map((row) => [`${row.key}\n${Number(row.window_start)}`, Number(row.count)]));
      for (const d of batch) totals.push(byKey.get(`${d.key}\n${d.windowStart}`) ?? d.added);
    }
    return totals;
  }

  async deleteEnded(now: number): Promise<number> {
    const result = await this.db.deleteFrom('rate_limit_counts').where('window_end', '<', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
