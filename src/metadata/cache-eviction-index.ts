// Eviction of pull-through cache content, in the index: which cached manifests and items each
// upstream holds (with their last pulls, for eviction by age and by least recent pull), and the
// removal of one cached manifest that re-checks, under the same locks as gc-index.ts's removals,
// that it is still only cache content nobody pulled or pushed since it was chosen.
//
// A manifest is cache content while cached_items has its row and every tag naming it is a cached
// tag (cached_tags names the same manifest). A tag pushed over a cached one, or a push of the
// manifest since it was chosen (manifests.pushed_at moves), makes it hosted: it stays. Its blobs
// are not removed here: once the manifest is gone, GC's mark phase unlinks those no remaining
// manifest references and its blob sweep frees their bytes.
import type { Kysely } from 'kysely';
import { deleteTagsInOrder, listedByIndex, lockManifest, removeManifestRows } from './manifest-removal.js';
import type { Database } from './schema.js';

/** A cached manifest of one upstream, as eviction chooses among them. */
export interface CachedManifestItem {
  readonly repository: string;
  readonly digest: string;
  /** ISO-8601 times: the last recorded pull, and the last time the manifest was written. */
  readonly lastPulledAt: string;
  readonly pushedAt: string;
  /** A tag pushed here names it (no cached tag matches): it is hosted and never evicted. */
  readonly hostedTag: boolean;
}

/** A cached item (manifest or blob) of one upstream with the size of its bytes (0 if none are stored yet). */
export interface CachedItemSize {
  readonly repository: string;
  readonly digest: string;
  readonly size: number;
}

export interface CacheEvictionIndex {
  /** Every cached manifest of the upstream, least recently pulled first. */
  cachedManifests(upstream: string): Promise<CachedManifestItem[]>;
  /** Every cached item of the upstream with the size of its stored bytes. */
  cachedItemSizes(upstream: string): Promise<CachedItemSize[]>;
  /**
   * Removes a cached manifest (with its cached tags, references and own link) only if, inside
   * the transaction under the manifest row's lock: its cache record is still there and not
   * pulled after `seen.lastPulledAt`; it was not written after `seen.pushedAt` nor after
   * `pushedBefore` (GC's grace period); every tag naming it is a cached tag; and no index of the
   * repository lists it. Returns whether it was removed.
   */
  evictCachedManifest(
    repository: string,
    digest: string,
    seen: { readonly lastPulledAt: string; readonly pushedAt: string },
    pushedBefore: string,
  ): Promise<boolean>;
}

export class CacheEvictionQueries implements CacheEvictionIndex {
  constructor(private readonly db: Kysely<Database>) {}

  async cachedManifests(upstream: string): Promise<CachedManifestItem[]> {
    const rows = await this.db
      .selectFrom('cached_items as c')
      .innerJoin('manifests as m', (join) => join.onRef('m.repository', '=', 'c.repository').onRef('m.digest', '=', 'c.digest'))
      .select(['c.repository', 'c.digest', 'c.last_pulled_at', 'm.pushed_at', 'm.created_at'])
      .where('c.upstream', '=', upstream)
      .orderBy('c.last_pulled_at')
      .orderBy('c.repository')
      .orderBy('c.digest')
      .execute();
    const hosted = await this.db
      .selectFrom('cached_items as c')
      .innerJoin('tags as t', (join) => join.onRef('t.repository', '=', 'c.repository').onRef('t.manifest_digest', '=', 'c.digest'))
      .leftJoin('cached_tags as ct', (join) =>
        join
          .onRef('ct.repository', '=', 't.repository')
          .onRef('ct.tag', '=', 't.name')
          .onRef('ct.manifest_digest', '=', 't.manifest_digest'),
      )
      .select(['c.repository', 'c.digest'])
      .where('c.upstream', '=', upstream)
      .where('ct.tag', 'is', null)
      .execute();
    const hostedKeys = new Set(hosted.map((r) => `${r.repository}@${r.digest}`));
    return rows.map((r) => ({
      repository: r.repository,
      digest: r.digest,
      lastPulledAt: r.last_pulled_at,
      pushedAt: r.pushed_at ?? r.created_at,
      hostedTag: hostedKeys.has(`${r.repository}@${r.digest}`),
    }));
  }

  async cachedItemSizes(upstream: string): Promise<CachedItemSize[]> {
    const rows = await this.db
      .selectFrom('cached_items as c')
      .leftJoin('blobs as b', 'b.digest', 'c.digest')
      .select(['c.repository', 'c.digest', 'b.size'])
      .where('c.upstream', '=', upstream)
      .execute();
    return rows.map((r) => ({ repository: r.repository, digest: r.digest, size: Number(r.size ?? 0) }));
  }

  async evictCachedManifest(
    repository: string,
    digest: string,
    seen: { readonly lastPulledAt: string; readonly pushedAt: string },
    pushedBefore: string,
  ): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      // The lock first, as deleteUntaggedManifest takes it (manifest-removal.ts).
      const manifest = await lockManifest(trx, repository, digest);
      if (manifest === undefined) return false;
      const pushedAt = manifest.pushedAt;
      if (pushedAt > seen.pushedAt || pushedAt >= pushedBefore) return false;
      // Its record's row too (after the manifest's, the order a cached push writes them in), so
      // a pull recorded meanwhile either committed before the read below or waits for this one.
      await trx
        .updateTable('cached_items')
        .set((eb) => ({ last_pulled_at: eb.ref('last_pulled_at') }))
        .where('repository', '=', repository)
        .where('digest', '=', digest)
        .execute();
      const item = await trx
        .selectFrom('cached_items')
        .select('last_pulled_at')
        .where('repository', '=', repository)
        .where('digest', '=', digest)
        .executeTakeFirst();
      if (!item || item.last_pulled_at > seen.lastPulledAt) return false;
      // A tag with no cached_tags row naming this manifest was pushed here: hosted, it stays.
      const tags = await trx
        .selectFrom('tags as t')
        .leftJoin('cached_tags as ct', (join) =>
          join
            .onRef('ct.repository', '=', 't.repository')
            .onRef('ct.tag', '=', 't.name')
            .onRef('ct.manifest_digest', '=', 't.manifest_digest'),
        )
        .select(['t.name', 'ct.tag as cachedTag'])
        .where('t.repository', '=', repository)
        .where('t.manifest_digest', '=', digest)
        .execute();
      if (tags.some((t) => t.cachedTag === null)) return false;
      if (await listedByIndex(trx, repository, digest)) return false;
      await removeManifestRows(trx, repository, digest);
      await deleteTagsInOrder(
        trx,
        repository,
        digest,
        tags.map((t) => t.name),
      );
      await trx.deleteFrom('cached_tags').where('repository', '=', repository).where('manifest_digest', '=', digest).execute();
      return true;
    });
  }
}
