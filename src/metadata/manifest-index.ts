// Manifests in the index: each manifest of a repository with what it references (its blobs or
// child manifests) and its subject, the tags that point at it, and the referrers of a subject.
// A push is one transaction that checks its references again, so a tag never points at a
// manifest the index does not have and an accepted manifest never names a missing blob.
import type { Kysely, Selectable } from 'kysely';
import { recordCachedManifest, type CachedManifestEntry } from './cached-content-index.js';
import { recordChange, type ChangeRecorder } from './event-outbox.js';
import { digestsIn, linkBlob, lockBlobShared, now, type Executor } from './links.js';
import { deleteTagsInOrder } from './manifest-removal.js';
import { toPage, type Page, type PageRequest } from './page.js';
import { preparedQuery } from './prepared-query.js';
import type { Database, ManifestsTable } from './schema.js';

export interface ManifestRecord {
  readonly repository: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly artifactType: string | undefined;
  readonly subjectDigest: string | undefined;
  /** ISO-8601. */
  readonly createdAt: string;
}

/** A manifest listed by the referrers API, with the annotations that API shows. */
export interface ReferrerRecord extends ManifestRecord {
  readonly annotations: Readonly<Record<string, string>> | undefined;
}

export interface NewManifest {
  readonly repository: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly artifactType: string | undefined;
  readonly subjectDigest: string | undefined;
  readonly annotations?: Readonly<Record<string, string>> | undefined;
  readonly references: readonly { digest: string; kind: 'blob' | 'manifest' }[];
  /** Tags to point at this manifest (moved if they pointed elsewhere). */
  readonly tags: readonly string[];
  /**
   * Those of `tags` that must not move (immutability rules): each is written only if absent or
   * already naming this manifest, checked inside the transaction so that two pushes racing to
   * create the same tag cannot both win. If one names another manifest, nothing is written.
   */
  readonly immutableTags?: readonly string[] | undefined;
  /** What must exist in the repository for the manifest to be accepted (invariant 2); default nothing. */
  readonly mustExist?: RequiredReferences | undefined;
  /**
   * Set for a manifest fetched by the pull-through cache: its cache records (and its tag's)
   * are written in the same transaction. Hosted pushes leave it unset.
   */
  readonly cachedFrom?: CachedManifestEntry | undefined;
  /** The session that claimed the manifest's bytes against garbage collection while they were written; it ends here. */
  readonly finishedClaim?: string | undefined;
  /** Asked at the end of the transaction for the events of the push, which it then writes (event-outbox.ts). */
  readonly record?: ChangeRecorder | undefined;
}

/** What putManifest did: `missing` names a required reference the repository lacks, `immutable` a tag that may not move. */
export interface ManifestPutResult {
  readonly missing: string | undefined;
  readonly immutable?: string | undefined;
}

/** What deleteManifest did: 'referenced' names an index in the repository that lists the manifest. */
export type ManifestDeletion = { readonly result: 'deleted' | 'unknown' } | { readonly result: 'referenced'; readonly index: string };

export interface RequiredReferences {
  readonly blobs: readonly string[];
  readonly manifests: readonly string[];
}

/** What the registry asks of the index about manifests and tags. */
export interface ManifestIndex {
  /**
   * Records a manifest, its references, its own blob link and its tags in one transaction, so
   * a tag never points at a manifest the index does not have. The required references are
   * checked again inside the transaction, so a blob deleted after the caller's own check
   * cannot leave an accepted manifest pointing at nothing. Returns the first missing digest
   * instead of writing anything when one is missing, and the first immutable tag that names
   * another manifest instead of writing anything when there is one.
   */
  putManifest(manifest: NewManifest): Promise<ManifestPutResult>;
  /** The first required blob or manifest that the repository lacks, if any. */
  findMissingReference(repository: string, required: RequiredReferences): Promise<string | undefined>;
  findManifest(repository: string, digest: string): Promise<ManifestRecord | undefined>;
  findManifestByTag(repository: string, tag: string): Promise<ManifestRecord | undefined>;
  /** Which of these digests are manifests in the repository. */
  manifestDigests(repository: string, digests: readonly string[]): Promise<Set<string>>;
  /**
   * Removes a manifest from the repository with its references, its blob link and every tag
   * that points at it; 'unknown' when the repository has no such manifest. A manifest that an
   * index in the repository lists as a child stays (invariant 2: the index would name a missing
   * child), and the answer names that index. Referrers (manifests whose subject it is) do not
   * hold it: they refer to it, it does not contain them.
   */
  deleteManifest(repository: string, digest: string, record?: ChangeRecorder): Promise<ManifestDeletion>;
  /** Removes one tag; the manifest and its other tags stay. False when there is no such tag. */
  deleteTag(repository: string, tag: string, record?: ChangeRecorder): Promise<boolean>;
  /** Manifests in the repository whose subject is the digest, ordered by digest. */
  listReferrers(
    repository: string,
    subjectDigest: string,
    page: PageRequest & { artifactType?: string | undefined },
  ): Promise<Page<ReferrerRecord>>;
}

