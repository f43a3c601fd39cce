// The web UI's listing queries (metadata/repository-summaries.ts) on both databases, a SQLite file
// and a throwaway PostgreSQL cluster: names below a namespace (a key range), the namespace tree
// (a skip scan that jumps over each namespace's names), the order by last push with its cursor
// (ties by name, repositories without tags last), and a repository's tags by name or newest push
// first, each order paged by its cursor without losing or repeating a tag.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Kysely } from 'kysely';
import { type ListingOrder, RepositorySummaries } from '../../src/metadata/repository-summaries.js';
import type { Database } from '../../src/metadata/schema.js';
import { runOnBothDatabaseKinds, type TestDatabase } from '../helpers/metadata-databases.js';

const at = (minute: number): string => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();

/** Repositories with the minute of each tag's push; one has no tags. */
const FIXTURE: Record<string, Record<string, number>> = {
  alpine: { latest: 5 },
  'team/app': { v1: 1, v2: 9, latest: 9 },
  'team/api/server': { v1: 3 },
  'team/api/worker': { v1: 7 },
  'team-b/tool': { v1: 7 },
  'team/empty': {},
  'zeta/x': { v1: 2 },
};

async function seed(db: Kysely<Database>): Promise<void> {
  for (const [repository, tags] of Object.entries(FIXTURE)) {
    await db
      .insertInto('repositories')
      .values({ name: repository, created_at: at(0) })
      .execute();
    const digest = `sha256:${Buffer.from(repository).toString('hex').padEnd(64, '0').slice(0, 64)}`;
    await db
      .insertInto('manifests')
      .values({
        repository,
        digest,
        media_type: 'application/vnd.oci.image.manifest.v1+json',
        size: 100,
        artifact_type: null,
        subject_digest: null,
        annotations: null,
        created_at: at(0),
        pushed_at: at(0),
        last_pulled_at: null,
      })
      .execute();
    for (const [tag, minute] of Object.entries(tags)) {
      await db
        .insertInto('tags')
        .values({ repository, name: tag, manifest_digest: digest, updated_at: at(minute), last_pulled_at: null })
        .execute();
    }
  }
}

/** Every page of a repository's tags in one order, following the cursor two at a time. */
async function allTags(summaries: RepositorySummaries, repository: string, order: ListingOrder): Promise<string[]> {
  const names: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await summaries.tags(repository, { after, limit: 2, order });
    names.push(...page.map((tag) => tag.name));
    if (page.length < 2) return names;
    after = page.at(-1)?.name;
  }
}

function suite(name: string, open: () => Promise<TestDatabase>): void {
  describe(`repository summaries (${name})`, () => {
    let db: Kysely<Database>;
    let cleanup: () => Promise<void>;
    let summaries: RepositorySummaries;
    before(async () => {
      ({ db, cleanup } = await open());
      await seed(db);
      summaries = new RepositorySummaries(db);
    });
    after(async () => {
      await cleanup?.();
    });

    it('lists the names below a namespace, and the namespaces one level down', async () => {
      assert.deepEqual(await summaries.names({ limit: 10, namespace: 'team' }), [
        'team/api/server',
        'team/api/worker',
        'team/app',
        'team/empty',
      ]);
      assert.deepEqual(await summaries.names({ limit: 10, namespace: 'team/api' }), ['team/api/server', 'team/api/worker']);
      assert.deepEqual(await summaries.names({ limit: 1, namespace: 'team', after: 'team/app' }), ['team/empty']);
      // "alpine" sits at the top level, so it is no namespace; "team-b" sorts between "team" and "team/".
      assert.deepEqual(await summaries.namespaces(undefined, 10), ['team', 'team-b', 'zeta']);
      assert.deepEqual(await summaries.namespaces('team', 10), ['team/api']);
      assert.deepEqual(await summaries.namespaces('team/api', 10), []);
      assert.deepEqual(await summaries.namespaces(undefined, 2), ['team', 'team-b']);
    });

    it('orders repositories by last push, newest first, with a cursor that neither skips nor repeats', async () => {
      const expected = ['team/app', 'team-b/tool', 'team/api/worker', 'alpine', 'team/api/server', 'zeta/x', 'team/empty'];
      const all = await summaries.byLastPush({ limit: 100 });
      assert.deepEqual(
        all.map((repository) => repository.name),
        expected,
      );
      assert.deepEqual(all[0], { name: 'team/app', tags: 3, lastPush: at(9) });
      assert.deepEqual(all.at(-1), { name: 'team/empty', tags: 0, lastPush: null });
      const paged: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await summaries.byLastPush({ after, limit: 2 });
        paged.push(...page.map((repository) => repository.name));
        if (page.length < 2) break;
        after = page.at(-1)?.name;
      }
      assert.deepEqual(paged, expected);
      assert.deepEqual(
        (await summaries.byLastPush({ limit: 10, namespace: 'team' })).map((repository) => repository.name),
        ['team/app', 'team/api/worker', 'team/api/server', 'team/empty'],
      );
      assert.deepEqual(
        (await summaries.byLastPush({ limit: 10, contains: 'api' })).map((repository) => repository.name),
        ['team/api/worker', 'team/api/server'],
      );
    });

    it("pages a repository's tags by name and by newest push", async () => {
      assert.deepEqual(await allTags(summaries, 'team/app', 'name'), ['latest', 'v1', 'v2']);
      // latest and v2 were pushed at the same minute: by name between them.
      assert.deepEqual(await allTags(summaries, 'team/app', 'last-push'), ['latest', 'v2', 'v1']);
      assert.deepEqual(await allTags(summaries, 'team/empty', 'last-push'), []);
    });
  });
}

runOnBothDatabaseKinds(suite);
