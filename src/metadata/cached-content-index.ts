// What the pull-through cache records in the metadata database: which tags came from which
// upstream and when that upstream was last asked, and which manifests and blobs of a repository
// were fetched from an upstream and when they were last pulled (for eviction by garbage
// collection later). Also the two read-only lookups the cache needs outside its own tables.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

export interface CachedTagRecord {
  readonly repository: string;
  readonly tag: string;
  readonly upstream: string;
  /** The manifest the upstream gave for the tag when it was last fetched. */
  readonly manifestDigest: string;
  readonly checkedAt: Date;
}

export interface CachedItemRecord {
  readonly repository: string;
  readonly digest: string;
  readonly upstream: string;
  readonly lastPulledAt: Date;
}

/** A manifest fetched from an upstream, recorded in the same transaction that stores it. */
export interface CachedManifestEntry {
  readonly upstream: string;
  /** The tag the upstream resolved, if it was fetched by tag. */
  readonly tag?: string | undefined;
  readonly at: Date;
}

/**
 * Records a cached manifest (and its tag) inside the caller's transaction, so a tag moved to
 * upstream content is never left looking like a hosted one after a crash.
 */
export async function recordCachedManifest(db: Executor, repository: string, digest: string, entry: CachedManifestEntry): Promise<void> {
  const at = entry.at.toISOString();
  await upsertItem(db, repository, digest, entry.upstream, at);
  if (entry.tag !== undefined) {
    await db
      .insertInto('cached_tags')
      .values({ repository, tag: entry.tag, upstream: entry.upstream, manifest_digest: digest, checked_at: at })
      .onConflict((oc) =>
        oc.columns(['repository', 'tag']).doUpdateSet({ upstream: entry.upstream, manifest_digest: digest, checked_at: at }),
      )
      .execute();
  }
}

async function upsertItem(db: Executor, repository: string, digest: string, upstream: string, at: string): Promise<void> {
  await db
    .insertInto('cached_items')
    .values({ repository, digest, upstream, last_pulled_at: at })
    .onConflict((oc) => oc.columns(['repository', 'digest']).doUpdateSet({ upstream, last_pulled_at: at }))
    .execute();
}

/** The cached_tags and cached_items tables, and the two lookups the pull-through cache makes outside them. */
export class CachedContentIndex {
  constructor(private readonly db: Kysely<Database>) {}

  async findTag(repository: string, tag: string): Promise<CachedTagRecord | undefined> {
    const row = await this.db
      .selectFrom('cached_tags')
      .selectAll()
      .where('repository', '=', repository)
      .where('tag', '=', tag)
      .executeTakeFirst();
    return (
      row && {
        repository: row.repository,
        tag: row.tag,
        upstream: row.upstream,
        manifestDigest: row.manifest_digest,
        checkedAt: new Date(row.checked_at),
      }
    );
  }

  /** The upstream confirmed the tag still names the same manifest. False when there is no such cached tag. */
  async markTagChecked(repository: string, tag: string, checkedAt: Date): Promise<boolean> {
    const result = await this.db
      .updateTable('cached_tags')
      .set({ checked_at: checkedAt.toISOString() })
      .where('repository', '=', repository)
      .where('tag', '=', tag)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async deleteTag(repository: string, tag: string): Promise<boolean> {
    const result = await this.db.deleteFrom('cached_tags').where('repository', '=', repository).where('tag', '=', tag).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Records (or refreshes) an item fetched from an upstream. */
  async recordItem(repository: string, digest: string, upstream: string, pulledAt: Date): Promise<void> {
    await upsertItem(this.db, repository, digest, upstream, pulledAt.toISOString());
  }

  /**
   * Moves an item's last pull forward; false when the item is not a cached one (hosted content
   * has no row, and none is created). Never moves it backwards.
   */
  async touchItem(repository: string, digest: string, pulledAt: Date): Promise<boolean> {
    const at = pulledAt.toISOString();
    const result = await this.db
      .updateTable('cached_items')
      .set({ last_pulled_at: at })
      .where('repository', '=', repository)
      .where('digest', '=', digest)
      .where('last_pulled_at', '<', at)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async findItem(repository: string, digest: string): Promise<CachedItemRecord | undefined> {
    const row = await this.db
      .selectFrom('cached_items')
      .selectAll()
      .where('repository', '=', repository)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return row && toItem(row);
  }

  /** Items last pulled before the cutoff, least recently pulled first: candidates for eviction. */
  async listItemsPulledBefore(cutoff: Date, limit: number): Promise<CachedItemRecord[]> {
    const rows = await this.db
      .selectFrom('cached_items')
      .selectAll()
      .where('last_pulled_at', '<', cutoff.toISOString())
      .orderBy('last_pulled_at')
      .orderBy('repository')
      .orderBy('digest')
      .limit(limit)
      .execute();
    return rows.map(toItem);
  }

  async deleteItem(repository: string, digest: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('cached_items')
      .where('repository', '=', repository)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** The size of verified bytes the blob store holds under this digest, in any repository. */
  async storedBlobSize(digest: string): Promise<number | undefined> {
    const row = await this.db.selectFrom('blobs').select('size').where('digest', '=', digest).executeTakeFirst();
    return row ? Number(row.size) : undefined;
  }

  /** Whether a manifest of the repository references the digest (as a layer, config or child). */
  async isReferenced(repository: string, digest: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('manifest_references')
      .select('manifest_digest')
      .where('repository', '=', repository)
      .where('referenced_digest', '=', digest)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }
}

function toItem(row: { repository: string; digest: string; upstream: string; last_pulled_at: string }): CachedItemRecord {
  return { repository: row.repository, digest: row.digest, upstream: row.upstream, lastPulledAt: new Date(row.last_pulled_at) };
}