/** The columns a ManifestRecord is made of (annotations only for referrers). */
const RECORD_COLUMNS = [
  'manifests.repository',
  'manifests.digest',
  'manifests.media_type',
  'manifests.size',
  'manifests.artifact_type',
  'manifests.subject_digest',
  'manifests.created_at',
] as const;

/** ManifestIndex over the manifests, manifest_references and tags tables. */
export class ManifestQueries implements ManifestIndex {
  /** The hot point lookups, compiled once for this database (prepared-query.ts). */
  private readonly lookups = {
    manifestByTag: preparedQuery(
      (db: Kysely<Database>, repository: string, tag: string) =>
        db
          .selectFrom('tags')
          .innerJoin('manifests', (join) =>
            join.onRef('manifests.repository', '=', 'tags.repository').onRef('manifests.digest', '=', 'tags.manifest_digest'),
          )
          .select(RECORD_COLUMNS)
          .where('tags.repository', '=', repository)
          .where('tags.name', '=', tag),
      2,
    ),
    manifest: preparedQuery(
      (db: Kysely<Database>, repository: string, digest: string) =>
        db.selectFrom('manifests').select(RECORD_COLUMNS).where('repository', '=', repository).where('digest', '=', digest),
      2,
    ),
  };

  /** rowLocks: whether the database takes row locks (see MetadataStore). */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly rowLocks: boolean,
  ) {}

  async putManifest(manifest: NewManifest): Promise<ManifestPutResult> {
    try {
      return await this.writeManifest(manifest);
    } catch (error) {
      // Thrown inside the transaction to roll back what it had written.
      if (error instanceof ImmutableTagHeld) return { missing: undefined, immutable: error.tag };
      throw error;
    }
  }

  private async writeManifest(manifest: NewManifest): Promise<ManifestPutResult> {
    const immutable = new Set(manifest.immutableTags);
    return this.db.transaction().execute(async (trx) => {
      // The manifest's bytes are a blob too: garbage collection must not delete them meanwhile.
      await lockBlobShared(trx, manifest.digest, this.rowLocks);
      if (manifest.finishedClaim !== undefined) await trx.deleteFrom('uploads').where('id', '=', manifest.finishedClaim).execute();
      const missing = manifest.mustExist && (await findMissing(trx, manifest.repository, manifest.mustExist, this.rowLocks));
      if (missing !== undefined) return { missing };
      // The push's events first: anything below that fails (an immutable tag held) rolls them back with the push.
      await recordChange(trx, manifest.record, {
        kind: 'push',
        repository: manifest.repository,
        digest: manifest.digest,
        mediaType: manifest.mediaType,
        size: manifest.size,
        tags: [...new Set(manifest.tags)],
      });
      const createdAt = now();
      await trx
        .insertInto('repositories')
        .values({ name: manifest.repository, created_at: createdAt })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      await trx
        .insertInto('blobs')
        .values({ digest: manifest.digest, size: manifest.size, created_at: createdAt })
        .onConflict((oc) => oc.column('digest').doNothing())
        .execute();
      await trx
        .insertInto('manifests')
        .values({
          repository: manifest.repository,
          digest: manifest.digest,
          media_type: manifest.mediaType,
          size: manifest.size,
          artifact_type: manifest.artifactType ?? null,
          subject_digest: manifest.subjectDigest ?? null,
          annotations: manifest.annotations ? JSON.stringify(manifest.annotations) : null,
          created_at: createdAt,
          pushed_at: createdAt,
        })
        // An update rather than doNothing: it records the push (GC's grace period and retention
        // count from it) and locks an existing row until commit, so a concurrent deleteManifest
        // (or GC) waits for this push (and then removes its tags too) instead of committing in
        // between and leaving the tags below pointing at a deleted manifest.
        .onConflict((oc) => oc.columns(['repository', 'digest']).doUpdateSet({ pushed_at: createdAt }))
        .execute();
      // After the manifest row: if a delete held it, the delete has committed by now and removed
      // the old link, so this inserts a new one.
      await linkBlob(trx, manifest.repository, manifest.digest, createdAt);
      const uniqueReferences = new Map(manifest.references.map((r) => [r.digest, r.kind]));
      if (uniqueReferences.size > 0) {
        await trx
          .insertInto('manifest_references')
          .values(
            [...uniqueReferences].map(([digest, kind]) => ({
              repository: manifest.repository,
              manifest_digest: manifest.digest,
              referenced_digest: digest,
              kind,
            })),
          )
          .onConflict((oc) => oc.columns(['repository', 'manifest_digest', 'referenced_digest']).doNothing())
          .execute();
      }
      // Sorted, so concurrent pushes lock tag rows in the same order and cannot deadlock.
      for (const tag of [...new Set(manifest.tags)].sort()) {
        if (immutable.has(tag)) {
          await writeImmutableTag(trx, manifest.repository, tag, manifest.digest, createdAt);
          continue;
        }
        await trx
          .insertInto('tags')
          .values({ repository: manifest.repository, name: tag, manifest_digest: manifest.digest, updated_at: createdAt })
          .onConflict((oc) => oc.columns(['repository', 'name']).doUpdateSet({ manifest_digest: manifest.digest, updated_at: createdAt }))
          .execute();
      }
      if (manifest.cachedFrom) await recordCachedManifest(trx, manifest.repository, manifest.digest, manifest.cachedFrom);
      return { missing: undefined };
    });
  }

  async findMissingReference(repository: string, required: RequiredReferences): Promise<string | undefined> {
    return findMissing(this.db, repository, required);
  }

  async findManifest(repository: string, digest: string): Promise<ManifestRecord | undefined> {
    const [row] = (await this.lookups.manifest(this.db, repository, digest)).rows;
    return row && toManifestRecord(row);
  }

  async findManifestByTag(repository: string, tag: string): Promise<ManifestRecord | undefined> {
    const [row] = (await this.lookups.manifestByTag(this.db, repository, tag)).rows;
    return row && toManifestRecord(row);
  }

  async manifestDigests(repository: string, digests: readonly string[]): Promise<Set<string>> {
    return digestsIn(this.db, 'manifests', repository, digests);
  }

  async deleteManifest(repository: string, digest: string, record?: ChangeRecorder): Promise<ManifestDeletion> {
    return this.db.transaction().execute(async (trx): Promise<ManifestDeletion> => {
      // Locked first: a push of an index naming it holds it (FOR SHARE in findMissing) and has
      // committed its references before the check below reads them; a push arriving later
      // waits, then finds the manifest gone.
      const manifest = await trx
        .selectFrom('manifests')
        .select(['digest', 'media_type', 'size'])
        .where('repository', '=', repository)
        .where('digest', '=', digest)
        .$if(this.rowLocks, (query) => query.forUpdate())
        .executeTakeFirst();
      if (!manifest) return { result: 'unknown' };
      const index = await trx
        .selectFrom('manifest_references')
        .select('manifest_digest')
        .where('repository', '=', repository)
        .where('referenced_digest', '=', digest)
        .where('kind', '=', 'manifest')
        .orderBy('manifest_digest')
        .limit(1)
        .executeTakeFirst();
      if (index) return { result: 'referenced', index: index.manifest_digest };
      await trx.deleteFrom('manifests').where('repository', '=', repository).where('digest', '=', digest).execute();
      const tags = await trx
        .selectFrom('tags')
        .select('name')
        .where('repository', '=', repository)
        .where('manifest_digest', '=', digest)
        .execute();
      await deleteTagsInOrder(
        trx,
        repository,
        digest,
        tags.map((t) => t.name),
      );
      await trx.deleteFrom('manifest_references').where('repository', '=', repository).where('manifest_digest', '=', digest).execute();
      await trx.deleteFrom('repository_blobs').where('repository', '=', repository).where('digest', '=', digest).execute();
      await recordChange(trx, record, {
        kind: 'delete-manifest',
        repository,
        digest,
        mediaType: manifest.media_type,
        size: Number(manifest.size),
        tags: tags.map((t) => t.name).sort(),
      });
      return { result: 'deleted' };
    });
  }

  async deleteTag(repository: string, tag: string, record?: ChangeRecorder): Promise<boolean> {
    if (record === undefined) {
      const deleted = await this.db.deleteFrom('tags').where('repository', '=', repository).where('name', '=', tag).executeTakeFirst();
      return Number(deleted.numDeletedRows) > 0;
    }
    // With events: the tag's manifest is read in the delete's transaction, for the event's target.
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .deleteFrom('tags')
        .where('repository', '=', repository)
        .where('name', '=', tag)
        .returning('manifest_digest')
        .executeTakeFirst();
      if (!row) return false;
      await recordChange(trx, record, { kind: 'delete-tag', repository, tag, digest: row.manifest_digest });
      return true;
    });
  }

  async listReferrers(
    repository: string,
    subjectDigest: string,
    page: PageRequest & { artifactType?: string | undefined },
  ): Promise<Page<ReferrerRecord>> {
    let query = this.db
      .selectFrom('manifests')
      .selectAll()
      .where('repository', '=', repository)
      .where('subject_digest', '=', subjectDigest)
      .orderBy('digest');
    if (page.artifactType !== undefined) query = query.where('artifact_type', '=', page.artifactType);
    if (page.after !== undefined) query = query.where('digest', '>', page.after);
    if (page.limit !== undefined) query = query.limit(page.limit + 1);
    const records = (await query.execute()).map(
      (row): ReferrerRecord => ({
        ...toManifestRecord(row),
        annotations: row.annotations === null ? undefined : (JSON.parse(row.annotations) as Record<string, string>),
      }),
    );
    return toPage(records, page.limit);
  }
}

