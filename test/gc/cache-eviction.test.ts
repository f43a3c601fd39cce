// Pull-through cache eviction by `berth gc`, end to end on the embedded default: one Berth is
// the upstream, another caches it (proxy.upstreams with maxage, or maxsize); images are pulled
// through the cache, their last pulls are moved into the past in the cache's SQLite file, and
// `berth gc` runs as a separate process beside the serving cache. Checked in the cache's files
// and index: what was evicted is gone (and comes back on the next pull, from the upstream), what
// was pulled recently or is held by a locally pushed tag stays, and the size cap takes the least
// recently pulled first.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Kysely } from 'kysely';
import { openSqlite, type Database } from '../../src/metadata/index.js';
import { childEnv, startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { manifestDigest, newImage, pullAndVerify, pushImage, putManifest, randomBlob, storedBlobFiles, type Blob } from './support.js';

const run = promisify(execFile);
const projectRoot = resolve(import.meta.dirname, '..', '..');
const DAY = 86_400_000;

interface GcJson {
  dryRun: boolean;
  stats: { cacheEvicted: number; manifestsDeleted: number; linksRemoved: number; blobsDeleted: number; bytesFreed: number; kept: number };
  deleted: { evicted: string[]; blobs: { digest: string; size: number }[] };
}

type Image = ReturnType<typeof newImage>;

async function gc(registry: TestRegistry, ...flags: string[]): Promise<GcJson> {
  const config = join(registry.dataDir, 'berth-test-config.yml');
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', join(projectRoot, 'src/cli/main.ts'), 'gc', '--config', config, '--json', '--grace', '0s', ...flags],
    { cwd: projectRoot, env: childEnv() },
  );
  return JSON.parse(stdout) as GcJson;
}

function digestsOf(image: Image): string[] {
  return [image.manifest, image.config, ...image.layers].map((blob: Blob) => blob.digest);
}

/** Whether the store holds the digest's bytes (blobs/sha256/ab/abcd.../data). */
function stored(files: readonly string[], digest: string): boolean {
  const hex = digest.slice('sha256:'.length);
  return files.some((file) => file.endsWith(join(hex.slice(0, 2), hex, 'data')));
}

/** Moves an item's last pull, and the cache's write of it, `days` into the past. */
async function age(db: Kysely<Database>, repository: string, image: Image, days: number): Promise<void> {
  const at = new Date(Date.now() - days * DAY).toISOString();
  for (const digest of digestsOf(image)) {
    await db
      .updateTable('cached_items')
      .set({ last_pulled_at: at })
      .where('repository', '=', repository)
      .where('digest', '=', digest)
      .execute();
  }
  await db
    .updateTable('manifests')
    .set({ pushed_at: at, created_at: at })
    .where('repository', '=', repository)
    .where('digest', '=', image.manifest.digest)
    .execute();
}

/** The store's blob files once every digest is among them, or after about ten seconds. */
async function untilStored(registry: TestRegistry, digests: readonly string[]): Promise<string[]> {
  for (let attempt = 0; ; attempt++) {
    const files = await storedBlobFiles(registry.dataDir);
    if (attempt === 100 || digests.every((digest) => stored(files, digest))) return files;
    await new Promise((done) => setTimeout(done, 100));
  }
}

/**
 * Waits (about ten seconds at most) until the repository links every digest: a blob streams to
 * the client while the cache writes it, and is committed and linked just after.
 */
async function untilLinked(db: Kysely<Database>, repository: string, digests: readonly string[]): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const rows = await db.selectFrom('repository_blobs').select('digest').where('repository', '=', repository).execute();
    const linked = new Set(rows.map((r) => r.digest));
    if (digests.every((digest) => linked.has(digest))) return;
    await new Promise((done) => setTimeout(done, 100));
  }
}

async function cachedItems(db: Kysely<Database>, repository: string): Promise<string[]> {
  const rows = await db.selectFrom('cached_items').select('digest').where('repository', '=', repository).execute();
  return rows.map((r) => r.digest).sort();
}

