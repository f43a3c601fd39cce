// Migration 1: the core index of repositories, blobs, manifests, tags and uploads.
// Portable DDL only (text, bigint, composite primary keys) so PostgreSQL runs it unchanged.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('repositories')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('blobs')
    .addColumn('digest', 'text', (c) => c.primaryKey())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('repository_blobs')
    .addColumn('repository', 'text', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull().references('blobs.digest'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('repository_blobs_pk', ['repository', 'digest'])
    .execute();
  await db.schema.createIndex('repository_blobs_digest').on('repository_blobs').column('digest').execute();

  await db.schema
    .createTable('manifests')
    .addColumn('repository', 'text', (c) => c.notNull().references('repositories.name'))
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('media_type', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('artifact_type', 'text')
    .addColumn('subject_digest', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('manifests_pk', ['repository', 'digest'])
    .execute();
  await db.schema.createIndex('manifests_subject').on('manifests').columns(['repository', 'subject_digest']).execute();

  await db.schema
    .createTable('manifest_references')
    .addColumn('repository', 'text', (c) => c.notNull())
    .addColumn('manifest_digest', 'text', (c) => c.notNull())
    .addColumn('referenced_digest', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('manifest_references_pk', ['repository', 'manifest_digest', 'referenced_digest'])
    .execute();
  await db.schema
    .createIndex('manifest_references_referenced')
    .on('manifest_references')
    .columns(['repository', 'referenced_digest'])
    .execute();

  await db.schema
    .createTable('tags')
    .addColumn('repository', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('manifest_digest', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('tags_pk', ['repository', 'name'])
    .execute();
  await db.schema.createIndex('tags_manifest').on('tags').columns(['repository', 'manifest_digest']).execute();

  await db.schema
    .createTable('uploads')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('repository', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('uploads_updated').on('uploads').column('updated_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['uploads', 'tags', 'manifest_references', 'manifests', 'repository_blobs', 'blobs', 'repositories']) {
    await db.schema.dropTable(table).execute();
  }
}
