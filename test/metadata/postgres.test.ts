// The metadata suite against a real PostgreSQL (a throwaway cluster with a linguistic default
// collation), plus what is PostgreSQL's own: pool settings, the byte-order collation migration,
// and two replicas (two stores with their own pools on one database) racing on one tag and one
// blob and ending consistent.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { Digest } from '../../src/oci/digest.js';
import { MetadataStore, type NewManifest } from '../../src/metadata/index.js';
import { openPostgres } from '../../src/metadata/postgres.js';
import type { Database } from '../../src/metadata/schema.js';
import { runAccountsSuite } from '../../src/metadata/testing/accounts-suite.js';
import { runMetadataSuite, type MetadataStoreUnderTest } from '../../src/metadata/testing/metadata-suite.js';

let server: TestPostgres | undefined;
/** A database migrated once; each test gets a copy (much faster than migrating each). */
let template: string | undefined;

before(async () => {
  server = await startPostgres();
  template = await freshDatabase();
});

after(async () => {
  await server?.stop();
});

function running(): TestPostgres {
  assert.ok(server, 'the PostgreSQL server is running');
  return server;
}

/** A fresh migrated database; returns its URL. */
async function freshDatabase(): Promise<string> {
  const url = await running().createDatabase();
  const store = new MetadataStore(openPostgres(url));
  try {
    await store.migrate();
  } finally {
    await store.close();
  }
  return url;
}

/** A copy of the migrated template database; returns its URL. */
async function migratedDatabase(): Promise<string> {
  assert.ok(template, 'the template database exists');
  return running().createDatabase({ template });
}

async function freshStore(): Promise<MetadataStoreUnderTest> {
  const url = await migratedDatabase();
  const store = new MetadataStore(openPostgres(url, { max: 4 }));
  await store.migrate();
  return {
    store,
    async cleanup() {
      await store.close();
      await running().dropDatabase(url);
    },
  };
}

runMetadataSuite('postgresql', freshStore);
runAccountsSuite('postgresql', freshStore);

const digestOf = (seed: string): string => Digest.of(Buffer.from(seed)).toString();

function manifest(repository: string, seed: string, tags: readonly string[]): NewManifest {
  return {
    repository,
    digest: digestOf(`manifest:${seed}`),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    size: 100,
    artifactType: undefined,
    subjectDigest: undefined,
    references: [{ digest: digestOf(`layer:${seed}`), kind: 'blob' }],
    tags,
  };
}

describe('postgresql metadata database', () => {
  it('runs on a server whose default collation is not byte order (so the suite tests the fix)', async (t) => {
    if (running().collation === 'external') {
      t.skip('BERTH_TEST_POSTGRES_URL: the server is not ours');
      return;
    }
    const db = openPostgres(running().url);
    try {
      const { rows } = await sql<{ x: string }>`
        select x from unnest(array['a--b', 'a__b', 'a/b', 'a0']) as x order by x`.execute(db);
      assert.notDeepEqual(
        rows.map((r) => r.x),
        ['a--b', 'a/b', 'a0', 'a__b'],
        `collation ${running().collation}`,
      );
    } finally {
      await db.destroy();
    }
  });

  it('sets statement_timeout on every pooled connection and parses bigint as number', async () => {
    const db = openPostgres(running().url, { max: 3, statementTimeoutMs: 1234 });
    try {
      const settings = await Promise.all(
        Array.from({ length: 3 }, () =>
          db.connection().execute(async (c) => {
            // The sleep keeps each connection busy, so the three queries use three connections.
            const { rows } = await sql<{ timeout: string; big: number }>`
              select current_setting('statement_timeout') as timeout, ${2 ** 40}::int8 * 2 as big,
                pg_sleep(0.05)`.execute(c);
            return rows[0];
          }),
        ),
      );
      for (const row of settings) {
        assert.equal(row?.timeout, '1234ms');
        assert.equal(row?.big, 2 ** 41);
      }
      await assert.rejects(sql`select pg_sleep(5)`.execute(db), /statement timeout/);
      await assert.rejects(sql`select 9007199254740993::int8 as big`.execute(db), RangeError);
    } finally {
      await db.destroy();
    }
  });

  it('two replicas migrating a fresh database at the same time both succeed', async () => {
    const url = await running().createDatabase();
    const replicas = [new MetadataStore(openPostgres(url)), new MetadataStore(openPostgres(url))];
    try {
      await Promise.all(replicas.map((r) => r.migrate()));
      await Promise.all(replicas.map((r) => r.ping()));
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
      await running().dropDatabase(url);
    }
  });

  it('migrates to byte-order collation on every key column', async () => {
    const url = await freshDatabase();
    const db = openPostgres(url);
    try {
      const { rows } = await sql<{ table_name: string; column_name: string; collation_name: string | null }>`
        select table_name, column_name, collation_name from information_schema.columns
        where table_schema = 'public' and data_type = 'text'
          and table_name in (
            'repositories', 'blobs', 'repository_blobs', 'manifests', 'manifest_references', 'tags', 'uploads')
          and column_name not in ('media_type', 'artifact_type', 'annotations', 'kind')`.execute(db);
      assert.ok(rows.length >= 20);
      for (const row of rows) assert.equal(row.collation_name, 'C', `${row.table_name}.${row.column_name}`);
    } finally {
      await db.destroy();
      await running().dropDatabase(url);
    }
  });
});

