// Migration 3: on PostgreSQL, compare and sort the index's text in byte order (COLLATE "C"), as
// SQLite does. Listings (catalog, tags, referrers) are ordered and paged with "after" by these
// columns, and clients expect byte order; PostgreSQL would otherwise use the database's
// linguistic collation (en_US puts 'a__b' before 'a--b'). Every column here holds names,
// digests, ids or ISO timestamps, never prose. Setting the collation on the columns, not in the
// queries, keeps the queries portable and lets the primary-key indexes serve ORDER BY and the
// "after" range. On SQLite, whose text already compares by bytes (BINARY), this does nothing.
import { PostgresIntrospector, sql, type Kysely } from 'kysely';

const columns: Readonly<Record<string, readonly string[]>> = {
  repositories: ['name', 'created_at'],
  blobs: ['digest', 'created_at'],
  repository_blobs: ['repository', 'digest', 'created_at'],
  manifests: ['repository', 'digest', 'subject_digest', 'created_at'],
  manifest_references: ['repository', 'manifest_digest', 'referenced_digest'],
  tags: ['repository', 'name', 'manifest_digest', 'updated_at'],
  uploads: ['id', 'repository', 'created_at', 'updated_at'],
};

function isPostgres(db: Kysely<unknown>): boolean {
  return db.introspection instanceof PostgresIntrospector;
}

async function setCollation(db: Kysely<unknown>, collation: 'C' | 'default'): Promise<void> {
  if (!isPostgres(db)) return;
  for (const [table, names] of Object.entries(columns)) {
    // One ALTER TABLE per table, so each table's indexes are rebuilt once.
    const alterations = names.map((column) =>
      collation === 'C'
        ? sql`alter column ${sql.id(column)} type text collate "C"`
        : sql`alter column ${sql.id(column)} type text collate pg_catalog."default"`,
    );
    await sql`alter table ${sql.table(table)} ${sql.join(alterations)}`.execute(db);
  }
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await setCollation(db, 'C');
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await setCollation(db, 'default');
}
