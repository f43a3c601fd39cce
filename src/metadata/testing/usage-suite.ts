// The usage and quota-rule part of the metadata suite (runMetadataSuite calls it, so SQLite and
// PostgreSQL both run it): bytes per namespace with each distinct digest counted once, the
// boundaries of a namespace, repositories, usage per repository, usage dropping when content is
// deleted, and quotas stored in lifecycle_rules.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { Digest } from '../../oci/digest.js';
import type { NewManifest } from '../manifest-index.js';
import type { MetadataStore } from '../metadata-store.js';

const digestOf = (seed: string): string => Digest.of(Buffer.from(seed)).toString();

/** A manifest of `size` bytes referencing the given blobs (which must be linked already). */
function manifest(repository: string, seed: string, blobs: readonly string[], tags: string[] = [], size = 500): NewManifest {
  return {
    repository,
    digest: digestOf(`manifest:${seed}`),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    size,
    artifactType: undefined,
    subjectDigest: undefined,
    references: blobs.map((digest) => ({ digest, kind: 'blob' as const })),
    tags,
    mustExist: { blobs, manifests: [] },
  };
}

export function runUsageSuite(test: (title: string, body: (store: MetadataStore) => Promise<void>) => void): void {
  describe('usage', () => {
    test('an empty store uses nothing', async (store) => {
      assert.deepEqual(await store.usage.namespaceUsage('team'), { namespace: 'team', bytes: 0, repositories: 0 });
      assert.deepEqual(await store.usage.allNamespaceUsage(), []);
      assert.deepEqual(await store.usage.repositoryUsage('team'), []);
    });

    test('a digest linked into several repositories of a namespace counts once there, and once in each other namespace', async (store) => {
      const shared = digestOf('shared layer');
      const own = digestOf('own layer');
      await store.addBlobToRepository('team/a', shared, 1000);
      await store.addBlobToRepository('team/b', shared, 1000);
      await store.addBlobToRepository('team/b', own, 300);
      await store.addBlobToRepository('other/a', shared, 1000);
      assert.equal((await store.putManifest(manifest('team/a', 'a', [shared], ['v1']))).missing, undefined);
      assert.deepEqual(await store.usage.namespaceUsage('team'), { namespace: 'team', bytes: 1000 + 300 + 500, repositories: 1 });
      assert.deepEqual(await store.usage.namespaceUsage('other'), { namespace: 'other', bytes: 1000, repositories: 0 });
      assert.deepEqual(await store.usage.allNamespaceUsage(), [
        { namespace: 'other', bytes: 1000, repositories: 0 },
        { namespace: 'team', bytes: 1800, repositories: 1 },
      ]);
      // The same manifest bytes in a second repository of the namespace add nothing either.
      await store.putManifest(manifest('team/b', 'a', [shared]));
      assert.deepEqual(await store.usage.namespaceUsage('team'), { namespace: 'team', bytes: 1800, repositories: 2 });
    });

    test('a namespace is its first path component exactly, not a prefix of the name', async (store) => {
      const names = ['team', 'team/a', 'team/a/b', 'team.x/a', 'team-x/a', 'team_x/a', 'team0/a', 'teams/a', 'tea/m'];
      for (const [i, name] of names.entries()) await store.addBlobToRepository(name, digestOf(`blob ${i}`), 10 ** i);
      assert.equal((await store.usage.namespaceUsage('team')).bytes, 1 + 10 + 100);
      assert.equal((await store.usage.namespaceUsage('team_x')).bytes, 10 ** 5);
      assert.equal((await store.usage.namespaceUsage('tea')).bytes, 10 ** 8);
      assert.deepEqual(
        (await store.usage.allNamespaceUsage()).map((usage) => [usage.namespace, usage.bytes]),
        [
          ['tea', 10 ** 8],
          ['team', 111],
          ['team-x', 10 ** 4],
          ['team.x', 10 ** 3],
          ['team0', 10 ** 6],
          ['team_x', 10 ** 5],
          ['teams', 10 ** 7],
        ],
      );
      assert.deepEqual(
        (await store.usage.repositoryUsage('team')).map((usage) => usage.repository),
        ['team', 'team/a', 'team/a/b'],
      );
      assert.equal(await store.usage.isLinkedInNamespace('team', digestOf('blob 1')), true);
      assert.equal(await store.usage.isLinkedInNamespace('team', digestOf('blob 3')), false, 'team.x/a is another namespace');
      assert.equal(await store.usage.isLinkedInNamespace('team_x', digestOf('blob 5')), true);
    });

    test('usage per repository counts links, manifests and tags', async (store) => {
      const config = digestOf('config');
      const layer = digestOf('layer');
      await store.addBlobToRepository('team/app', config, 100);
      await store.addBlobToRepository('team/app', layer, 2000);
      await store.addBlobToRepository('team/tool', layer, 2000);
      await store.putManifest(manifest('team/app', 'one', [config, layer], ['v1', 'latest'], 400));
      await store.putManifest(manifest('team/app', 'two', [layer], [], 450));
      assert.deepEqual(await store.usage.repositoryUsage('team'), [
        { repository: 'team/app', bytes: 100 + 2000 + 400 + 450, blobs: 4, manifests: 2, tags: 2 },
        { repository: 'team/tool', bytes: 2000, blobs: 1, manifests: 0, tags: 0 },
      ]);
      assert.equal(await store.usage.hasManifests('team/app'), true);
      assert.equal(await store.usage.hasManifests('team/tool'), false);
      assert.equal(await store.usage.hasManifests('team'), false);
    });

    test('deleting a manifest and unlinking its blobs frees what nothing else in the namespace links', async (store) => {
      const shared = digestOf('shared');
      const only = digestOf('only in one');
      await store.addBlobToRepository('team/a', shared, 1000);
      await store.addBlobToRepository('team/a', only, 200);
      await store.addBlobToRepository('team/b', shared, 1000);
      await store.putManifest(manifest('team/a', 'a', [shared, only], ['v1']));
      assert.deepEqual(await store.usage.namespaceUsage('team'), { namespace: 'team', bytes: 1700, repositories: 1 });
      assert.equal((await store.deleteManifest('team/a', digestOf('manifest:a'))).result, 'deleted');
      assert.deepEqual(await store.usage.namespaceUsage('team'), { namespace: 'team', bytes: 1200, repositories: 0 });
      assert.equal(await store.unlinkBlob('team/a', only), 'unlinked');
      assert.equal(await store.unlinkBlob('team/a', shared), 'unlinked');
      assert.deepEqual(
        await store.usage.namespaceUsage('team'),
        { namespace: 'team', bytes: 1000, repositories: 0 },
        'team/b still links it',
      );
      assert.equal(await store.unlinkBlob('team/b', shared), 'unlinked');
      assert.deepEqual(await store.usage.namespaceUsage('team'), { namespace: 'team', bytes: 0, repositories: 0 });
    });

    test('sizes beyond 32 bits add up exactly', async (store) => {
      await store.addBlobToRepository('big/a', digestOf('big 1'), 5 * 2 ** 30);
      await store.addBlobToRepository('big/b', digestOf('big 2'), 3 * 2 ** 30 + 7);
      assert.equal((await store.usage.namespaceUsage('big')).bytes, 8 * 2 ** 30 + 7);
      assert.equal((await store.usage.allNamespaceUsage())[0]?.bytes, 8 * 2 ** 30 + 7);
    });
  });

  describe('quota rules', () => {
    test('a quota is stored, replaced and deleted by namespace', async (store) => {
      assert.deepEqual(await store.quotaRules.listQuotaRules(), []);
      const at = '2025-01-02T03:04:05.000Z';
      await store.quotaRules.putQuotaRule({
        namespace: 'team',
        sizeBytes: 10 * 2 ** 30,
        repositories: 5,
        warnAt: 0.9,
        createdAt: at,
        createdBy: 'root',
      });
      await store.quotaRules.putQuotaRule({
        namespace: 'ci',
        sizeBytes: 1000,
        repositories: undefined,
        warnAt: undefined,
        createdAt: at,
        createdBy: undefined,
      });
      assert.deepEqual(await store.quotaRules.listQuotaRules(), [
        { namespace: 'ci', sizeBytes: 1000, repositories: undefined, warnAt: undefined, createdAt: at, createdBy: undefined },
        { namespace: 'team', sizeBytes: 10 * 2 ** 30, repositories: 5, warnAt: 0.9, createdAt: at, createdBy: 'root' },
      ]);
      await store.quotaRules.putQuotaRule({
        namespace: 'team',
        sizeBytes: 2000,
        repositories: undefined,
        warnAt: undefined,
        createdAt: at,
        createdBy: 'other',
      });
      assert.deepEqual(
        (await store.quotaRules.listQuotaRules()).map((rule) => [rule.namespace, rule.sizeBytes, rule.repositories, rule.createdBy]),
        [
          ['ci', 1000, undefined, undefined],
          ['team', 2000, undefined, 'other'],
        ],
      );
      assert.equal(await store.quotaRules.deleteQuotaRule('team'), true);
      assert.equal(await store.quotaRules.deleteQuotaRule('team'), false);
      assert.deepEqual(
        (await store.quotaRules.listQuotaRules()).map((rule) => rule.namespace),
        ['ci'],
      );
    });
  });
}