describe('postgresql: two replicas racing', () => {
  /** Rows that would break an invariant: each query must return nothing. */
  async function inconsistencies(db: Kysely<Database>): Promise<Record<string, unknown[]>> {
    const danglingTags = await db
      .selectFrom('tags')
      .leftJoin('manifests', (j) =>
        j.onRef('manifests.repository', '=', 'tags.repository').onRef('manifests.digest', '=', 'tags.manifest_digest'),
      )
      .select(['tags.repository', 'tags.name', 'tags.manifest_digest'])
      .where('manifests.digest', 'is', null)
      .execute();
    const linksWithoutBlob = await db
      .selectFrom('repository_blobs')
      .leftJoin('blobs', 'blobs.digest', 'repository_blobs.digest')
      .select(['repository_blobs.repository', 'repository_blobs.digest'])
      .where('blobs.digest', 'is', null)
      .execute();
    const manifestsWithoutLink = await db
      .selectFrom('manifests')
      .leftJoin('repository_blobs', (j) =>
        j.onRef('repository_blobs.repository', '=', 'manifests.repository').onRef('repository_blobs.digest', '=', 'manifests.digest'),
      )
      .select(['manifests.repository', 'manifests.digest'])
      .where('repository_blobs.digest', 'is', null)
      .execute();
    const manifestsWithoutRepository = await db
      .selectFrom('manifests')
      .leftJoin('repositories', 'repositories.name', 'manifests.repository')
      .select(['manifests.repository', 'manifests.digest'])
      .where('repositories.name', 'is', null)
      .execute();
    const referencesWithoutManifest = await db
      .selectFrom('manifest_references')
      .leftJoin('manifests', (j) =>
        j
          .onRef('manifests.repository', '=', 'manifest_references.repository')
          .onRef('manifests.digest', '=', 'manifest_references.manifest_digest'),
      )
      .select(['manifest_references.repository', 'manifest_references.manifest_digest'])
      .where('manifests.digest', 'is', null)
      .execute();
    return {
      danglingTags,
      linksWithoutBlob,
      manifestsWithoutLink,
      manifestsWithoutRepository,
      referencesWithoutManifest,
    };
  }

  const none = {
    danglingTags: [],
    linksWithoutBlob: [],
    manifestsWithoutLink: [],
    manifestsWithoutRepository: [],
    referencesWithoutManifest: [],
  };

  const pick = (replicas: readonly [MetadataStore, MetadataStore], n: number): MetadataStore => (n % 2 === 0 ? replicas[0] : replicas[1]);

  async function withReplicas(
    body: (replicas: readonly [MetadataStore, MetadataStore], db: Kysely<Database>, url: string) => Promise<void>,
  ): Promise<void> {
    const url = await migratedDatabase();
    // Each replica has its own pool, as separate processes would.
    const replicas = [new MetadataStore(openPostgres(url, { max: 5 })), new MetadataStore(openPostgres(url, { max: 5 }))] as const;
    const db = openPostgres(url, { max: 1 });
    try {
      await body(replicas, db, url);
    } finally {
      await Promise.all([replicas[0].close(), replicas[1].close(), db.destroy()]);
      await running().dropDatabase(url);
    }
  }

  /** Sessions on this database waiting for a row lock. */
  async function lockWaiters(db: Kysely<Database>): Promise<number> {
    const { rows } = await sql<{ n: number }>`
      select count(*) as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'`.execute(db);
    return rows[0]?.n ?? 0;
  }

  /** Waits until `count` sessions wait for a lock, or one of the operations has settled. */
  async function untilWaiting(db: Kysely<Database>, count: number, ...operations: Promise<unknown>[]): Promise<void> {
    let settled = false;
    for (const op of operations)
      op.then(
        () => (settled = true),
        () => (settled = true),
      );
    for (let i = 0; i < 500 && !settled; i++) {
      if ((await lockWaiters(db)) >= count) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /**
   * Runs `lock` in a transaction on its own connection and keeps the transaction open until the
   * returned release() is called: a third party holding row locks, to force an interleaving.
   */
  async function holdLocks(url: string, lock: (trx: Kysely<Database>) => Promise<unknown>): Promise<() => Promise<void>> {
    const db = openPostgres(url, { max: 1 });
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked: () => void = () => {};
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const done = db.transaction().execute(async (trx) => {
      await lock(trx);
      locked();
      await released;
    });
    await Promise.race([isLocked, done]);
    return async () => {
      release();
      try {
        await done;
      } finally {
        await db.destroy();
      }
    };
  }

  it('a push that re-tags a manifest while another replica deletes it leaves no dangling tag', async () => {
    await withReplicas(async (replicas, db, url) => {
      const repository = 'race/retag';
      const target = manifest(repository, 'target', []);
      const other = manifest(repository, 'other', []);
      await replicas[0].putManifest(target);
      await replicas[0].putManifest(other);
      // A third session is creating the tag, so the re-tagging push stops at the tag...
      const release = await holdLocks(url, (trx) =>
        trx
          .insertInto('tags')
          .values({ repository, name: 'latest', manifest_digest: other.digest, updated_at: new Date().toISOString() })
          .execute(),
      );
      const push = replicas[0].putManifest({ ...target, tags: ['latest'] });
      await untilWaiting(db, 1, push);
      // ...while the other replica deletes the manifest the push is tagging.
      const deletion = replicas[1].deleteManifest(repository, target.digest);
      await untilWaiting(db, 2, deletion);
      await release();
      await Promise.all([push, deletion]);
      assert.deepEqual(await inconsistencies(db), none);
      assert.equal(await replicas[1].findManifest(repository, target.digest), undefined, 'the delete came last');
      assert.equal(await replicas[1].findManifestByTag(repository, 'latest'), undefined);
    });
  });

  it('a re-push of a manifest while another replica deletes it keeps the manifest linked', async () => {
    await withReplicas(async (replicas, db, url) => {
      const repository = 'race/repush';
      const target = manifest(repository, 'target', ['old']);
      await replicas[0].putManifest(target);
      // A third session holds the tag, so the delete stops after removing the manifest row...
      const release = await holdLocks(url, (trx) =>
        trx.updateTable('tags').set({ updated_at: new Date().toISOString() }).where('name', '=', 'old').execute(),
      );
      const deletion = replicas[1].deleteManifest(repository, target.digest);
      await untilWaiting(db, 1, deletion);
      // ...while the other replica pushes the same manifest again.
      const push = replicas[0].putManifest({ ...target, tags: ['new'] });
      await untilWaiting(db, 2, push);
      await release();
      await Promise.all([push, deletion]);
      assert.deepEqual(await inconsistencies(db), none);
      assert.deepEqual(await replicas[1].findRepositoryBlob(repository, target.digest), { size: target.size });
      assert.equal((await replicas[1].findManifestByTag(repository, 'new'))?.digest, target.digest);
    });
  });

  it('a delete of a child manifest while another replica pushes an index naming it is refused', async () => {
    await withReplicas(async (replicas, db, url) => {
      const repository = 'race/index';
      const child = manifest(repository, 'child', []);
      await replicas[0].putManifest(child);
      const index: NewManifest = {
        ...manifest(repository, 'index', ['latest']),
        mediaType: 'application/vnd.oci.image.index.v1+json',
        references: [{ digest: child.digest, kind: 'manifest' }],
        mustExist: { blobs: [], manifests: [child.digest] },
      };
      // A third session is creating the tag, so the index push stops after checking its child...
      const release = await holdLocks(url, (trx) =>
        trx
          .insertInto('tags')
          .values({ repository, name: 'latest', manifest_digest: child.digest, updated_at: new Date().toISOString() })
          .execute(),
      );
      const push = replicas[0].putManifest(index);
      await untilWaiting(db, 1, push);
      // ...while the other replica deletes that child: it must wait for the push and see its index.
      const deletion = replicas[1].deleteManifest(repository, child.digest);
      await untilWaiting(db, 2, deletion);
      await release();
      const [pushed, deleted] = await Promise.all([push, deletion]);
      assert.equal(pushed.missing, undefined);
      assert.deepEqual(deleted, { result: 'referenced', index: index.digest });
      assert.ok(await replicas[1].findManifest(repository, child.digest), 'the child is still there');
      assert.equal((await replicas[1].findManifestByTag(repository, 'latest'))?.digest, index.digest);
      assert.deepEqual(await inconsistencies(db), none);
    });
  });

  it('moves one tag between manifests from both replicas, with deletes, and ends consistent', async () => {
    await withReplicas(async (replicas, db) => {
      const repository = 'race/app';
      const seeds = Array.from({ length: 6 }, (_, i) => `m${i}`);
      // Every push names the shared tags, half of them in the opposite order; each manifest
      // also has a tag of its own, which a delete of that manifest must take with it.
      const shared = ['latest', 'stable', 'v1'];
      const operations: (() => Promise<unknown>)[] = [];
      for (let round = 0; round < 25; round++) {
        for (const [i, seed] of seeds.entries()) {
          const replica = pick(replicas, round + i);
          const tags = (round + i) % 3 === 0 ? [...shared].reverse() : shared;
          operations.push(() => replica.putManifest(manifest(repository, seed, [...tags, `own-${seed}`])));
          if ((round * seeds.length + i) % 5 === 0) {
            const deleter = pick(replicas, round + i + 1);
            operations.push(() => deleter.deleteManifest(repository, digestOf(`manifest:${seed}`)));
          }
          if ((round * seeds.length + i) % 7 === 0) {
            operations.push(() => replica.deleteTag(repository, 'stable'));
          }
        }
      }
      const results = await Promise.allSettled(operations.map((op) => op()));
      const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.deepEqual(
        failures.map((f) => String(f.reason)),
        [],
        'no operation failed',
      );

      assert.deepEqual(await inconsistencies(db), none);
      // A final push from each replica: both see the same tag, at a manifest that exists.
      await replicas[0].putManifest(manifest(repository, 'm0', shared));
      await replicas[1].putManifest(manifest(repository, 'm1', ['latest']));
      for (const replica of replicas) {
        const latest = await replica.findManifestByTag(repository, 'latest');
        assert.equal(latest?.digest, digestOf('manifest:m1'));
        assert.equal((await replica.findManifestByTag(repository, 'stable'))?.digest, digestOf('manifest:m0'));
        assert.deepEqual(await replica.findManifest(repository, digestOf('manifest:m1')), latest);
      }
      for (const tag of (await replicas[1].listTags(repository, {})).items) {
        const row = await replicas[0].findManifestByTag(repository, tag);
        assert.ok(row, `tag ${tag} points at a manifest that exists`);
      }
      assert.deepEqual(await inconsistencies(db), none);
    });
  });

  it('pushes, mounts and unlinks the same blob from both replicas and ends consistent', async () => {
    await withReplicas(async (replicas, db) => {
      const blob = digestOf('shared-blob');
      const repositories = ['race/a', 'race/b', 'race/c'];
      const operations: (() => Promise<unknown>)[] = [];
      for (let round = 0; round < 40; round++) {
        for (const [i, repository] of repositories.entries()) {
          const replica = pick(replicas, round + i);
          const other = pick(replicas, round + i + 1);
          switch ((round + i) % 4) {
            case 0:
              operations.push(() => replica.addBlobToRepository(repository, blob, 4096));
              break;
            case 1:
              operations.push(() => replica.linkExistingBlob(repository, blob));
              break;
            case 2:
              operations.push(() => replica.unlinkBlob(repository, blob));
              break;
            default:
              // A new repository: the blob's upload, a manifest referencing it and a mount of
              // it, from both replicas at once.
              operations.push(() => replica.addBlobToRepository(`${repository}/${round}`, blob, 4096));
              operations.push(() =>
                replica.putManifest({
                  ...manifest(`${repository}/${round}`, `img-${round}`, ['latest']),
                  references: [{ digest: blob, kind: 'blob' }],
                }),
              );
              operations.push(() => other.linkExistingBlob(`${repository}/${round}`, blob));
          }
        }
      }
      const results = await Promise.allSettled(operations.map((op) => op()));
      const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.deepEqual(
        failures.map((f) => String(f.reason)),
        [],
        'no operation failed',
      );
      assert.deepEqual(await inconsistencies(db), none);

      // Both replicas agree, and the blob can still be linked, found and unlinked everywhere.
      for (const repository of repositories) {
        const seen = await Promise.all(replicas.map((r) => r.findRepositoryBlob(repository, blob)));
        assert.deepEqual(seen[0], seen[1]);
        assert.equal(await replicas[1].linkExistingBlob(repository, blob), true);
        assert.deepEqual(await replicas[0].findRepositoryBlob(repository, blob), { size: 4096 });
        assert.equal(await replicas[0].unlinkBlob(repository, blob), 'unlinked');
        assert.equal(await replicas[1].findRepositoryBlob(repository, blob), undefined);
      }
      assert.equal(await replicas[0].unlinkBlob('race/a/3', blob), 'referenced');
      assert.deepEqual(await inconsistencies(db), none);
    });
  });

  it('a push and an unlink of a blob it needs, racing from two replicas: never both succeed', async () => {
    await withReplicas(async (replicas, db) => {
      let bothSucceeded = 0;
      const outcomes = { pushed: 0, unlinked: 0 };
      for (let round = 0; round < 40; round++) {
        const repository = `race/needs/${round}`;
        const blob = digestOf(`needed-${round}`);
        await replicas[0].addBlobToRepository(repository, blob, 10);
        const pusher = pick(replicas, round);
        const unlinker = pick(replicas, round + 1);
        const [push, unlink] = await Promise.all([
          pusher.putManifest({
            ...manifest(repository, `needs-${round}`, ['latest']),
            references: [{ digest: blob, kind: 'blob' }],
            mustExist: { blobs: [blob], manifests: [] },
          }),
          unlinker.unlinkBlob(repository, blob),
        ]);
        const pushed = push.missing === undefined;
        if (pushed) outcomes.pushed++;
        if (unlink === 'unlinked') outcomes.unlinked++;
        if (pushed && unlink === 'unlinked') bothSucceeded++;
      }
      assert.equal(bothSucceeded, 0, `outcomes: ${JSON.stringify(outcomes)}`);
      assert.deepEqual(await inconsistencies(db), none);
    });
  });

  it('runs a background job on one replica at a time', async () => {
    await withReplicas(async (replicas) => {
      let running = 0;
      let most = 0;
      const job = async (): Promise<string> => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 200));
        running--;
        return 'ran';
      };
      const results = await Promise.all(replicas.map((replica) => replica.runExclusive('test-job', job)));
      assert.equal(most, 1);
      assert.deepEqual([...results].sort(), ['ran', undefined].sort());
      // Released at commit: the next round runs again.
      assert.equal(await replicas[1].runExclusive('test-job', job), 'ran');
    });
  });
});
