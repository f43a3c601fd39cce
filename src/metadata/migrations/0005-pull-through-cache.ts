// Migration 5: what the pull-through cache records for later eviction. cached_tags says which
// tags came from an upstream (and at which manifest, so a tag pushed over a cached one is seen as
// hosted), and when the upstream was last asked; cached_items says which manifests and blobs of a
// repository were fetched from an upstream and when they were last pulled, which garbage
// collection will use to evict by age. Byte-order keys on PostgreSQL, as in migrations 3 and 4.
import type { Kysely } from 'kysely';
import { keyColumnType } from './key-column.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  const key = keyColumnType(db);

  await db.schema
    .createTable('cached_tags')
    .addColumn('repository', key, (c) => c.notNull())
    .addColumn('tag', key, (c) => c.notNull())
    .addColumn('upstream', key, (c) => c.notNull())
    .addColumn('manifest_digest', key, (c) => c.notNull())
    .addColumn('checked_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('cached_tags_pk', ['repository', 'tag'])
    .execute();

  await db.schema
    .createTable('cached_items')
    .addColumn('repository', key, (c) => c.notNull())
    .addColumn('digest', key, (c) => c.notNull())
    .addColumn('upstream', key, (c) => c.notNull())
    .addColumn('last_pulled_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('cached_items_pk', ['repository', 'digest'])
    .execute();
  // Eviction walks items from the least recently pulled.
  await db.schema.createIndex('cached_items_last_pulled').on('cached_items').column('last_pulled_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('cached_items').execute();
  await db.schema.dropTable('cached_tags').execute();
}