type ManifestColumns = Pick<
  Selectable<ManifestsTable>,
  'repository' | 'digest' | 'media_type' | 'size' | 'artifact_type' | 'subject_digest' | 'created_at'
>;

/** The record of a row; bigint columns come back as strings from some drivers, so size is made a number. */
function toManifestRecord(row: ManifestColumns): ManifestRecord {
  return {
    repository: row.repository,
    digest: row.digest,
    mediaType: row.media_type,
    size: Number(row.size),
    artifactType: row.artifact_type ?? undefined,
    subjectDigest: row.subject_digest ?? undefined,
    createdAt: row.created_at,
  };
}

/** Thrown inside putManifest's transaction (and caught outside it) to undo the push. */
class ImmutableTagHeld extends Error {
  constructor(readonly tag: string) {
    super(`tag ${tag} is immutable`);
  }
}

/**
 * Creates the tag if it is absent; leaves it if it already names the digest (an idempotent
 * re-push); otherwise throws ImmutableTagHeld. On PostgreSQL the insert waits for a concurrent
 * insert of the same tag to commit and then does nothing, so the read after it sees the winner;
 * SQLite runs one write transaction at a time.
 */
async function writeImmutableTag(trx: Executor, repository: string, tag: string, digest: string, at: string): Promise<void> {
  await trx
    .insertInto('tags')
    .values({ repository, name: tag, manifest_digest: digest, updated_at: at })
    .onConflict((oc) => oc.columns(['repository', 'name']).doNothing())
    .execute();
  const current = await trx
    .selectFrom('tags')
    .select('manifest_digest')
    .where('repository', '=', repository)
    .where('name', '=', tag)
    .executeTakeFirst();
  if (current?.manifest_digest !== digest) throw new ImmutableTagHeld(tag);
}

async function findMissing(db: Executor, repository: string, required: RequiredReferences, lock = false): Promise<string | undefined> {
  const blobs = await digestsIn(db, 'repository_blobs', repository, required.blobs, lock);
  const missingBlob = required.blobs.find((digest) => !blobs.has(digest));
  if (missingBlob !== undefined) return missingBlob;
  // Locked too, so a DELETE of a child waits for this push and then sees the index's references.
  const manifests = await digestsIn(db, 'manifests', repository, required.manifests, lock);
  return required.manifests.find((digest) => !manifests.has(digest));
}
