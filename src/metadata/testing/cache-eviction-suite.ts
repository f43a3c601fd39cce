// The cache-eviction part of the metadata suite: what GC's eviction phase reads of an upstream's
// cached content, and the removal that re-checks a chosen manifest under the push locks (a pull
// or a push since it was chosen, a tag pushed here, an index listing it, the grace period), so
// SQLite and PostgreSQL run it unchanged.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Digest } from '../../oci/digest.js';
import type { CachedManifestItem } from '../cache-eviction-index.js';
import type { MetadataStore } from '../metadata-store.js';
import type { MetadataStoreUnderTest } from './metadata-suite.js';

const digestOf = (seed: string): string => Digest.of(Buffer.from(seed)).toString();
const later = (ms: number): string => new Date(Date.now() + ms).toISOString();
const pause = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

const IMAGE = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';

/** A manifest as the pull-through cache stores it (pulled now), or as a client pushes it (no upstream). */
async function put(
  store: MetadataStore,
  repository: string,
  seed: string,
  options: { tags?: string[]; children?: string[]; upstream?: string | undefined } = {},
): Promise<string> {
  const digest = digestOf(`manifest:${seed}`);
  const upstream = 'upstream' in options ? options.upstream : 'hub';
  const { missing } = await store.putManifest({
    repository,
    digest,
    mediaType: options.children ? INDEX : IMAGE,
    size: 100,
    artifactType: undefined,
    subjectDigest: undefined,
    references: options.children
      ? options.children.map((child) => ({ digest: child, kind: 'manifest' as const }))
      : [{ digest: digestOf(`layer:${seed}`), kind: 'blob' }],
    tags: options.tags ?? [],
    ...(upstream === undefined ? {} : { cachedFrom: { upstream, tag: options.tags?.[0], at: new Date() } }),
  });
  assert.equal(missing, undefined);
  return digest;
}

async function chosen(store: MetadataStore, repository: string, digest: string): Promise<CachedManifestItem> {
  const item = (await store.gc.cache.cachedManifests('hub')).find((m) => m.repository === repository && m.digest === digest);
  assert.ok(item, `${repository}@${digest} is a cached manifest of hub`);
  return item;
}

export function runCacheEvictionSuite(name: string, open: () => Promise<MetadataStoreUnderTest>): void {
  function test(title: string, body: (store: MetadataStore) => Promise<void>): void {
    it(title, async () => {
      const { store, cleanup } = await open();
      try {
        await body(store);
      } finally {
        await cleanup();
      }
    });
  }

  describe(`metadata suite (cache eviction): ${name}`, () => {
    test('lists an upstream’s cached manifests by last pull and its items with their sizes', async (store) => {
      const first = await put(store, 'hub/a', 'a', { tags: ['1'] });
      const second = await put(store, 'hub/b', 'b', { tags: ['1'] });
      await put(store, 'quay/c', 'c', { tags: ['1'], upstream: 'quay' });
      await put(store, 'mine/d', 'd', { tags: ['1'], upstream: undefined });
      await store.cachedContent.touchItem('hub/a', first, new Date(Date.now() + 60_000));
      const listed = await store.gc.cache.cachedManifests('hub');
      assert.deepEqual(
        listed.map((m) => [m.repository, m.digest, m.hostedTag]),
        [
          ['hub/b', second, false],
          ['hub/a', first, false],
        ],
      );
      const sizes = await store.gc.cache.cachedItemSizes('hub');
      assert.deepEqual(
        sizes.map((s) => [s.repository, s.digest, s.size]).sort(),
        [
          ['hub/a', first, 100],
          ['hub/b', second, 100],
        ].sort(),
      );
    });

    test('evicts a cached manifest with its cached tags, record and link', async (store) => {
      // Fetched by two tags: each a cached tag.
      await put(store, 'hub/app', 'app', { tags: ['1'] });
      const digest = await put(store, 'hub/app', 'app', { tags: ['latest'] });
      const seen = await chosen(store, 'hub/app', digest);
      assert.equal(await store.gc.cache.evictCachedManifest('hub/app', digest, seen, later(-3_600_000)), false, 'within the grace period');
      assert.equal(await store.gc.cache.evictCachedManifest('hub/app', digest, seen, later(1000)), true);
      assert.equal(await store.findManifest('hub/app', digest), undefined);
      assert.deepEqual((await store.listTags('hub/app', {})).items, []);
      assert.equal(await store.cachedContent.findTag('hub/app', 'latest'), undefined);
      assert.equal(await store.cachedContent.findItem('hub/app', digest), undefined);
      assert.deepEqual(await store.gc.repositoryLinks('hub/app'), []);
      assert.equal(await store.gc.cache.evictCachedManifest('hub/app', digest, seen, later(1000)), false, 'already gone');
    });

    test('keeps a manifest pulled or pushed since it was chosen', async (store) => {
      const digest = await put(store, 'hub/app', 'app', { tags: ['1'] });
      const seen = await chosen(store, 'hub/app', digest);
      await store.cachedContent.touchItem('hub/app', digest, new Date(Date.parse(seen.lastPulledAt) + 1000));
      assert.equal(await store.gc.cache.evictCachedManifest('hub/app', digest, seen, later(1000)), false, 'pulled since');

      const again = await chosen(store, 'hub/app', digest);
      await pause(5);
      await put(store, 'hub/app', 'app', { upstream: undefined });
      assert.equal(await store.gc.cache.evictCachedManifest('hub/app', digest, again, later(1000)), false, 'pushed since');
      assert.ok(await store.findManifest('hub/app', digest));
    });

    test('never evicts a manifest a tag pushed here names', async (store) => {
      const digest = await put(store, 'hub/app', 'app', { tags: ['1'] });
      await put(store, 'hub/app', 'app', { tags: ['ours'], upstream: undefined });
      const seen = await chosen(store, 'hub/app', digest);
      assert.equal(seen.hostedTag, true);
      assert.equal(await store.gc.cache.evictCachedManifest('hub/app', digest, seen, later(1000)), false);
      assert.equal((await store.findManifestByTag('hub/app', 'ours'))?.digest, digest);
      assert.equal((await store.findManifestByTag('hub/app', '1'))?.digest, digest);
    });

    test('evicts an index before its children, never a child an index still lists', async (store) => {
      const child = await put(store, 'hub/multi', 'child');
      const index = await put(store, 'hub/multi', 'index', { tags: ['1'], children: [child] });
      const seenChild = await chosen(store, 'hub/multi', child);
      const seenIndex = await chosen(store, 'hub/multi', index);
      assert.equal(await store.gc.cache.evictCachedManifest('hub/multi', child, seenChild, later(1000)), false);
      assert.equal(await store.gc.cache.evictCachedManifest('hub/multi', index, seenIndex, later(1000)), true);
      assert.equal(await store.gc.cache.evictCachedManifest('hub/multi', child, seenChild, later(1000)), true);
      assert.deepEqual(await store.gc.manifestGraph('hub/multi'), []);
    });
  });
}
