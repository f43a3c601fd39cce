// The metadata suite: the behaviour every MetadataStore backend must show, written against the
// MetadataStore API only (no SQL, no files) so that SQLite and PostgreSQL run it unchanged. A
// backend's test file calls runMetadataSuite() with a factory for a fresh, migrated, empty store.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Digest } from '../../oci/digest.js';
import type { NewManifest } from '../manifest-index.js';
import type { MetadataStore } from '../metadata-store.js';
import { runUsageSuite } from './usage-suite.js';

export interface MetadataStoreUnderTest {
  /** A store over a freshly migrated database that nothing else uses. */
  readonly store: MetadataStore;
  /** Closes the store and removes the database. */
  cleanup(): Promise<void>;
}

const ociManifest = 'application/vnd.oci.image.manifest.v1+json';
const ociIndex = 'application/vnd.oci.image.index.v1+json';

/** A distinct, valid sha256 digest for each seed. */
function digestOf(seed: string): string {
  return Digest.of(Buffer.from(seed)).toString();
}

function manifest(repository: string, seed: string, overrides: Partial<NewManifest> = {}): NewManifest {
  return {
    repository,
    digest: digestOf(`manifest:${seed}`),
    mediaType: ociManifest,
    size: 512,
    artifactType: undefined,
    subjectDigest: undefined,
    references: [
      { digest: digestOf(`config:${seed}`), kind: 'blob' },
      { digest: digestOf(`layer:${seed}`), kind: 'blob' },
    ],
    tags: [],
    ...overrides,
  };
}

