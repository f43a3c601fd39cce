// Migration 6: what storage that cleans itself needs (garbage collection, retention, quotas,
// immutability, read-only mode).
// - manifests.pushed_at: the last time the manifest was pushed (created_at is the first), for
//   GC's grace period and retention; manifests.last_pulled_at and tags.last_pulled_at: the last
//   recorded pull (written at a bounded rate), for retention by last pull.
// - repository_blobs.created_at is from now on refreshed when a link is made again (re-upload,
//   mount), so the grace period protects a layer a push is re-using (no schema change).
// - uploads.digest: set when an upload starts moving its verified bytes to their content
//   address, so GC leaves those bytes alone until the blob is in the index.
// - gc_runs: the history of garbage-collection runs (admin API, `berth gc`).
// - lifecycle_rules: retention, immutability and quota rules created through the admin API
//   (rules from the config file are not stored), one JSON definition per rule.
// Byte-order text on PostgreSQL, as in migrations 3 to 5 (also for the new timestamp columns of
// the tables migration 3 converted whole, which a test checks).
import { sql, type Kysely } from 'kysely';
import { keyColumnType } from './key-column.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  const key = keyColumnType(db);

  await db.schema.alterTable('manifests').addColumn('pushed_at', key).execute();
  await db.schema.alterTable('manifests').addColumn('last_pulled_at', key).execute();
  await sql`update manifests set pushed_at = created_at`.execute(db);
  await db.schema.alterTable('tags').addColumn('last_pulled_at', key).execute();
  await db.schema.alterTable('uploads').addColumn('digest', key).execute();
  await db.schema.createIndex('uploads_digest').on('uploads').column('digest').execute();

  await db.schema
    .createTable('gc_runs')
    .addColumn('id', key, (c) => c.primaryKey())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    /** 'schedule' | 'api' | 'cli' */
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('dry_run', 'integer', (c) => c.notNull())
    /** The run's options (grace, delete-untagged) as JSON. */
    .addColumn('options', 'text', (c) => c.notNull())
    /** 'running' | 'finished' | 'failed' */
    .addColumn('status', 'text', (c) => c.notNull())
    /** Counts and bytes as JSON, once finished. */
    .addColumn('stats', 'text')
    .addColumn('error', 'text')
    .execute();
  await db.schema.createIndex('gc_runs_started').on('gc_runs').column('started_at').execute();

  await db.schema
    .createTable('lifecycle_rules')
    .addColumn('id', key, (c) => c.primaryKey())
    /** 'retention' | 'immutability' | 'quota' */
    .addColumn('kind', 'text', (c) => c.notNull())
    /** A repository glob (retention, immutability) or a namespace (quota). */
    .addColumn('target', key, (c) => c.notNull())
    /** The rule itself as JSON (its shape depends on kind). */
    .addColumn('definition', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .execute();
  await db.schema.createIndex('lifecycle_rules_kind').on('lifecycle_rules').columns(['kind', 'target']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('lifecycle_rules').execute();
  await db.schema.dropTable('gc_runs').execute();
  await db.schema.dropIndex('uploads_digest').execute();
  await db.schema.alterTable('uploads').dropColumn('digest').execute();
  await db.schema.alterTable('tags').dropColumn('last_pulled_at').execute();
  await db.schema.alterTable('manifests').dropColumn('last_pulled_at').execute();
  await db.schema.alterTable('manifests').dropColumn('pushed_at').execute();
}
