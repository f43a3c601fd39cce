// Which cached manifests an upstream's policy evicts (planCacheEviction), computed over an index
// held in memory: by age, and by size with each distinct blob counted once, least recently pulled
// first, an index before its children, hosted and recent manifests never.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CachedItemSize, CachedManifestItem, ManifestNode } from '../metadata/index.js';
import { planCacheEviction } from './cache-eviction.js';

const NOW = Date.parse('2030-06-01T00:00:00Z');
const daysAgo = (days: number): string => new Date(NOW - days * 86_400_000).toISOString();
const GRACE_CUTOFF = daysAgo(0);

interface Image {
  readonly digest: string;
  readonly pulledDaysAgo: number;
  readonly blobs?: readonly string[];
  readonly children?: readonly string[];
  readonly hostedTag?: boolean;
}

/** The two reads planning makes, over one repository's cached images and blob sizes. */
function indexOf(repository: string, images: readonly Image[], sizes: Readonly<Record<string, number>>) {
  const manifests: CachedManifestItem[] = images
    .map((image) => ({
      repository,
      digest: image.digest,
      lastPulledAt: daysAgo(image.pulledDaysAgo),
      pushedAt: daysAgo(image.pulledDaysAgo),
      hostedTag: image.hostedTag ?? false,
    }))
    .sort((a, b) => a.lastPulledAt.localeCompare(b.lastPulledAt));
  const cachedDigests = new Set(images.flatMap((image) => [image.digest, ...(image.blobs ?? [])]));
  const items: CachedItemSize[] = [...cachedDigests].map((digest) => ({ repository, digest, size: sizes[digest] ?? 0 }));
  const graph: ManifestNode[] = images.map((image) => ({
    digest: image.digest,
    pushedAt: daysAgo(image.pulledDaysAgo),
    subjectDigest: undefined,
    tagged: true,
    children: image.children ?? [],
    blobs: image.blobs ?? [],
  }));
  return {
    cache: {
      cachedManifests: async () => manifests,
      cachedItemSizes: async () => items,
      evictCachedManifest: async () => false,
    },
    manifestGraph: async () => graph,
  };
}

const plan = async (index: ReturnType<typeof indexOf>, maxAgeMs: number, maxBytes?: number) =>
  (await planCacheEviction(index, { upstream: 'hub', maxAgeMs, maxBytes }, NOW, GRACE_CUTOFF)).map((c) => [c.digest, c.reason]);

describe('planCacheEviction', () => {
  it('evicts by age what was last pulled before maxage, never a manifest a hosted tag names', async () => {
    const index = indexOf(
      'hub/app',
      [
        { digest: 'old', pulledDaysAgo: 40 },
        { digest: 'hosted', pulledDaysAgo: 50, hostedTag: true },
        { digest: 'recent', pulledDaysAgo: 3 },
      ],
      {},
    );
    assert.deepEqual(await plan(index, 30 * 86_400_000), [['old', 'age']]);
    assert.deepEqual(await plan(index, 0), [], 'no policy, no eviction');
  });

  it('counts a shared layer once and frees it only with its last image', async () => {
    // 30 bytes of manifests, the shared layer once (1000) and three own layers (300): 1330.
    const index = indexOf(
      'hub/app',
      [
        { digest: 'a', pulledDaysAgo: 3, blobs: ['shared', 'own-a'] },
        { digest: 'b', pulledDaysAgo: 2, blobs: ['shared', 'own-b'] },
        { digest: 'c', pulledDaysAgo: 1, blobs: ['own-c'] },
      ],
      { a: 10, b: 10, c: 10, shared: 1000, 'own-a': 100, 'own-b': 100, 'own-c': 100 },
    );
    assert.deepEqual(await plan(index, 0, 1330), [], 'at the cap');
    // Evicting a frees 110; the shared layer stays with b, so b goes too.
    assert.deepEqual(await plan(index, 0, 400), [
      ['a', 'size'],
      ['b', 'size'],
    ]);
    assert.deepEqual(await plan(index, 0, 1300), [['a', 'size']]);
    // Age first, then the cap counts what is left.
    assert.deepEqual(await plan(index, 2.5 * 86_400_000, 1300), [['a', 'age']]);
  });

  it('evicts an index before the children it lists, in a later round', async () => {
    const index = indexOf(
      'hub/multi',
      [
        { digest: 'child', pulledDaysAgo: 5, blobs: ['layer'] },
        { digest: 'index', pulledDaysAgo: 4, children: ['child'] },
        { digest: 'other', pulledDaysAgo: 1, blobs: ['other-layer'] },
      ],
      { child: 10, index: 10, other: 10, layer: 500, 'other-layer': 500 },
    );
    assert.deepEqual(await plan(index, 0, 600), [
      ['index', 'size'],
      ['child', 'size'],
    ]);
  });
});
