// The pull-through cache part of the metadata suite: cached tags and items through the
// CachedContentIndex API (and putManifest's cachedFrom), so SQLite and PostgreSQL run it unchanged.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Digest } from '../../oci/digest.js';
import type { MetadataStore } from '../metadata-store.js';
import type { MetadataStoreUnderTest } from './metadata-suite.js';

const digestOf = (seed: string): string => Digest.of(Buffer.from(seed)).toString();
const at = (seconds: number): Date => new Date(Date.UTC(2030, 0, 1, 0, 0, seconds));

async function putCached(
  store: MetadataStore,
  repository: string,
  seed: string,
  tag: string | undefined,
  seconds: number,
  upstream = 'hub',
): Promise<string> {
  const digest = digestOf(`manifest:${seed}`);
  const { missing } = await store.putManifest({
    repository,
    digest,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    size: 100,
    artifactType: undefined,
    subjectDigest: undefined,
    // Fetched lazily later: the references need not exist.
    references: [{ digest: digestOf(`layer:${seed}`), kind: 'blob' }],
    tags: tag === undefined ? [] : [tag],
    cachedFrom: { upstream, tag, at: at(seconds) },
  });
  assert.equal(missing, undefined);
  return digest;
}

export function runCachedContentSuite(name: string, open: () => Promise<MetadataStoreUnderTest>): void {
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

  describe(`metadata suite (pull-through cache): ${name}`, () => {
    test('a cached manifest records its tag and item in the same push, and moving the tag updates it', async (store) => {
      assert.equal(await store.cachedContent.findTag('hub/app', 'latest'), undefined);
      const first = await putCached(store, 'hub/app', 'one', 'latest', 1);
      assert.deepEqual(await store.cachedContent.findTag('hub/app', 'latest'), {
        repository: 'hub/app',
        tag: 'latest',
        upstream: 'hub',
        manifestDigest: first,
        checkedAt: at(1),
      });
      assert.deepEqual(await store.cachedContent.findItem('hub/app', first), {
        repository: 'hub/app',
        digest: first,
        upstream: 'hub',
        lastPulledAt: at(1),
      });
      assert.equal((await store.findManifestByTag('hub/app', 'latest'))?.digest, first);

      const second = await putCached(store, 'hub/app', 'two', 'latest', 5, 'quay');
      const moved = await store.cachedContent.findTag('hub/app', 'latest');
      assert.equal(moved?.manifestDigest, second);
      assert.equal(moved?.upstream, 'quay');
      assert.deepEqual(moved?.checkedAt, at(5));
      assert.equal((await store.findManifestByTag('hub/app', 'latest'))?.digest, second);

      // By digest: an item, no tag.
      const child = await putCached(store, 'hub/app', 'child', undefined, 6);
      assert.ok(await store.cachedContent.findItem('hub/app', child));
      assert.deepEqual((await store.listTags('hub/app', {})).items, ['latest']);
    });

    test('a hosted push records nothing, and a tag pushed over a cached one keeps the old record', async (store) => {
      const cached = await putCached(store, 'mixed/app', 'cached', 'latest', 1);
      await store.putManifest({
        repository: 'mixed/app',
        digest: digestOf('manifest:hosted'),
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size: 10,
        artifactType: undefined,
        subjectDigest: undefined,
        references: [],
        tags: ['latest', 'own'],
      });
      assert.equal(await store.cachedContent.findTag('mixed/app', 'own'), undefined);
      assert.equal(await store.cachedContent.findItem('mixed/app', digestOf('manifest:hosted')), undefined);
      // The record still names the cached manifest: the tag now points elsewhere, so it is hosted.
      assert.equal((await store.cachedContent.findTag('mixed/app', 'latest'))?.manifestDigest, cached);
      assert.equal((await store.findManifestByTag('mixed/app', 'latest'))?.digest, digestOf('manifest:hosted'));
    });

    test('marks tags checked, and touches items only forward and only when cached', async (store) => {
      const digest = await putCached(store, 'hub/app', 'one', 'v1', 1);
      assert.equal(await store.cachedContent.markTagChecked('hub/app', 'v1', at(30)), true);
      assert.deepEqual((await store.cachedContent.findTag('hub/app', 'v1'))?.checkedAt, at(30));
      assert.equal(await store.cachedContent.markTagChecked('hub/app', 'nope', at(30)), false);

      assert.equal(await store.cachedContent.touchItem('hub/app', digest, at(20)), true);
      assert.deepEqual((await store.cachedContent.findItem('hub/app', digest))?.lastPulledAt, at(20));
      assert.equal(await store.cachedContent.touchItem('hub/app', digest, at(10)), false, 'never backwards');
      assert.deepEqual((await store.cachedContent.findItem('hub/app', digest))?.lastPulledAt, at(20));
      assert.equal(await store.cachedContent.touchItem('hosted/app', digest, at(40)), false, 'no row is created');
      assert.equal(await store.cachedContent.findItem('hosted/app', digest), undefined);

      const blob = digestOf('blob');
      await store.cachedContent.recordItem('hub/app', blob, 'hub', at(3));
      await store.cachedContent.recordItem('hub/app', blob, 'hub', at(4));
      assert.deepEqual((await store.cachedContent.findItem('hub/app', blob))?.lastPulledAt, at(4));
    });

    test('lists items by last pull for eviction, and deletes items and tags', async (store) => {
      await store.cachedContent.recordItem('b/app', digestOf('x'), 'hub', at(3));
      await store.cachedContent.recordItem('a/app', digestOf('y'), 'hub', at(1));
      await store.cachedContent.recordItem('a/app', digestOf('z'), 'quay', at(2));
      await store.cachedContent.recordItem('c/app', digestOf('w'), 'hub', at(50));
      const old = await store.cachedContent.listItemsPulledBefore(at(10), 10);
      assert.deepEqual(
        old.map((i) => [i.repository, i.lastPulledAt.toISOString()]),
        [
          ['a/app', at(1).toISOString()],
          ['a/app', at(2).toISOString()],
          ['b/app', at(3).toISOString()],
        ],
      );
      assert.equal((await store.cachedContent.listItemsPulledBefore(at(10), 2)).length, 2);
      assert.equal(await store.cachedContent.deleteItem('a/app', digestOf('y')), true);
      assert.equal(await store.cachedContent.deleteItem('a/app', digestOf('y')), false);
      assert.equal((await store.cachedContent.listItemsPulledBefore(at(10), 10)).length, 2);

      await putCached(store, 'hub/app', 'one', 'v1', 1);
      assert.equal(await store.cachedContent.deleteTag('hub/app', 'v1'), true);
      assert.equal(await store.cachedContent.findTag('hub/app', 'v1'), undefined);
      assert.equal(await store.cachedContent.deleteTag('hub/app', 'v1'), false);
    });

    test('finds stored blobs in any repository and references within one', async (store) => {
      const blob = digestOf('layer:one');
      assert.equal(await store.cachedContent.storedBlobSize(blob), undefined);
      await store.addBlobToRepository('other/app', blob, 4096);
      assert.equal(await store.cachedContent.storedBlobSize(blob), 4096);
      assert.equal(await store.cachedContent.isReferenced('hub/app', blob), false);
      await putCached(store, 'hub/app', 'one', 'v1', 1);
      assert.equal(await store.cachedContent.isReferenced('hub/app', blob), true);
      assert.equal(await store.cachedContent.isReferenced('other/app', blob), false);
    });
  });
}