function isIsoTimestamp(value: string): boolean {
  return !Number.isNaN(Date.parse(value)) && new Date(value).toISOString() === value;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Walks every page of a listing and checks the pages fit together. */
async function walk(
  list: (page: { limit: number; after: string | undefined }) => Promise<{ items: string[]; hasMore: boolean }>,
  limit: number,
): Promise<string[]> {
  const seen: string[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await list({ limit, after });
    assert.ok(page.items.length <= limit, 'a page never exceeds the limit');
    seen.push(...page.items);
    if (!page.hasMore) return seen;
    assert.equal(page.items.length, limit, 'a page with more after it is full');
    after = page.items.at(-1);
  }
  throw new Error('pagination did not end');
}

/** Byte order, which is what Distribution clients expect and what "after" must agree with. */
function lexical(values: readonly string[]): string[] {
  return [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function runMetadataSuite(name: string, open: () => Promise<MetadataStoreUnderTest>): void {
  /** Runs a test against its own fresh store. */
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

  describe(`metadata suite: ${name}`, () => {
    runUsageSuite(test);

    describe('schema', () => {
      test('a fresh store answers ping and is empty', async (store) => {
        await store.ping();
        assert.deepEqual(await store.listRepositories({}), { items: [], hasMore: false });
        assert.equal(await store.repositoryExists('library/ubuntu'), false);
      });

      test('migrate() again is a no-op that keeps the data', async (store) => {
        await store.putManifest(manifest('app', 'm1', { tags: ['latest'] }));
        await store.addBlobToRepository('app', digestOf('blob'), 10);
        await store.createUpload('upload-1', 'app');
        await store.migrate();
        await store.migrate();
        await store.ping();
        assert.equal((await store.findManifestByTag('app', 'latest'))?.digest, digestOf('manifest:m1'));
        assert.deepEqual(await store.findRepositoryBlob('app', digestOf('blob')), { size: 10 });
        assert.equal((await store.findUpload('upload-1'))?.repository, 'app');
      });
    });

    describe('blobs', () => {
      test('a blob added to a repository is visible there and nowhere else', async (store) => {
        const blob = digestOf('blob');
        assert.equal(await store.findRepositoryBlob('a', blob), undefined);
        await store.addBlobToRepository('a', blob, 1234);
        assert.deepEqual(await store.findRepositoryBlob('a', blob), { size: 1234 });
        assert.equal(await store.findRepositoryBlob('b', blob), undefined);
        assert.equal(await store.findRepositoryBlob('a/b', blob), undefined);
        assert.equal(await store.findRepositoryBlob('a', digestOf('other')), undefined);
        assert.deepEqual([...(await store.linkedBlobDigests('a', [blob]))], [blob]);
        assert.deepEqual([...(await store.linkedBlobDigests('b', [blob]))], []);
      });

      test('sizes come back as numbers, including sizes beyond 32 bits', async (store) => {
        const big = 2 ** 40 + 7;
        await store.addBlobToRepository('a', digestOf('big'), big);
        await store.addBlobToRepository('a', digestOf('empty'), 0);
        const found = await store.findRepositoryBlob('a', digestOf('big'));
        assert.equal(typeof found?.size, 'number');
        assert.equal(found?.size, big);
        assert.deepEqual(await store.findRepositoryBlob('a', digestOf('empty')), { size: 0 });
      });

      test('adding the same blob twice is harmless', async (store) => {
        const blob = digestOf('blob');
        await store.addBlobToRepository('a', blob, 5);
        await store.addBlobToRepository('a', blob, 5);
        assert.deepEqual(await store.findRepositoryBlob('a', blob), { size: 5 });
      });

      test('adding a known blob to a second repository links it there too', async (store) => {
        const blob = digestOf('blob');
        await store.addBlobToRepository('a', blob, 5);
        await store.addBlobToRepository('b', blob, 5);
        assert.deepEqual(await store.findRepositoryBlob('a', blob), { size: 5 });
        assert.deepEqual(await store.findRepositoryBlob('b', blob), { size: 5 });
      });

      test('linkExistingBlob is false for an unknown blob and links nothing', async (store) => {
        const unknown = digestOf('unknown');
        assert.equal(await store.linkExistingBlob('a', unknown), false);
        assert.equal(await store.findRepositoryBlob('a', unknown), undefined);
        assert.equal((await store.linkedBlobDigests('a', [unknown])).size, 0);
      });

      test('linkExistingBlob links a blob known from another repository (mount)', async (store) => {
        const blob = digestOf('blob');
        await store.addBlobToRepository('source', blob, 77);
        assert.equal(await store.findRepositoryBlob('target', blob), undefined);
        assert.equal(await store.linkExistingBlob('target', blob), true);
        assert.deepEqual(await store.findRepositoryBlob('target', blob), { size: 77 });
        assert.equal(await store.linkExistingBlob('target', blob), true, 'linking again is harmless');
        assert.deepEqual(await store.findRepositoryBlob('source', blob), { size: 77 });
        assert.equal(await store.findRepositoryBlob('third', blob), undefined);
      });

      test('a blob only linked into a repository does not list the repository', async (store) => {
        await store.addBlobToRepository('blobs-only', digestOf('blob'), 1);
        assert.deepEqual((await store.listRepositories({})).items, []);
      });

      test('linkedBlobDigests answers for a subset, ignoring duplicates and unknown digests', async (store) => {
        const [x, y, z] = [digestOf('x'), digestOf('y'), digestOf('z')];
        await store.addBlobToRepository('a', x, 1);
        await store.addBlobToRepository('a', y, 2);
        await store.addBlobToRepository('b', z, 3);
        assert.deepEqual(await store.linkedBlobDigests('a', []), new Set());
        assert.deepEqual(await store.linkedBlobDigests('a', [x, x, z, digestOf('w')]), new Set([x]));
        assert.deepEqual(await store.linkedBlobDigests('a', [z, y, x]), new Set([x, y]));
        assert.deepEqual(await store.linkedBlobDigests('b', [x, y, z]), new Set([z]));
        assert.deepEqual(await store.linkedBlobDigests('c', [x, y, z]), new Set());
      });

      test('linkedBlobDigests handles more digests than one query may bind', async (store) => {
        const known = Array.from({ length: 520 }, (_, i) => digestOf(`known-${i}`));
        for (const [i, digest] of known.entries()) await store.addBlobToRepository('a', digest, i);
        await store.addBlobToRepository('b', digestOf('elsewhere'), 1);
        // Interleave known and unknown digests (and repeat some) so matches fall in every chunk.
        const query: string[] = [];
        for (let i = 0; i < 600; i++) {
          query.push(digestOf(`unknown-${i}`));
          const k = known[i % known.length];
          if (k !== undefined) query.push(k);
        }
        query.push(digestOf('elsewhere'));
        assert.ok(new Set(query).size > 1000);
        const found = await store.linkedBlobDigests('a', query);
        assert.equal(found.size, known.length);
        assert.deepEqual(found, new Set(known));
      });
    });

    describe('manifests', () => {
      test('putManifest records the manifest with its fields', async (store) => {
        const m = manifest('library/ubuntu', 'm1', { size: 2 ** 33 + 1 });
        await store.putManifest(m);
        const row = await store.findManifest('library/ubuntu', m.digest);
        assert.ok(row);
        assert.equal(row.repository, 'library/ubuntu');
        assert.equal(row.digest, m.digest);
        assert.equal(row.mediaType, ociManifest);
        assert.equal(typeof row.size, 'number');
        assert.equal(row.size, 2 ** 33 + 1);
        assert.equal(row.artifactType, undefined);
        assert.equal(row.subjectDigest, undefined);
        assert.ok(isIsoTimestamp(row.createdAt), row.createdAt);
        assert.equal(await store.repositoryExists('library/ubuntu'), true);
      });

      test('putManifest records artifactType and subject', async (store) => {
        const subject = manifest('app', 'image');
        await store.putManifest(subject);
        const signature = manifest('app', 'sig', {
          artifactType: 'application/vnd.example.signature',
          subjectDigest: subject.digest,
        });
        await store.putManifest(signature);
        const row = await store.findManifest('app', signature.digest);
        assert.equal(row?.artifactType, 'application/vnd.example.signature');
        assert.equal(row?.subjectDigest, subject.digest);
      });

      test('putManifest accepts a subject that is not in the repository', async (store) => {
        const m = manifest('app', 'sig', { subjectDigest: digestOf('absent') });
        await store.putManifest(m);
        assert.equal((await store.findManifest('app', m.digest))?.subjectDigest, digestOf('absent'));
      });

      test('putManifest links the manifest itself as a blob of the repository', async (store) => {
        const m = manifest('app', 'm1', { size: 999 });
        await store.putManifest(m);
        assert.deepEqual(await store.findRepositoryBlob('app', m.digest), { size: 999 });
        assert.equal(await store.findRepositoryBlob('other', m.digest), undefined);
        assert.equal(await store.linkExistingBlob('other', m.digest), true);
      });

      test('putManifest accepts indexes, duplicate references and no references', async (store) => {
        const child = manifest('app', 'child');
        await store.putManifest(child);
        const index = manifest('app', 'index', {
          mediaType: ociIndex,
          references: [
            { digest: child.digest, kind: 'manifest' },
            { digest: child.digest, kind: 'manifest' },
          ],
          tags: ['multi', 'multi'],
        });
        await store.putManifest(index);
        await store.putManifest(manifest('app', 'bare', { references: [] }));
        assert.equal((await store.findManifest('app', index.digest))?.mediaType, ociIndex);
        assert.equal((await store.findManifestByTag('app', 'multi'))?.digest, index.digest);
        assert.deepEqual((await store.listTags('app', {})).items, ['multi']);
      });

      test('putManifest is idempotent', async (store) => {
        const m = manifest('app', 'm1', { tags: ['latest', 'v1'] });
        await store.putManifest(m);
        const first = await store.findManifest('app', m.digest);
        await store.putManifest(m);
        await store.putManifest(m);
        assert.deepEqual(await store.findManifest('app', m.digest), first);
        assert.deepEqual(await store.listTags('app', {}), { items: ['latest', 'v1'], hasMore: false });
        assert.deepEqual(await store.listRepositories({}), { items: ['app'], hasMore: false });
        assert.deepEqual(await store.manifestDigests('app', [m.digest]), new Set([m.digest]));
      });

      test('putManifest is all or nothing', async (store) => {
        const good = manifest('app', 'good', { tags: ['latest'] });
        await store.putManifest(good);
        // A NOT NULL column given null fails part-way through the transaction, after the
        // repository row, the blob row and the blob link were written.
        const broken: NewManifest = {
          ...manifest('app', 'broken', { tags: ['latest', 'new-tag'] }),
          mediaType: null as unknown as string,
        };
        await assert.rejects(store.putManifest(broken));
        assert.equal(await store.findManifest('app', broken.digest), undefined);
        assert.equal(await store.findRepositoryBlob('app', broken.digest), undefined);
        assert.equal(await store.linkExistingBlob('other', broken.digest), false, 'no blob row was left behind');
        assert.equal((await store.findManifestByTag('app', 'latest'))?.digest, good.digest);
        assert.equal(await store.findManifestByTag('app', 'new-tag'), undefined);
        assert.deepEqual((await store.listTags('app', {})).items, ['latest']);

        const brokenElsewhere: NewManifest = { ...manifest('fresh', 'broken'), mediaType: null as unknown as string };
        await assert.rejects(store.putManifest(brokenElsewhere));
        assert.equal(await store.repositoryExists('fresh'), false);
        assert.deepEqual((await store.listRepositories({})).items, ['app']);

        // The store is still usable afterwards.
        await store.putManifest(manifest('fresh', 'ok'));
        assert.equal(await store.repositoryExists('fresh'), true);
      });

      test('manifests belong to their repository', async (store) => {
        const m = manifest('a', 'm1', { tags: ['latest'] });
        await store.putManifest(m);
        assert.equal(await store.findManifest('b', m.digest), undefined);
        assert.equal(await store.findManifestByTag('b', 'latest'), undefined);
        assert.deepEqual(await store.manifestDigests('b', [m.digest]), new Set());
        assert.equal(await store.findManifest('a', digestOf('manifest:other')), undefined);

        await store.putManifest({ ...m, repository: 'b', tags: [] });
        assert.equal((await store.findManifest('b', m.digest))?.repository, 'b');
        assert.equal(await store.findManifestByTag('b', 'latest'), undefined, 'tags are per repository too');
      });

      test('findManifestByTag follows the tag', async (store) => {
        const m = manifest('app', 'm1', { tags: ['latest', 'v1.0'] });
        await store.putManifest(m);
        const byTag = await store.findManifestByTag('app', 'v1.0');
        assert.deepEqual(byTag, await store.findManifest('app', m.digest));
        assert.equal(await store.findManifestByTag('app', 'v2.0'), undefined);
        assert.equal(await store.findManifestByTag('app', 'LATEST'), undefined, 'tags are case-sensitive');
        assert.equal(await store.findManifestByTag('nope', 'latest'), undefined);
      });

      test('a tag moves to the manifest pushed last; the old manifest stays', async (store) => {
        const m1 = manifest('app', 'm1', { tags: ['latest', 'v1'] });
        const m2 = manifest('app', 'm2', { tags: ['latest', 'v2'] });
        await store.putManifest(m1);
        await store.putManifest(m2);
        assert.equal((await store.findManifestByTag('app', 'latest'))?.digest, m2.digest);
        assert.equal((await store.findManifestByTag('app', 'v1'))?.digest, m1.digest);
        assert.equal((await store.findManifestByTag('app', 'v2'))?.digest, m2.digest);
        assert.deepEqual((await store.listTags('app', {})).items, ['latest', 'v1', 'v2']);
        assert.ok(await store.findManifest('app', m1.digest));

        // Pushing the first again (already known) moves the tag back.
        await store.putManifest({ ...m1, tags: ['latest'] });
        assert.equal((await store.findManifestByTag('app', 'latest'))?.digest, m1.digest);
        assert.deepEqual((await store.listTags('app', {})).items, ['latest', 'v1', 'v2']);
      });

      test('manifestDigests answers for a subset', async (store) => {
        const m1 = manifest('app', 'm1');
        const m2 = manifest('app', 'm2');
        await store.putManifest(m1);
        await store.putManifest(m2);
        await store.addBlobToRepository('app', digestOf('plain-blob'), 1);
        assert.deepEqual(await store.manifestDigests('app', []), new Set());
        assert.deepEqual(
          await store.manifestDigests('app', [m1.digest, m1.digest, digestOf('plain-blob'), digestOf('x')]),
          new Set([m1.digest]),
          'a blob is not a manifest',
        );
        assert.deepEqual(await store.manifestDigests('app', [m2.digest, m1.digest]), new Set([m1.digest, m2.digest]));
      });

      test('manifestDigests handles more digests than one query may bind', async (store) => {
        const known: string[] = [];
        for (let i = 0; i < 510; i++) {
          const m = manifest('app', `m${i}`, { references: [] });
          await store.putManifest(m);
          known.push(m.digest);
        }
        await store.putManifest(manifest('other', 'elsewhere'));
        const query: string[] = [digestOf('manifest:elsewhere')];
        for (let i = 0; i < 600; i++) {
          query.push(digestOf(`absent-${i}`));
          const k = known[(i * 7) % known.length];
          if (k !== undefined) query.push(k);
        }
        query.push(...known);
        assert.ok(new Set(query).size > 1000);
        const found = await store.manifestDigests('app', query);
        assert.deepEqual(found, new Set(known));
      });

      test('repositoryExists is true once a manifest is pushed', async (store) => {
        assert.equal(await store.repositoryExists('a/b'), false);
        await store.putManifest(manifest('a/b', 'm1'));
        assert.equal(await store.repositoryExists('a/b'), true);
        assert.equal(await store.repositoryExists('a'), false);
        assert.equal(await store.repositoryExists('a/b/c'), false);
        assert.equal(await store.repositoryExists('A/B'), false);
      });

      test('deleteManifest removes the manifest with its tags and link; unknown when absent', async (store) => {
        const m = manifest('app', 'm1', { tags: ['latest', 'v1'] });
        const kept = manifest('app', 'm2', { tags: ['v2'] });
        await store.putManifest(m);
        await store.putManifest(kept);
        assert.deepEqual(await store.deleteManifest('app', m.digest), { result: 'deleted' });
        assert.equal(await store.findManifest('app', m.digest), undefined);
        assert.equal(await store.findRepositoryBlob('app', m.digest), undefined);
        assert.deepEqual((await store.listTags('app', {})).items, ['v2']);
        assert.deepEqual(await store.deleteManifest('app', m.digest), { result: 'unknown' });
        assert.deepEqual(await store.deleteManifest('other', kept.digest), { result: 'unknown' });
        assert.ok(await store.findManifest('app', kept.digest));
      });

      test('deleteManifest keeps a manifest that an index in the repository lists, naming the index', async (store) => {
        const child = manifest('app', 'child', { tags: ['child'] });
        const sibling = manifest('app', 'sibling');
        await store.putManifest(child);
        await store.putManifest(sibling);
        const index = (seed: string): NewManifest =>
          manifest('app', seed, {
            mediaType: ociIndex,
            references: [
              { digest: child.digest, kind: 'manifest' },
              { digest: sibling.digest, kind: 'manifest' },
            ],
            tags: [seed],
            mustExist: { blobs: [], manifests: [child.digest, sibling.digest] },
          });
        const [first, second] = [index('index-a'), index('index-b')].sort((a, b) => a.digest.localeCompare(b.digest));
        assert.ok(first && second);
        await store.putManifest(first);
        await store.putManifest(second);

        assert.deepEqual(await store.deleteManifest('app', child.digest), { result: 'referenced', index: first.digest });
        assert.ok(await store.findManifest('app', child.digest), 'the child stays');
        assert.equal((await store.findManifestByTag('app', 'child'))?.digest, child.digest, 'with its tags');
        assert.deepEqual(await store.findRepositoryBlob('app', child.digest), { size: child.size });
        // Each index must go before the child can.
        assert.deepEqual(await store.deleteManifest('app', first.digest), { result: 'deleted' });
        assert.deepEqual(await store.deleteManifest('app', child.digest), { result: 'referenced', index: second.digest });
        assert.deepEqual(await store.deleteManifest('app', second.digest), { result: 'deleted' });
        assert.deepEqual(await store.deleteManifest('app', child.digest), { result: 'deleted' });
        assert.deepEqual(await store.deleteManifest('app', sibling.digest), { result: 'deleted' });
      });

      test('deleteManifest is not held by referrers or by indexes in other repositories', async (store) => {
        const subject = manifest('app', 'subject');
        await store.putManifest(subject);
        await store.putManifest(manifest('app', 'signature', { subjectDigest: subject.digest }));
        // An index naming it in another repository (where it was pushed too) holds only that copy.
        await store.putManifest({ ...subject, repository: 'other' });
        await store.putManifest(
          manifest('other', 'index', { mediaType: ociIndex, references: [{ digest: subject.digest, kind: 'manifest' }] }),
        );
        assert.deepEqual(await store.deleteManifest('app', subject.digest), { result: 'deleted' });
        assert.equal((await store.deleteManifest('other', subject.digest)).result, 'referenced');
      });

      test('an index push racing a delete of its child never leaves the index without the child', async (store) => {
        for (let round = 0; round < 10; round++) {
          const child = manifest('app', `child-${round}`);
          await store.putManifest(child);
          const index = manifest('app', `index-${round}`, {
            mediaType: ociIndex,
            references: [{ digest: child.digest, kind: 'manifest' }],
            tags: [`v${round}`],
            mustExist: { blobs: [], manifests: [child.digest] },
          });
          const [push, deletion] = await Promise.all([store.putManifest(index), store.deleteManifest('app', child.digest)]);
          const indexKept = (await store.findManifest('app', index.digest)) !== undefined;
          const childKept = (await store.findManifest('app', child.digest)) !== undefined;
          if (indexKept) {
            assert.equal(push.missing, undefined);
            assert.ok(childKept, `round ${round}: the index names a child that was deleted`);
            assert.deepEqual(deletion, { result: 'referenced', index: index.digest });
          } else {
            assert.equal(push.missing, child.digest);
            assert.ok(!childKept);
            assert.deepEqual(deletion, { result: 'deleted' });
          }
        }
      });

      test('concurrent pushes of different manifests to one tag end consistent', async (store) => {
        const pushes = Array.from({ length: 12 }, (_, i) => manifest('app', `race-${i}`, { tags: ['latest', `v${i}`] }));
        await Promise.all(pushes.map((m) => store.putManifest(m)));
        const winner = await store.findManifestByTag('app', 'latest');
        assert.ok(winner, 'the tag points at a manifest that exists');
        assert.ok(pushes.some((m) => m.digest === winner.digest));
        assert.deepEqual(await store.findManifest('app', winner.digest), winner);
        const all = pushes.map((m) => m.digest);
        assert.deepEqual(await store.manifestDigests('app', all), new Set(all));
        assert.equal((await store.listTags('app', {})).items.length, 13);
        for (const [i, m] of pushes.entries()) {
          assert.equal((await store.findManifestByTag('app', `v${i}`))?.digest, m.digest);
        }
      });

      test('concurrent pushes naming the same tags in different orders all succeed', async (store) => {
        // A backend with row locks must not deadlock when two pushes take the same tags in
        // opposite orders.
        const tags = ['t1', 't2', 't3', 't4'];
        const pushes = Array.from({ length: 8 }, (_, i) =>
          manifest('app', `order-${i}`, { tags: i % 2 === 0 ? tags : [...tags].reverse() }),
        );
        await Promise.all(pushes.map((m) => store.putManifest(m)));
        const digests = new Set(pushes.map((m) => m.digest));
        for (const tag of tags) {
          const row = await store.findManifestByTag('app', tag);
          assert.ok(row && digests.has(row.digest), tag);
        }
      });

      test('concurrent pushes of the same manifest, and to new repositories, all succeed', async (store) => {
        const m = manifest('app', 'same', { tags: ['latest'] });
        await Promise.all(Array.from({ length: 8 }, () => store.putManifest(m)));
        assert.equal((await store.findManifestByTag('app', 'latest'))?.digest, m.digest);
        await Promise.all(Array.from({ length: 8 }, (_, i) => store.putManifest(manifest(`new/repo-${i % 3}`, `m${i}`, { tags: ['t'] }))));
        assert.deepEqual((await store.listRepositories({})).items, ['app', 'new/repo-0', 'new/repo-1', 'new/repo-2']);
        for (let r = 0; r < 3; r++) {
          const row = await store.findManifestByTag(`new/repo-${r}`, 't');
          assert.ok(row);
          assert.ok(await store.findManifest(`new/repo-${r}`, row.digest));
        }
      });
    });

    describe('listings', () => {
      const repositoryNames = ['ab', 'a/b', 'a-b', 'a', 'b', 'a.b', 'a_b', 'a/b/c', 'a--b', 'a__b', 'a0', 'z/z'];
      const tagNames = ['latest', 'a', 'a-b', 'ab', 'a.b', 'a_b', 'A', 'Latest', '_x', '1.0', '10', '9', 'v1.2.3'];

      test('listRepositories returns repositories in byte order', async (store) => {
        for (const repository of repositoryNames) await store.putManifest(manifest(repository, 'm'));
        const expected = lexical(repositoryNames);
        assert.deepEqual(expected.slice(0, 4), ['a', 'a--b', 'a-b', 'a.b']);
        assert.deepEqual(await store.listRepositories({}), { items: expected, hasMore: false });
        assert.deepEqual(await store.listRepositories({ limit: undefined, after: undefined }), {
          items: expected,
          hasMore: false,
        });
      });

      test('listRepositories pages by limit and after', async (store) => {
        for (const repository of repositoryNames) await store.putManifest(manifest(repository, 'm'));
        const expected = lexical(repositoryNames);
        const n = expected.length;
        assert.deepEqual(await store.listRepositories({ limit: 3 }), { items: expected.slice(0, 3), hasMore: true });
        assert.deepEqual(await store.listRepositories({ limit: n }), { items: expected, hasMore: false });
        assert.deepEqual(await store.listRepositories({ limit: n - 1 }), {
          items: expected.slice(0, n - 1),
          hasMore: true,
        });
        assert.deepEqual(await store.listRepositories({ limit: n + 10 }), { items: expected, hasMore: false });
        assert.deepEqual(await store.listRepositories({ after: 'a' }), { items: expected.slice(1), hasMore: false });
        assert.deepEqual(await store.listRepositories({ after: 'a-b', limit: 2 }), {
          items: expected.slice(expected.indexOf('a-b') + 1, expected.indexOf('a-b') + 3),
          hasMore: true,
        });
        assert.deepEqual(await store.listRepositories({ after: 'a/b' }), {
          items: expected.filter((r) => r > 'a/b'),
          hasMore: false,
        });
        // "after" need not name an existing repository.
        assert.deepEqual(
          (await store.listRepositories({ after: 'a1' })).items,
          expected.filter((r) => r > 'a1'),
        );
        assert.deepEqual(await store.listRepositories({ after: 'z/z' }), { items: [], hasMore: false });
        assert.deepEqual(await store.listRepositories({ after: 'zzz', limit: 5 }), { items: [], hasMore: false });
        for (const limit of [1, 2, 5, n]) {
          assert.deepEqual(await walk((page) => store.listRepositories(page), limit), expected, `limit ${limit}`);
        }
      });

      test("listTags returns one repository's tags in byte order", async (store) => {
        for (const [i, tag] of tagNames.entries()) {
          await store.putManifest(manifest('app', `m${i % 3}`, { tags: [tag] }));
        }
        await store.putManifest(manifest('app/sub', 'other', { tags: ['only-in-sub'] }));
        await store.putManifest(manifest('ap', 'other', { tags: ['only-in-ap'] }));
        const expected = lexical(tagNames);
        assert.deepEqual(expected.slice(0, 6), ['1.0', '10', '9', 'A', 'Latest', '_x']);
        assert.deepEqual(await store.listTags('app', {}), { items: expected, hasMore: false });
        assert.deepEqual(await store.listTags('app/sub', {}), { items: ['only-in-sub'], hasMore: false });
        assert.deepEqual(await store.listTags('unknown', {}), { items: [], hasMore: false });
        assert.deepEqual(await store.listTags('unknown', { limit: 10, after: 'a' }), { items: [], hasMore: false });
      });

      test('listTags pages by limit and after', async (store) => {
        await store.putManifest(manifest('app', 'm', { tags: tagNames }));
        const expected = lexical(tagNames);
        const n = expected.length;
        assert.deepEqual(await store.listTags('app', { limit: 1 }), { items: expected.slice(0, 1), hasMore: true });
        assert.deepEqual(await store.listTags('app', { limit: n }), { items: expected, hasMore: false });
        assert.deepEqual(await store.listTags('app', { limit: n - 1 }), { items: expected.slice(0, n - 1), hasMore: true });
        assert.deepEqual(await store.listTags('app', { after: 'a', limit: 2 }), {
          items: expected.slice(expected.indexOf('a') + 1, expected.indexOf('a') + 3),
          hasMore: true,
        });
        assert.deepEqual(
          (await store.listTags('app', { after: 'a0' })).items,
          expected.filter((t) => t > 'a0'),
        );
        assert.deepEqual(await store.listTags('app', { after: 'v1.2.3' }), { items: [], hasMore: false });
        for (const limit of [1, 3, 4, n, n + 1]) {
          assert.deepEqual(await walk((page) => store.listTags('app', page), limit), expected, `limit ${limit}`);
        }
      });
    });

    describe('uploads', () => {
      test('createUpload and findUpload', async (store) => {
        await store.createUpload('3f2b8d9e-0000-4000-8000-000000000001', 'library/ubuntu');
        const upload = await store.findUpload('3f2b8d9e-0000-4000-8000-000000000001');
        assert.ok(upload);
        assert.equal(upload.id, '3f2b8d9e-0000-4000-8000-000000000001');
        assert.equal(upload.repository, 'library/ubuntu');
        assert.ok(isIsoTimestamp(upload.createdAt), upload.createdAt);
        assert.equal(upload.updatedAt, upload.createdAt);
        assert.equal(await store.findUpload('3f2b8d9e-0000-4000-8000-000000000002'), undefined);
      });

      test('an upload id cannot be created twice', async (store) => {
        await store.createUpload('u1', 'a');
        await assert.rejects(store.createUpload('u1', 'b'));
        assert.equal((await store.findUpload('u1'))?.repository, 'a');
      });

      test('touchUpload moves updatedAt forward and keeps createdAt', async (store) => {
        await store.createUpload('u1', 'a');
        const before = await store.findUpload('u1');
        assert.ok(before);
        await sleep(5);
        await store.touchUpload('u1');
        const after = await store.findUpload('u1');
        assert.ok(after);
        assert.equal(after.createdAt, before.createdAt);
        assert.ok(after.updatedAt > before.updatedAt, `${after.updatedAt} > ${before.updatedAt}`);
        await store.touchUpload('unknown');
        assert.equal(await store.findUpload('unknown'), undefined, 'touching does not create');
      });

      test('deleteUpload removes only that upload', async (store) => {
        await store.createUpload('u1', 'a');
        await store.createUpload('u2', 'a');
        await store.deleteUpload('u1');
        assert.equal(await store.findUpload('u1'), undefined);
        assert.ok(await store.findUpload('u2'));
        await store.deleteUpload('u1');
        await store.deleteUpload('never-existed');
        await store.createUpload('u1', 'b');
        assert.equal((await store.findUpload('u1'))?.repository, 'b', 'an id can be reused after delete');
      });

      test('listUploadsIdleSince finds uploads not touched since the cutoff', async (store) => {
        await store.createUpload('idle', 'a');
        await store.createUpload('active', 'b');
        assert.deepEqual(await store.listUploadsIdleSince(new Date(0)), []);
        await sleep(5);
        const cutoff = new Date();
        await sleep(5);
        await store.touchUpload('active');
        const idle = await store.listUploadsIdleSince(cutoff);
        assert.deepEqual(
          idle.map((u) => [u.id, u.repository]),
          [['idle', 'a']],
        );
        const future = new Date(Date.now() + 60_000);
        assert.deepEqual((await store.listUploadsIdleSince(future)).map((u) => u.id).sort(), ['active', 'idle']);
        await store.deleteUpload('idle');
        assert.deepEqual(
          (await store.listUploadsIdleSince(future)).map((u) => u.id),
          ['active'],
        );
      });
    });
  });
}
