// Migration 11: each repository's tag count and last tag push, kept on its row (issue 20, goal 5).
// The web UI lists repositories with both (repository-summaries.ts); computed from `tags` they
// cost a pass over every tag of the index for a page by last push (over a second with 1,000,000
// tags) and a count over all of a repository's tags for a page by name (100,000 tags: 30-300 ms).
// Kept here, a page by name reads its repositories' rows, and a page by last push walks the new
// index `repositories_last_push` from its cursor, whatever the index holds.
// - repositories.tag_count, repositories.last_push (max(tags.updated_at); null without tags),
//   filled from `tags` once, then kept by triggers on `tags`, so that every writer of tags
//   (pushes, deletes, retention, the pull-through cache, `berth migrate`) keeps them without
//   knowing: +1 and the newer time on an insert, -1 on a delete, and the newest remaining time
//   (one seek of the new index `tags_repository_updated`) only when the newest tag went away or
//   moved back. A repository row inserted afterwards counts the tags already there (0 on a push;
//   `berth migrate` copies repositories before their tags, with the source's counts).
// - On PostgreSQL the repository row is written at commit (a deferred constraint trigger,
//   postgresTriggers): a push locks its tags in sorted order, and a trigger locking the
//   repository row between two of them would let two pushes sharing a tag deadlock. At commit
//   the repository row is the last lock a transaction takes.
import { PostgresIntrospector, sql, type Kysely } from 'kysely';
import { keyColumnType } from './key-column.js';

function isPostgres(db: Kysely<unknown>): boolean {
  return db.introspection instanceof PostgresIntrospector;
}

/** The newest remaining push of a repository: one seek of tags_repository_updated. */
const newestOf = (repository: string): string => `(select max(updated_at) from tags where repository = ${repository})`;

/** What each change of a tag does to its repository's row (old./new. as the trigger names them). */
const onInsert = `update repositories set tag_count = tag_count + 1,
    last_push = case when last_push is null or last_push < new.updated_at then new.updated_at else last_push end
  where name = new.repository;`;
const onDelete = `update repositories set tag_count = tag_count - 1,
    last_push = case when last_push = old.updated_at then ${newestOf('old.repository')} else last_push end
  where name = old.repository;`;
const onUpdate = `update repositories set
    last_push = case when last_push is null or last_push < new.updated_at then new.updated_at
                     when last_push = old.updated_at then ${newestOf('new.repository')}
                     else last_push end
  where name = new.repository;`;
const onRepositoryInsert = `update repositories set tag_count = (select count(*) from tags where repository = new.name),
    last_push = ${newestOf('new.name')}
  where name = new.name;`;

/**
 * PostgreSQL: each change of a tag adds to a count kept for the transaction (a transaction-local
 * setting named after the repository, no lock taken), and at commit the first deferred firing
 * for a repository applies it once, under the repository row's lock, with the last push read
 * again in that new statement (so it sees every push committed meanwhile; FOR NO KEY UPDATE, as
 * the update itself takes, so as not to wait for the key-share locks that pushes' manifest rows
 * hold on it through their foreign key, which would deadlock two pushes); the later firings
 * find nothing to apply. One update per repository and transaction: a row updated once per tag
 * would keep every version until the commit, and `berth migrate` copies 100,000 tags of one
 * repository in one transaction.
 */
const pendingKey = (repository: string): string => `'berth.tag_delta_' || md5(${repository})`;
const postgresTriggers = [
  `create function berth_tags_summary_note() returns trigger language plpgsql as $$
declare
  repo_name text := case when tg_op = 'DELETE' then old.repository else new.repository end;
  delta bigint := coalesce(nullif(current_setting(${pendingKey('repo_name')}, true), '')::bigint, 0);
begin
  if tg_op = 'INSERT' then delta := delta + 1; elsif tg_op = 'DELETE' then delta := delta - 1; end if;
  perform set_config(${pendingKey('repo_name')}, delta::text, true);
  return null;
end $$`,
  `create trigger tags_summary_note after insert or delete or update of updated_at on tags
  for each row execute function berth_tags_summary_note()`,
  `create function berth_tags_summary_apply() returns trigger language plpgsql as $$
declare
  repo_name text := case when tg_op = 'DELETE' then old.repository else new.repository end;
  pending text := current_setting(${pendingKey('repo_name')}, true);
begin
  if pending is null or pending = '' then return null; end if;
  perform set_config(${pendingKey('repo_name')}, '', true);
  perform 1 from repositories where name = repo_name for no key update;
  update repositories set tag_count = tag_count + pending::bigint, last_push = ${newestOf('repo_name')}
    where name = repo_name;
  return null;
end $$`,
  `create constraint trigger tags_summary_apply after insert or delete or update of updated_at on tags
  deferrable initially deferred for each row execute function berth_tags_summary_apply()`,
  // A repository row written after tags of the same transaction counts them itself.
  `create function berth_repository_summary() returns trigger language plpgsql as $$
begin
  ${onRepositoryInsert}
  perform set_config(${pendingKey('new.name')}, '', true);
  return null;
end $$`,
  'create trigger repositories_summary after insert on repositories for each row execute function berth_repository_summary()',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('repositories')
    .addColumn('tag_count', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('repositories').addColumn('last_push', keyColumnType(db)).execute();
  await db.schema.createIndex('tags_repository_updated').on('tags').columns(['repository', 'updated_at']).execute();
  await sql`update repositories set
      tag_count = (select count(*) from tags where tags.repository = repositories.name),
      last_push = (select max(updated_at) from tags where tags.repository = repositories.name)`.execute(db);
  await db.schema.createIndex('repositories_last_push').on('repositories').columns(['last_push desc', 'name']).execute();
  if (isPostgres(db)) {
    for (const statement of postgresTriggers) await sql.raw(statement).execute(db);
    return;
  }
  await sql.raw(`create trigger tags_summary_insert after insert on tags begin ${onInsert} end`).execute(db);
  await sql.raw(`create trigger tags_summary_delete after delete on tags begin ${onDelete} end`).execute(db);
  await sql.raw(`create trigger tags_summary_update after update of updated_at on tags begin ${onUpdate} end`).execute(db);
  await sql.raw(`create trigger repositories_summary after insert on repositories begin ${onRepositoryInsert} end`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (isPostgres(db)) {
    for (const statement of [
      'drop trigger repositories_summary on repositories',
      'drop function berth_repository_summary()',
      'drop trigger tags_summary_apply on tags',
      'drop function berth_tags_summary_apply()',
      'drop trigger tags_summary_note on tags',
      'drop function berth_tags_summary_note()',
    ])
      await sql.raw(statement).execute(db);
  } else {
    for (const trigger of ['repositories_summary', 'tags_summary_update', 'tags_summary_delete', 'tags_summary_insert']) {
      await sql.raw(`drop trigger ${trigger}`).execute(db);
    }
  }
  await db.schema.dropIndex('repositories_last_push').execute();
  await db.schema.dropIndex('tags_repository_updated').execute();
  await db.schema.alterTable('repositories').dropColumn('last_push').execute();
  await db.schema.alterTable('repositories').dropColumn('tag_count').execute();
}
