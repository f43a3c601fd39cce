// The retention part of the metadata suite: the queries retention and the pull recorder make
// (retention-index.ts), written against MetadataStore only so that SQLite and PostgreSQL run it
// unchanged (test/metadata/retention-index.test.ts runs it on both).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Digest } from '../../oci/digest.js';
import type { NewManifest } from '../manifest-index.js';
import type { MetadataStore } from '../metadata-store.js';
import type { MetadataStoreUnderTest } from './metadata-suite.js';

const ociManifest = 'application/vnd.oci.image.manifest.v1+json';
const ociIndex = 'application/vnd.oci.image.index.v1+json';

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
    references: [],
    tags: [],
    ...overrides,
  };
}

/** Two pushes a few milliseconds apart have different push times (timestamps are in ms). */
async function tick(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 3));
}

const FUTURE = new Date(Date.now() + 24 * 3600_000);

export function runRetentionSuite(name: string, open: () => Promise<MetadataStoreUnderTest>): void {
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

  describe(`retention suite: ${name}`, () => {
    test('repositoriesMatching follows the repository glob syntax, with _ and % literal', async (store) => {
      for (const repository of ['team/app', 'team/app/cache', 'team/b_c', 'teamx/app', 'other', 'team/b%c']) {
        await store.putManifest(manifest(repository, repository));
      }
      assert.deepEqual(await store.repositoriesMatching('team/*'), ['team/app', 'team/b%c', 'team/b_c']);
      assert.deepEqual(await store.repositoriesMatching('team/**'), ['team/app', 'team/app/cache', 'team/b%c', 'team/b_c']);
      assert.deepEqual(await store.repositoriesMatching('team/b_c'), ['team/b_c']);
      assert.deepEqual(await store.repositoriesMatching('team/b?c'), ['team/b%c', 'team/b_c']);
      assert.deepEqual(await store.repositoriesMatching('**'), [
        'other',
        'team/app',
        'team/app/cache',
        'team/b%c',
        'team/b_c',
        'teamx/app',
      ]);
      assert.deepEqual(await store.repositoriesMatching('nothing/*'), []);
    });

    test('retentionTags lists every tag, most recently pushed first, with its manifest and no pull yet', async (store) => {
      await store.putManifest(manifest('app', 'one', { tags: ['b-old'] }));
      await tick();
      await store.putManifest(manifest('app', 'two', { tags: ['z-new', 'a-new'] }));
      await store.putManifest(manifest('other', 'three', { tags: ['elsewhere'] }));
      const tags = await store.retentionTags('app');
      assert.deepEqual(
        tags.map((t) => [t.tag, t.manifestDigest, t.lastPulledAt]),
        [
          ['a-new', digestOf('manifest:two'), undefined],
          ['z-new', digestOf('manifest:two'), undefined],
          ['b-old', digestOf('manifest:one'), undefined],
        ],
      );
      const [newest, , oldest] = tags;
      assert.ok(newest && oldest && newest.pushedAt > oldest.pushedAt);
      assert.deepEqual(await store.retentionTags('missing'), []);
    });

    test('untagIfUnchanged deletes the tag as read, and spares it once re-pushed, moved or gone', async (store) => {
      await store.putManifest(manifest('app', 'one', { tags: ['same', 'repushed', 'moved'] }));
      const before = new Map((await store.retentionTags('app')).map((t) => [t.tag, t]));
      await tick();
      await store.putManifest(manifest('app', 'one', { tags: ['repushed'] }));
      await store.putManifest(manifest('app', 'two', { tags: ['moved'] }));
      for (const name of ['same', 'repushed', 'moved']) {
        const read = before.get(name);
        assert.ok(read);
        assert.equal(await store.untagIfUnchanged('app', name, read.manifestDigest, read.pushedAt), name === 'same', name);
      }
      const same = before.get('same');
      assert.ok(same);
      assert.equal(await store.untagIfUnchanged('app', 'same', same.manifestDigest, same.pushedAt), false, 'already gone');
      assert.deepEqual((await store.listTags('app', {})).items, ['moved', 'repushed']);
      // The manifest stays: retention untags, garbage collection reclaims.
      assert.ok(await store.findManifest('app', digestOf('manifest:one')));
    });

    test('recordPull by tag moves the tag and its manifest; by digest only the manifest; never backwards', async (store) => {
      await store.putManifest(manifest('app', 'one', { tags: ['latest'] }));
      await store.putManifest(manifest('app', 'two'));
      const first = new Date('2030-01-01T00:00:00.000Z');
      const earlier = new Date('2029-06-01T00:00:00.000Z');
      await store.recordPull({ repository: 'app', tag: 'latest', digest: digestOf('manifest:one') }, first);
      await store.recordPull({ repository: 'app', tag: 'latest', digest: digestOf('manifest:one') }, earlier);
      await store.recordPull({ repository: 'app', digest: digestOf('manifest:two') }, earlier);
      // Unknown tags, digests and repositories record nothing and do not fail.
      await store.recordPull({ repository: 'app', tag: 'nope', digest: digestOf('manifest:nope') }, first);
      await store.recordPull({ repository: 'missing', digest: digestOf('manifest:one') }, first);
      const [latest] = await store.retentionTags('app');
      assert.equal(latest?.lastPulledAt, first.toISOString());
      // The tagged manifest's own record shows once it is untagged.
      assert.equal(await store.deleteTag('app', 'latest'), true);
      const untagged = new Map((await store.untaggedManifests('app', FUTURE)).map((m) => [m.digest, m.lastPulledAt]));
      assert.equal(untagged.get(digestOf('manifest:one')), first.toISOString());
      assert.equal(untagged.get(digestOf('manifest:two')), earlier.toISOString());
    });

    test('untaggedManifests leaves out tagged manifests, children of an index and referrers of a present subject', async (store) => {
      const child = manifest('app', 'child');
      await store.putManifest(child);
      await store.putManifest(
        manifest('app', 'index', { mediaType: ociIndex, references: [{ digest: child.digest, kind: 'manifest' }], tags: ['multi'] }),
      );
      const subject = manifest('app', 'subject');
      await store.putManifest(subject);
      await store.putManifest(manifest('app', 'signature', { subjectDigest: subject.digest }));
      await store.putManifest(manifest('app', 'orphan-signature', { subjectDigest: digestOf('manifest:gone') }));
      await store.putManifest(manifest('app', 'tagged', { tags: ['v1'] }));
      await store.putManifest(manifest('other', 'elsewhere'));
      const untagged = (await store.untaggedManifests('app', FUTURE)).map((m) => m.digest).sort();
      assert.deepEqual(untagged, [digestOf('manifest:orphan-signature'), subject.digest].sort());
      for (const record of await store.untaggedManifests('app', FUTURE)) assert.ok(!Number.isNaN(Date.parse(record.pushedAt)));
      assert.deepEqual(await store.untaggedManifests('app', new Date('2000-01-01T00:00:00.000Z')), [], 'nothing pushed before 2000');
    });

    test('retention rules are created, listed in creation order and deleted by id', async (store) => {
      const rule = (id: string, at: string) => ({
        id,
        target: `team-${id}/**`,
        definition: JSON.stringify({ keeplast: 3 }),
        createdAt: at,
        createdBy: id === 'b' ? undefined : 'alice',
      });
      await store.createRetentionRule(rule('b', '2030-01-02T00:00:00.000Z'));
      await store.createRetentionRule(rule('a', '2030-01-03T00:00:00.000Z'));
      assert.deepEqual(await store.listRetentionRules(), [rule('b', '2030-01-02T00:00:00.000Z'), rule('a', '2030-01-03T00:00:00.000Z')]);
      await assert.rejects(store.createRetentionRule(rule('a', '2030-01-04T00:00:00.000Z')), 'ids are unique');
      assert.equal(await store.deleteRetentionRule('b'), true);
      assert.equal(await store.deleteRetentionRule('b'), false);
      assert.deepEqual(
        (await store.listRetentionRules()).map((r) => r.id),
        ['a'],
      );
    });
  });
}
