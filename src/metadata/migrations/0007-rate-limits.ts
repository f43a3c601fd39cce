// Migration 7: rate_limit_counts, the request counts that replicas share when rate limits are on
// (src/metadata/rate-limit-counters.ts): one row per key (the kind of request and who made it)
// and window, its count, and when the window ends (rows of ended windows are deleted). Counts
// are not copied by `berth migrate`: they last one window and start again from zero.
import type { Kysely } from 'kysely';
import { keyColumnType } from './key-column.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('rate_limit_counts')
    .addColumn('key', keyColumnType(db), (c) => c.notNull())
    /** Milliseconds since the epoch; windows are aligned to the epoch. */
    .addColumn('window_start', 'bigint', (c) => c.notNull())
    .addColumn('window_end', 'bigint', (c) => c.notNull())
    .addColumn('count', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('rate_limit_counts_pk', ['key', 'window_start'])
    .execute();
  await db.schema.createIndex('rate_limit_counts_end').on('rate_limit_counts').column('window_end').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('rate_limit_counts').execute();
}
