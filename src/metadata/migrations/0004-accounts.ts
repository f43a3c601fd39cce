// Migration 4: accounts kept in the database — users, teams and their members, repository
// namespaces with their visibility and role grants, API tokens, and shared settings. Portable
// DDL (text, integer, composite primary keys); on PostgreSQL the key columns compare in byte
// order (COLLATE "C"), as migration 3 makes the older tables do, so names sort the same on both.
import type { Kysely } from 'kysely';
import { keyColumnType } from './key-column.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  const key = keyColumnType(db);

  await db.schema
    .createTable('users')
    .addColumn('name', key, (c) => c.primaryKey())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('admin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('teams')
    .addColumn('name', key, (c) => c.primaryKey())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('team_members')
    .addColumn('team', key, (c) => c.notNull())
    .addColumn('user_name', key, (c) => c.notNull())
    .addPrimaryKeyConstraint('team_members_pk', ['team', 'user_name'])
    .execute();
  // teamsOf(user) runs on every authenticated request.
  await db.schema.createIndex('team_members_user').on('team_members').column('user_name').execute();

  await db.schema
    .createTable('namespaces')
    .addColumn('name', key, (c) => c.primaryKey())
    .addColumn('visibility', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('namespace_grants')
    .addColumn('namespace', key, (c) => c.notNull())
    .addColumn('subject_kind', key, (c) => c.notNull())
    .addColumn('subject', key, (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('namespace_grants_pk', ['namespace', 'subject_kind', 'subject'])
    .execute();
  // Removing a user or team removes its grants in every namespace.
  await db.schema.createIndex('namespace_grants_subject').on('namespace_grants').columns(['subject_kind', 'subject']).execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', key, (c) => c.primaryKey())
    .addColumn('owner', key, (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text')
    .addColumn('created_at', key, (c) => c.notNull())
    .addColumn('last_used_at', 'text')
    .execute();
  await db.schema.createIndex('api_tokens_owner').on('api_tokens').column('owner').execute();

  await db.schema
    .createTable('settings')
    .addColumn('key', key, (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['settings', 'api_tokens', 'namespace_grants', 'namespaces', 'team_members', 'teams', 'users']) {
    await db.schema.dropTable(table).execute();
  }
}