describe('pull-through cache eviction by garbage collection', { skip: testTarget === 'reference' ? 'Berth-only' : false }, () => {
  let upstream: TestRegistry;
  const caches: TestRegistry[] = [];
  const databases: Kysely<Database>[] = [];
  const images = new Map<string, Image>();

  async function startCache(eviction: string): Promise<{ cache: TestRegistry; db: Kysely<Database> }> {
    const cache = await startRegistry({
      extraConfig: [
        'proxy:',
        '  upstreams:',
        `    - {name: hub, url: ${JSON.stringify(upstream.url)}, namespace: "", tagttl: 1h, allowprivateaddresses: true, ${eviction}}`,
      ].join('\n'),
    });
    caches.push(cache);
    // A second connection to the cache's database (WAL), to move pulls into the past.
    const db = openSqlite(join(cache.dataDir, 'berth.db'));
    databases.push(db);
    return { cache, db };
  }

  before(async () => {
    upstream = await startRegistry();
    for (const name of ['old', 'recent', 'pinned', 'first', 'second', 'third']) {
      const image = newImage([randomBlob(40_000), randomBlob(60_000)]);
      images.set(name, image);
      assert.equal(await pushImage(upstream, `library/${name}`, '1', image), 201);
    }
  });

  after(async () => {
    for (const db of databases) await db.destroy();
    for (const cache of caches) await cache.stop();
    await upstream?.stop();
  });

  const image = (name: string): Image => {
    const found = images.get(name);
    assert.ok(found, name);
    return found;
  };

  it('evicts what was not pulled for maxage, keeps recent pulls and locally pushed tags, and pulls evicted images again', async () => {
    const { cache, db } = await startCache('maxage: 720h');
    for (const name of ['old', 'recent', 'pinned']) await pullAndVerify(cache, `library/${name}`, '1');
    for (const name of ['old', 'recent', 'pinned']) await untilLinked(db, `library/${name}`, digestsOf(image(name)));
    // A tag pushed into the cache over cached content: hosted, it keeps the manifest.
    assert.equal(await putManifest(cache, 'library/pinned', 'mine', image('pinned').manifest), 201);
    await age(db, 'library/old', image('old'), 40);
    await age(db, 'library/pinned', image('pinned'), 40);
    await age(db, 'library/recent', image('recent'), 2);

    const before = await storedBlobFiles(cache.dataDir);
    const plan = await gc(cache, '--dry-run');
    assert.equal(plan.dryRun, true);
    assert.deepEqual(plan.deleted.evicted, [`hub:library/old@${image('old').manifest.digest}`]);
    assert.equal(plan.stats.cacheEvicted, 1);
    assert.deepEqual(plan.deleted.blobs.map((b) => b.digest).sort(), digestsOf(image('old')).sort(), 'the dry run predicts the bytes');
    assert.deepEqual(await storedBlobFiles(cache.dataDir), before, 'a dry run deletes nothing');

    const report = await gc(cache);
    assert.equal(report.stats.cacheEvicted, 1);
    assert.deepEqual(report.deleted.evicted, plan.deleted.evicted);
    assert.deepEqual(report.deleted.blobs.map((b) => b.digest).sort(), digestsOf(image('old')).sort());
    const files = await storedBlobFiles(cache.dataDir);
    for (const digest of digestsOf(image('old'))) assert.ok(!stored(files, digest), `evicted ${digest} is gone from storage`);
    for (const name of ['recent', 'pinned']) {
      for (const digest of digestsOf(image(name))) assert.ok(stored(files, digest), `${name}: ${digest} stays`);
    }
    assert.deepEqual(await cachedItems(db, 'library/old'), [], 'no cache record is left');
    const tags = await db.selectFrom('tags').select('name').where('repository', '=', 'library/old').execute();
    assert.deepEqual(tags, []);
    const cachedTags = await db.selectFrom('cached_tags').select('tag').where('repository', '=', 'library/old').execute();
    assert.deepEqual(cachedTags, []);
    assert.equal(await manifestDigest(cache, 'library/pinned', 'mine'), image('pinned').manifest.digest);

    // Pulled again: fetched from the upstream anew, byte for byte.
    await pullAndVerify(cache, 'library/old', '1');
    // A blob streams to the client while it is written to the cache, which commits it just after.
    const refetched = await untilStored(cache, digestsOf(image('old')));
    for (const digest of digestsOf(image('old'))) assert.ok(stored(refetched, digest), `${digest} is cached again`);
    assert.deepEqual(await cachedItems(db, 'library/old'), digestsOf(image('old')).sort());
    // Now recent: a second run leaves it.
    assert.equal((await gc(cache)).stats.cacheEvicted, 0);
  });

  it('evicts the least recently pulled first while the cache is over maxsize', async () => {
    // Each image is about 100 kB; the cap holds two of three.
    const { cache, db } = await startCache('maxsize: 250000');
    for (const name of ['first', 'second', 'third']) await pullAndVerify(cache, `library/${name}`, '1');
    for (const name of ['first', 'second', 'third']) await untilLinked(db, `library/${name}`, digestsOf(image(name)));
    await age(db, 'library/first', image('first'), 3);
    await age(db, 'library/second', image('second'), 2);
    await age(db, 'library/third', image('third'), 1);

    const report = await gc(cache);
    assert.deepEqual(report.deleted.evicted, [`hub:library/first@${image('first').manifest.digest}`]);
    const files = await storedBlobFiles(cache.dataDir);
    for (const digest of digestsOf(image('first'))) assert.ok(!stored(files, digest), `${digest} is gone`);
    for (const name of ['second', 'third']) {
      for (const digest of digestsOf(image(name))) assert.ok(stored(files, digest), `${name}: ${digest} stays`);
    }
    // Under the cap now: nothing more goes.
    assert.equal((await gc(cache)).stats.cacheEvicted, 0);
    await pullAndVerify(cache, 'library/first', '1');
  });
});
