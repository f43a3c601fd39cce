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
// - On PostgreSQL the trigger on `tags` is a constraint trigger deferred to commit: a push
//   locks its tags in sorted order, and an immediate trigger would lock the repository row
//   between two of them, so two pushes sharing a tag could deadlock. At commit the repository
//   row is the last lock a transaction takes. `tag_count + 1` and the newer-time comparison read
//   the row as it is once locked, so concurrent pushes neither lose a count nor move the time back.
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
    await sql
      .raw(`create function berth_tags_summary() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' then ${onInsert}
  elsif tg_op = 'DELETE' then ${onDelete}
  else ${onUpdate}
  end if;
  return null;
end $$`)
      .execute(db);
    await sql
      .raw(`create constraint trigger tags_summary after insert or delete or update of updated_at on tags
  deferrable initially deferred for each row execute function berth_tags_summary()`)
      .execute(db);
    await sql
      .raw(`create function berth_repository_summary() returns trigger language plpgsql as $$
begin
  ${onRepositoryInsert}
  return null;
end $$`)
      .execute(db);
    await sql
      .raw('create trigger repositories_summary after insert on repositories for each row execute function berth_repository_summary()')
      .execute(db);
    return;
  }
  await sql.raw(`create trigger tags_summary_insert after insert on tags begin ${onInsert} end`).execute(db);
  await sql.raw(`create trigger tags_summary_delete after delete on tags begin ${onDelete} end`).execute(db);
  await sql.raw(`create trigger tags_summary_update after update of updated_at on tags begin ${onUpdate} end`).execute(db);
  await sql.raw(`create trigger repositories_summary after insert on repositories begin ${onRepositoryInsert} end`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (isPostgres(db)) {
    await sql.raw('drop trigger repositories_summary on repositories').execute(db);
    await sql.raw('drop function berth_repository_summary()').execute(db);
    await sql.raw('drop trigger tags_summary on tags').execute(db);
    await sql.raw('drop function berth_tags_summary()').execute(db);
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
