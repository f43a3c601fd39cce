// What the pull-through cache holds per upstream (metadata/upstream-cache-usage.ts, behind GET
// /api/v1/upstreams), on a SQLite file and on a throwaway PostgreSQL: repositories and items
// counted per upstream, each digest's bytes once per upstream however many repositories cache
// it, items whose blob row is gone counted without bytes, and the latest pull.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Kysely } from 'kysely';
import { Digest } from '../../src/oci/digest.js';
import { MetadataStore } from '../../src/metadata/metadata-store.js';
import { openPostgres } from '../../src/metadata/postgres.js';
import type { Database } from '../../src/metadata/schema.js';
import { openSqlite } from '../../src/metadata/sqlite.js';
import { upstreamCacheUsage } from '../../src/metadata/upstream-cache-usage.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

const digestOf = (seed: string): string => Digest.of(Buffer.from(seed)).toString();
const at = (seconds: number): Date => new Date(Date.UTC(2030, 0, 1, 0, 0, seconds));

async function checkUsage(db: Kysely<Database>): Promise<void> {
  const store = new MetadataStore(db);
  await store.migrate();
  assert.deepEqual(await upstreamCacheUsage(db), []);
  const shared = digestOf('shared layer');
  const own = digestOf('own layer');
  const gone = digestOf('blob row gone');
  // hub caches the shared layer in two repositories and its own layer in one; quay the shared layer once.
  for (const [repository, digest, size] of [
    ['hub/a', shared, 1000],
    ['hub/b', shared, 1000],
    ['hub/b', own, 300],
    ['quay/c', shared, 1000],
  ] as const) {
    await store.addBlobToRepository(repository, digest, size);
  }
  await store.cachedContent.recordItem('hub/a', shared, 'hub', at(1));
  await store.cachedContent.recordItem('hub/b', shared, 'hub', at(2));
  await store.cachedContent.recordItem('hub/b', own, 'hub', at(3));
  await store.cachedContent.recordItem('hub/b', gone, 'hub', at(4));
  await store.cachedContent.recordItem('quay/c', shared, 'quay', at(5));
  assert.deepEqual(await upstreamCacheUsage(db), [
    { upstream: 'hub', repositories: 2, items: 4, bytes: 1300, lastPulledAt: at(4).toISOString() },
    { upstream: 'quay', repositories: 1, items: 1, bytes: 1000, lastPulledAt: at(5).toISOString() },
  ]);
  await store.close();
}

describe('upstream cache usage', () => {
  it('on SQLite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-upstream-usage-'));
    try {
      await checkUsage(openSqlite(join(dir, 'metadata.db')));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('on PostgreSQL', () => {
    let server: TestPostgres | undefined;
    before(async () => {
      server = await startPostgres();
    });
    after(async () => {
      await server?.stop();
    });
    it('counts the same', async () => {
      assert.ok(server);
      const url = await server.createDatabase();
      try {
        await checkUsage(openPostgres(url, { max: 2 }));
      } finally {
        await server.dropDatabase(url);
      }
    });
  });
});
