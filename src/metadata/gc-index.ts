// Garbage collection in the index: finding what nothing reaches any more, and removing it one
// item at a time under the same locks a push takes, re-checking inside the transaction that the
// item is still unreachable and older than the grace period. Lists are only candidates: a push
// may reach an item between the listing and its removal, and the removal then keeps it.
//
// Mutual exclusion with pushes, per item:
// - PostgreSQL: a link's or manifest's row is locked by a no-op update before the checks (a
//   push's reference check holds those rows FOR SHARE, so one of the two waits for the other);
//   a blob's bytes are guarded by an advisory lock on its digest, which GC takes exclusively and
//   every transaction that records the blob (upload completion, mount, manifest push, upload
//   claim) takes shared (lockBlobShared in links.ts).
// - SQLite: the first statement of each removal is a write, so the transaction holds the
//   database's write lock from its start and every later read sees the latest commit (a
//   deferred transaction that read first could not then write if another process had
//   committed meanwhile). Writers in the server and in `berth gc` take turns.
import { sql, type Kysely } from 'kysely';
import { CacheEvictionQueries, type CacheEvictionIndex } from './cache-eviction-index.js';
import { BLOB_LOCK_SPACE, type Executor } from './links.js';
import { listedByIndex, lockManifest, removeManifestRows } from './manifest-removal.js';
import type { Database } from './schema.js';

/** A blob record without any repository link: its bytes may go. */
export interface UnlinkedBlob {
  readonly digest: string;
  readonly size: number;
}

/** A manifest of a repository as GC's mark phase sees it. */
export interface ManifestNode {
  readonly digest: string;
  readonly pushedAt: string;
  readonly subjectDigest: string | undefined;
  readonly tagged: boolean;
  /** Child manifests (of an index). */
  readonly children: readonly string[];
  /** Blobs it references (config and layers). */
  readonly blobs: readonly string[];
}

/** A repository's link to a blob, with when it was last made. */
export interface LinkRecord {
  readonly digest: string;
  readonly linkedAt: string;
}

/** What happened to a blob GC tried to delete. */
export type BlobRemoval = 'deleted' | 'kept';

/** What GC asks of the index. Cutoffs are ISO-8601 times: only what is older may go. */
export interface GcIndex {
  /** The pull-through cache's content per upstream, and its re-checking eviction (run before the mark phase). */
  readonly cache: CacheEvictionIndex;
  /** Repositories in name order, a page at a time after `after`. */
  gcRepositories(after: string | undefined, limit: number): Promise<string[]>;
  /** Every manifest of a repository with its tags, subject and children (the mark phase's graph). */
  manifestGraph(repository: string): Promise<ManifestNode[]>;
  /**
   * Deletes a manifest only if, inside the transaction, it is still untagged, pushed before the
   * cutoff, listed by no index of the repository, and not a referrer of a manifest still in the
   * repository. Returns whether it was deleted.
   */
  deleteUntaggedManifest(repository: string, digest: string, pushedBefore: string): Promise<boolean>;
  /** Every blob link of a repository. */
  repositoryLinks(repository: string): Promise<LinkRecord[]>;
  /** How many repositories link each of these digests. */
  linkCounts(digests: readonly string[]): Promise<Map<string, number>>;
  /** Removes the link if it is still unreferenced and older than the cutoff. */
  unlinkUnreferenced(repository: string, digest: string, linkedBefore: string): Promise<boolean>;
  /** Blob records created before the cutoff that no repository links, after `after` in digest order. */
  unlinkedBlobs(createdBefore: string, after: string | undefined, limit: number): Promise<UnlinkedBlob[]>;
  /** Which of these digests have a blob record. */
  recordedBlobs(digests: readonly string[]): Promise<Set<string>>;
  /**
   * Deletes a blob (its record if any, and its bytes through `deleteBytes`) if, under the
   * digest's exclusive lock, no repository links it, no manifest has its digest, no upload is
   * moving bytes to it, and its record (if any) was created before the cutoff. deleteBytes
   * runs inside the lock and may decline (the bytes were written after the cutoff) by
   * returning false: then nothing is deleted.
   */
  deleteUnlinkedBlob(digest: string, createdBefore: string, deleteBytes: () => Promise<boolean>): Promise<BlobRemoval>;
}

