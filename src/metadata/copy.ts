// Copies the metadata index from one database to another (SQLite to PostgreSQL for
// `berth migrate`, or any pair): every table except upload sessions and the rate limits' counts
// (which last one window), in foreign-key order, read in batches with keyset pagination on the
// primary key. The target must be migrated and empty; all inserts run in one target
// transaction, so a failed copy leaves the target empty and the copy can simply be run again.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.js';

/** The tables copied, in the order they are copied (each after the tables it references). */
export const COPIED_TABLES = [
  'repositories',
  'blobs',
  'repository_blobs',
  'manifests',
  'manifest_references',
  'tags',
  // Accounts and access: users, teams, namespaces, grants, API tokens, and settings such as
  // the token signing key (so tokens issued before the move stay valid after it).
  'users',
  'teams',
  'team_members',
  'namespaces',
  'namespace_grants',
  'api_tokens',
  'settings',
  // What the pull-through cache fetched and when, so eviction by age works after the move.
  'cached_tags',
  'cached_items',
  // Garbage-collection history and the retention, immutability and quota rules.
  'gc_runs',
  'lifecycle_rules',
  // Events not yet delivered (and their delivery history), webhook endpoints, the audit log.
  'events',
  'event_deliveries',
  'webhook_endpoints',
  'audit_log',
] as const;
export type CopiedTable = (typeof COPIED_TABLES)[number];

const primaryKeys: { readonly [T in CopiedTable]: readonly (keyof Database[T] & string)[] } = {
  repositories: ['name'],
  blobs: ['digest'],
  repository_blobs: ['repository', 'digest'],
  manifests: ['repository', 'digest'],
  manifest_references: ['repository', 'manifest_digest', 'referenced_digest'],
  tags: ['repository', 'name'],
  users: ['name'],
  teams: ['name'],
  team_members: ['team', 'user_name'],
  namespaces: ['name'],
  namespace_grants: ['namespace', 'subject_kind', 'subject'],
  api_tokens: ['id'],
  settings: ['key'],
  cached_tags: ['repository', 'tag'],
  cached_items: ['repository', 'digest'],
  gc_runs: ['id'],
  lifecycle_rules: ['id'],
  events: ['id'],
  event_deliveries: ['endpoint', 'event_id'],
  webhook_endpoints: ['id'],
  audit_log: ['id'],
};

export interface CopyProgress {
  readonly table: CopiedTable;
  /** Rows of this table copied so far. */
  readonly copied: number;
  /** Rows of this table in the source when its copy started. */
  readonly total: number;
}

export interface CopyOptions {
  readonly onProgress?: ((progress: CopyProgress) => void) | undefined;
  /** Rows read and inserted per statement; default 500. */
  readonly batchSize?: number | undefined;
}

export type RowCounts = Record<CopiedTable, number>;

export class TargetNotEmptyError extends Error {
  constructor(readonly table: CopiedTable) {
    super(`the target metadata database is not empty (table ${table} has rows); migrate only into an empty database`);
    this.name = 'TargetNotEmptyError';
  }
}

type Row = Record<string, unknown>;

async function countRows(db: Kysely<Database> | Transaction<Database>, table: CopiedTable): Promise<number> {
  const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(db);
  return Number(rows[0]?.n ?? 0);
}

/** One batch of rows after `after` (the previous batch's last primary key), in primary-key order. */
async function readBatch(
  source: Kysely<Database>,
  table: CopiedTable,
  after: readonly unknown[] | undefined,
  limit: number,
): Promise<Row[]> {
  const keys = primaryKeys[table];
  const order = sql.join(keys.map((key) => sql`${sql.ref(key)} asc`));
  // A row-value comparison, (a, b) > (x, y), which SQLite (3.15+) and PostgreSQL both run and
  // which the primary-key index serves.
  const where =
    after === undefined
      ? sql``
      : sql`where (${sql.join(keys.map((key) => sql.ref(key)))}) > (${sql.join(after.map((value) => sql.val(value)))})`;
  const { rows } = await sql<Row>`select * from ${sql.table(table)} ${where} order by ${order} limit ${limit}`.execute(source);
  return rows;
}

async function insertBatch(target: Transaction<Database>, table: CopiedTable, rows: readonly Row[]): Promise<void> {
  const first = rows[0];
  if (!first) return;
  const columns = Object.keys(first);
  const values = rows.map((row) => sql`(${sql.join(columns.map((column) => sql.val(row[column] ?? null)))})`);
  await sql`insert into ${sql.table(table)} (${sql.join(columns.map((column) => sql.id(column)))}) values ${sql.join(values)}`.execute(
    target,
  );
}

/**
 * Throws TargetNotEmptyError when any copied table of the target has rows, and a clear error
 * when the target has not been migrated. copyMetadata checks this itself; callers may check
 * first, before slower work.
 */
export async function assertEmptyTarget(target: Kysely<Database> | Transaction<Database>): Promise<void> {
  for (const table of COPIED_TABLES) {
    const rows = await countRows(target, table).catch((error: unknown) => {
      throw new Error(`cannot read table ${table} of the target metadata database (is it migrated?): ${String(error)}`, {
        cause: error,
      });
    });
    if (rows > 0) throw new TargetNotEmptyError(table);
  }
}

/**
 * Copies every table but `uploads` from source to target and returns the rows copied per
 * table. The target must already be migrated (MetadataStore.migrate()) to the same schema as
 * the source; throws TargetNotEmptyError, changing nothing, when any copied table has rows.
 */
export async function copyMetadata(
  source: Kysely<Database>,
  target: Kysely<Database>,
  options: CopyOptions | ((progress: CopyProgress) => void) = {},
): Promise<RowCounts> {
  const { onProgress, batchSize = 500 } = typeof options === 'function' ? { onProgress: options } : options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer, not ${batchSize}`);
  return target.transaction().execute(async (trx) => {
    await assertEmptyTarget(trx);
    const counts = Object.fromEntries(COPIED_TABLES.map((table) => [table, 0])) as RowCounts;
    for (const table of COPIED_TABLES) {
      const total = await countRows(source, table);
      onProgress?.({ table, copied: 0, total });
      let after: unknown[] | undefined;
      for (;;) {
        const rows = await readBatch(source, table, after, batchSize);
        await insertBatch(trx, table, rows);
        counts[table] += rows.length;
        if (rows.length > 0) onProgress?.({ table, copied: counts[table], total: Math.max(total, counts[table]) });
        const last = rows.at(-1);
        if (!last || rows.length < batchSize) break;
        after = primaryKeys[table].map((key) => last[key]);
      }
    }
    return counts;
  });
}
