// What the blob and manifest indexes share: the link that makes a blob readable through a
// repository, and which of a list of digests a repository holds (as linked blobs or as
// manifests), optionally locking the rows found (PostgreSQL) for a reference check.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.js';

/** The database, or a transaction on it. */
export type Executor = Kysely<Database> | Transaction<Database>;

/**
 * The first key of the PostgreSQL advisory locks that guard a blob's bytes against garbage
 * collection (the second is the digest's hashtext): 'bert' in ASCII, apart from the one-key
 * locks of background jobs (MetadataStore.runExclusive).
 */
export const BLOB_LOCK_SPACE = 0x62657274;

/**
 * Takes the digest's blob lock shared until the transaction ends (PostgreSQL only): every
 * transaction that records or links a blob does, so garbage collection, which takes it
 * exclusively to re-check and delete an unlinked blob, runs either wholly before it or wholly
 * after (gc-index.ts). SQLite transactions already take turns.
 */
export async function lockBlobShared(db: Executor, digest: string, rowLocks: boolean): Promise<void> {
  if (rowLocks) await sql`select pg_advisory_xact_lock_shared(${BLOB_LOCK_SPACE}, hashtext(${digest}))`.execute(db);
}

/** Timestamps are ISO-8601 text (sortable, and the same in SQLite and PostgreSQL). */
export const now = (): string => new Date().toISOString();

/**
 * Links a blob into a repository. Linking again refreshes the link's time: GC's grace period
 * counts from it, so a layer that a push uploads or mounts again is not unlinked before the
 * push's manifest arrives (and, on PostgreSQL, the update locks the row against GC's unlink).
 */
export async function linkBlob(db: Executor, repository: string, digest: string, createdAt: string): Promise<void> {
  await db
    .insertInto('repository_blobs')
    .values({ repository, digest, created_at: createdAt })
    .onConflict((oc) => oc.columns(['repository', 'digest']).doUpdateSet({ created_at: createdAt }))
    .execute();
}

export async function digestsIn(
  db: Executor,
  table: 'repository_blobs' | 'manifests',
  repository: string,
  digests: readonly string[],
  lock = false,
): Promise<Set<string>> {
  const found = new Set<string>();
  const unique = [...new Set(digests)];
  // Chunked so the number of bound parameters stays within every database's limit.
  for (let i = 0; i < unique.length; i += 500) {
    const rows = await db
      .selectFrom(table)
      .select('digest')
      .where('repository', '=', repository)
      .where('digest', 'in', unique.slice(i, i + 500))
      .$if(lock, (query) => query.forShare())
      .execute();
    for (const row of rows) found.add(row.digest);
  }
  return found;
}