/** GcIndex over the index tables. rowLocks: PostgreSQL (see MetadataStore). */
export class GcQueries implements GcIndex {
  readonly cache: CacheEvictionIndex;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly rowLocks: boolean,
  ) {
    this.cache = new CacheEvictionQueries(db);
  }

  async gcRepositories(after: string | undefined, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('repositories')
      .select('name')
      .$if(after !== undefined, (q) => q.where('name', '>', after as string))
      .orderBy('name')
      .limit(limit)
      .execute();
    return rows.map((r) => r.name);
  }

  async manifestGraph(repository: string): Promise<ManifestNode[]> {
    const manifests = await this.db
      .selectFrom('manifests')
      .select(['digest', 'pushed_at', 'created_at', 'subject_digest'])
      .where('repository', '=', repository)
      .execute();
    const tagged = new Set(
      (await this.db.selectFrom('tags').select('manifest_digest').where('repository', '=', repository).execute()).map(
        (t) => t.manifest_digest,
      ),
    );
    const children = new Map<string, string[]>();
    const blobs = new Map<string, string[]>();
    const references = await this.db
      .selectFrom('manifest_references')
      .select(['manifest_digest', 'referenced_digest', 'kind'])
      .where('repository', '=', repository)
      .execute();
    for (const r of references) {
      const byManifest = r.kind === 'manifest' ? children : blobs;
      const list = byManifest.get(r.manifest_digest) ?? [];
      list.push(r.referenced_digest);
      byManifest.set(r.manifest_digest, list);
    }
    return manifests.map((m) => ({
      digest: m.digest,
      pushedAt: m.pushed_at ?? m.created_at,
      subjectDigest: m.subject_digest ?? undefined,
      tagged: tagged.has(m.digest),
      children: children.get(m.digest) ?? [],
      blobs: blobs.get(m.digest) ?? [],
    }));
  }

  async deleteUntaggedManifest(repository: string, digest: string, pushedBefore: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      // The lock first (see the file header and manifest-removal.ts).
      const manifest = await lockManifest(trx, repository, digest);
      if (manifest === undefined || manifest.pushedAt >= pushedBefore) return false;
      const tag = await trx
        .selectFrom('tags')
        .select('name')
        .where('repository', '=', repository)
        .where('manifest_digest', '=', digest)
        .limit(1)
        .executeTakeFirst();
      if (tag || (await listedByIndex(trx, repository, digest))) return false;
      if (manifest.subjectDigest !== null) {
        const subject = await trx
          .selectFrom('manifests')
          .select('digest')
          .where('repository', '=', repository)
          .where('digest', '=', manifest.subjectDigest)
          .executeTakeFirst();
        if (subject) return false;
      }
      await removeManifestRows(trx, repository, digest);
      return true;
    });
  }

  async repositoryLinks(repository: string): Promise<LinkRecord[]> {
    const rows = await this.db
      .selectFrom('repository_blobs')
      .select(['digest', 'created_at'])
      .where('repository', '=', repository)
      .execute();
    return rows.map((r) => ({ digest: r.digest, linkedAt: r.created_at }));
  }

  async linkCounts(digests: readonly string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (let i = 0; i < digests.length; i += 500) {
      const rows = await this.db
        .selectFrom('repository_blobs')
        .select(['digest', (eb) => eb.fn.countAll<number>().as('links')])
        .where('digest', 'in', digests.slice(i, i + 500))
        .groupBy('digest')
        .execute();
      for (const row of rows) counts.set(row.digest, Number(row.links));
    }
    return counts;
  }

  async unlinkUnreferenced(repository: string, digest: string, linkedBefore: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      // The lock first: a push's reference check holds the link FOR SHARE, and linking again
      // updates it; either committed before the checks below, or waits and finds it gone.
      const locked = await trx
        .updateTable('repository_blobs')
        .set((eb) => ({ created_at: eb.ref('created_at') }))
        .where('repository', '=', repository)
        .where('digest', '=', digest)
        .executeTakeFirst();
      if (Number(locked.numUpdatedRows) === 0) return false;
      const link = await trx
        .selectFrom('repository_blobs')
        .select('created_at')
        .where('repository', '=', repository)
        .where('digest', '=', digest)
        .executeTakeFirstOrThrow();
      if (link.created_at >= linkedBefore) return false;
      const reference = await trx
        .selectFrom('manifest_references')
        .select('manifest_digest')
        .where('repository', '=', repository)
        .where('referenced_digest', '=', digest)
        .limit(1)
        .executeTakeFirst();
      if (reference) return false;
      const manifest = await trx
        .selectFrom('manifests')
        .select('digest')
        .where('repository', '=', repository)
        .where('digest', '=', digest)
        .executeTakeFirst();
      if (manifest) return false;
      await trx.deleteFrom('repository_blobs').where('repository', '=', repository).where('digest', '=', digest).execute();
      await trx.deleteFrom('cached_items').where('repository', '=', repository).where('digest', '=', digest).execute();
      return true;
    });
  }

  async unlinkedBlobs(createdBefore: string, after: string | undefined, limit: number): Promise<UnlinkedBlob[]> {
    const rows = await this.db
      .selectFrom('blobs as b')
      .select(['b.digest', 'b.size'])
      .where('b.created_at', '<', createdBefore)
      .$if(after !== undefined, (q) => q.where('b.digest', '>', after as string))
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('repository_blobs as rb').select('rb.digest').whereRef('rb.digest', '=', 'b.digest'))),
      )
      .orderBy('b.digest')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ digest: r.digest, size: Number(r.size) }));
  }

  async recordedBlobs(digests: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < digests.length; i += 500) {
      const rows = await this.db
        .selectFrom('blobs')
        .select('digest')
        .where('digest', 'in', digests.slice(i, i + 500))
        .execute();
      for (const row of rows) found.add(row.digest);
    }
    return found;
  }

  async deleteUnlinkedBlob(digest: string, createdBefore: string, deleteBytes: () => Promise<boolean>): Promise<BlobRemoval> {
    return this.db
      .transaction()
      .execute(async (trx) => {
        await this.lockBlobExclusive(trx, digest);
        const blob = await trx.selectFrom('blobs').select('created_at').where('digest', '=', digest).executeTakeFirst();
        if (blob && blob.created_at >= createdBefore) return 'kept';
        const link = await trx.selectFrom('repository_blobs').select('repository').where('digest', '=', digest).limit(1).executeTakeFirst();
        if (link) return 'kept';
        const manifest = await trx.selectFrom('manifests').select('repository').where('digest', '=', digest).limit(1).executeTakeFirst();
        if (manifest) return 'kept';
        const upload = await trx.selectFrom('uploads').select('id').where('digest', '=', digest).limit(1).executeTakeFirst();
        if (upload) return 'kept';
        // The record goes before the bytes: if the bytes cannot be deleted, the rollback keeps it.
        await trx.deleteFrom('blobs').where('digest', '=', digest).execute();
        if (!(await deleteBytes())) throw new KeepBlob();
        return 'deleted';
      })
      .catch((error: unknown) => {
        if (error instanceof KeepBlob) return 'kept' as const;
        throw error;
      });
  }

  /**
   * PostgreSQL: the digest's advisory lock, exclusively, until the transaction ends. SQLite:
   * a write first, which takes the database's write lock (see the file header).
   */
  private async lockBlobExclusive(trx: Executor, digest: string): Promise<void> {
    if (this.rowLocks) {
      await sql`select pg_advisory_xact_lock(${BLOB_LOCK_SPACE}, hashtext(${digest}))`.execute(trx);
      return;
    }
    await trx
      .updateTable('blobs')
      .set((eb) => ({ size: eb.ref('size') }))
      .where('digest', '=', digest)
      .execute();
  }
}

/** Thrown inside deleteUnlinkedBlob's transaction to roll it back when the bytes stay. */
class KeepBlob extends Error {}
