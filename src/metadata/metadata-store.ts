// The metadata index: every query the registry makes, written once with Kysely in SQL that
// both SQLite and PostgreSQL run. The registry layer above never sees SQL.
import { Migrator, PostgresIntrospector, sql, type Kysely, type Transaction } from 'kysely';
import { AccountStore } from './account-store.js';
import { CacheStore, recordCachedManifest, type CachedManifestEntry } from './cache-store.js';
import { migrationProvider } from './migrations/index.js';
import { preparedQuery } from './prepared-query.js';
import type { Database, ManifestRow, UploadRow } from './schema.js';

export interface Page<T> {
  readonly items: T[];
  /** True when there are more items after the last one returned. */
  readonly hasMore: boolean;
}

export interface PageRequest {
  /** At most this many items; undefined means all. */
  readonly limit?: number | undefined;
  /** Only items lexically after this one. */
  readonly after?: string | undefined;
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
  /** What must exist in the repository for the manifest to be accepted (invariant 2); default nothing. */
  readonly mustExist?: RequiredReferences | undefined;
  /**
   * Set for a manifest fetched by the pull-through cache: its cache records (and its tag's)
   * are written in the same transaction. Hosted pushes leave it unset.
   */
  readonly cachedFrom?: CachedManifestEntry | undefined;
}

/** What deleteManifest did: 'referenced' names an index in the repository that lists the manifest. */
export type ManifestDeletion =
  | { readonly result: 'deleted' | 'unknown' }
  | { readonly result: 'referenced'; readonly index: string };

export interface RequiredReferences {
  readonly blobs: readonly string[];
  readonly manifests: readonly string[];
}

type Executor = Kysely<Database> | Transaction<Database>;

const now = (): string => new Date().toISOString();

export class MetadataStore {
  /**
   * Whether the database takes row locks (PostgreSQL; SQLite runs one write transaction at a
   * time and has no FOR UPDATE syntax). With several writers, the reference checks of a push
   * and of a blob unlink must lock the link rows, or each can pass its check before the other
   * commits.
   */
  private readonly rowLocks: boolean;

  /** Users, teams, namespaces, grants, API tokens and settings, on the same database. */
  readonly accounts: AccountStore;

  /** The pull-through cache's records (cached tags and items), on the same database. */
  readonly cache: CacheStore;

  /** The hot point lookups, compiled once for this database (prepared-query.ts). */
  private readonly lookups = {
    manifestByTag: preparedQuery(
      (db: Kysely<Database>, repository: string, tag: string) =>
        db
          .selectFrom('tags')
          .innerJoin('manifests', (join) =>
            join
              .onRef('manifests.repository', '=', 'tags.repository')
              .onRef('manifests.digest', '=', 'tags.manifest_digest'),
          )
          .selectAll('manifests')
          .where('tags.repository', '=', repository)
          .where('tags.name', '=', tag),
      2,
    ),
    manifest: preparedQuery(
      (db: Kysely<Database>, repository: string, digest: string) =>
        db.selectFrom('manifests').selectAll().where('repository', '=', repository).where('digest', '=', digest),
      2,
    ),
    repositoryBlob: preparedQuery(
      (db: Kysely<Database>, repository: string, digest: string) =>
        db
          .selectFrom('repository_blobs')
          .innerJoin('blobs', 'blobs.digest', 'repository_blobs.digest')
          .select('blobs.size')
          .where('repository_blobs.repository', '=', repository)
          .where('repository_blobs.digest', '=', digest),
      2,
    ),
  };

  constructor(private readonly db: Kysely<Database>) {
    this.rowLocks = db.introspection instanceof PostgresIntrospector;
    this.accounts = new AccountStore(db);
    this.cache = new CacheStore(db);
  }

  /** Brings the schema up to the newest migration. */
  async migrate(): Promise<void> {
    const { error, results } = await new Migrator({ db: this.db, provider: migrationProvider }).migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
      throw new Error(`metadata migration ${failed} failed: ${String(error)}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  /**
   * Runs a background job (upload purge, later garbage collection) on one replica at a time:
   * on PostgreSQL under a transaction-scoped advisory lock named after the job, skipped
   * (undefined) when another replica holds it. SQLite has a single writer process, so the job
   * simply runs.
   */
  async runExclusive<T>(job: string, run: () => Promise<T>): Promise<T | undefined> {
    if (!this.rowLocks) return run();
    return this.db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(hashtext(${job})) as locked`.execute(trx);
      return rows[0]?.locked ? run() : undefined;
    });
  }

  /** A cheap query that fails when the database is unusable (for readiness checks). */
  async ping(): Promise<void> {
    await this.db.selectFrom('repositories').select('name').limit(1).execute();
  }

  // ---- blobs

  /**
   * Records verified blob bytes and links them into a repository, in one transaction; with
   * `finishedUpload`, that upload session ends in the same transaction (one commit, one fsync,
   * instead of two per pushed layer).
   */
  async addBlobToRepository(repository: string, digest: string, size: number, finishedUpload?: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      if (finishedUpload !== undefined) await trx.deleteFrom('uploads').where('id', '=', finishedUpload).execute();
      const createdAt = now();
      await trx
        .insertInto('blobs')
        .values({ digest, size, created_at: createdAt })
        .onConflict((oc) => oc.column('digest').doNothing())
        .execute();
      await linkBlob(trx, repository, digest, createdAt);
    });
  }

  /** The blob's size if it is linked into the repository. */
  async findRepositoryBlob(repository: string, digest: string): Promise<{ size: number } | undefined> {
    const [row] = (await this.lookups.repositoryBlob(this.db, repository, digest)).rows;
    return row ? { size: Number(row.size) } : undefined;
  }

  /** Links an existing blob (from another repository) into this one; false if the blob is not known. */
  async linkExistingBlob(repository: string, digest: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const blob = await trx.selectFrom('blobs').select('digest').where('digest', '=', digest).executeTakeFirst();
      if (!blob) return false;
      await linkBlob(trx, repository, digest, now());
      return true;
    });
  }

  /** Which of these digests are blobs linked into the repository. */
  async linkedBlobDigests(repository: string, digests: readonly string[]): Promise<Set<string>> {
    return digestsIn(this.db, 'repository_blobs', repository, digests);
  }

  // ---- manifests and tags

  /**
   * Records a manifest, its references, its own blob link and its tags in one transaction, so
   * a tag never points at a manifest the index does not have. The required references are
   * checked again inside the transaction, so a blob deleted after the caller's own check
   * cannot leave an accepted manifest pointing at nothing. Returns the first missing digest
   * instead of writing anything when one is missing.
   */
  async putManifest(manifest: NewManifest): Promise<{ missing: string | undefined }> {
    return this.db.transaction().execute(async (trx) => {
      const missing =
        manifest.mustExist && (await findMissing(trx, manifest.repository, manifest.mustExist, this.rowLocks));
      if (missing !== undefined) return { missing };
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
        })
        // A no-op update rather than doNothing: it locks an existing row until commit, so a
        // concurrent deleteManifest waits for this push (and then removes its tags too) instead
        // of committing in between and leaving the tags below pointing at a deleted manifest.
        .onConflict((oc) =>
          oc.columns(['repository', 'digest']).doUpdateSet((eb) => ({ created_at: eb.ref('manifests.created_at') })),
        )
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
        await trx
          .insertInto('tags')
          .values({ repository: manifest.repository, name: tag, manifest_digest: manifest.digest, updated_at: createdAt })
          .onConflict((oc) =>
            oc.columns(['repository', 'name']).doUpdateSet({ manifest_digest: manifest.digest, updated_at: createdAt }),
          )
          .execute();
      }
      if (manifest.cachedFrom) await recordCachedManifest(trx, manifest.repository, manifest.digest, manifest.cachedFrom);
      return { missing: undefined };
    });
  }

  /** The first required blob or manifest that the repository lacks, if any. */
  async findMissingReference(repository: string, required: RequiredReferences): Promise<string | undefined> {
    return findMissing(this.db, repository, required);
  }

  async findManifest(repository: string, digest: string): Promise<ManifestRow | undefined> {
    return normaliseManifest((await this.lookups.manifest(this.db, repository, digest)).rows[0]);
  }

  async findManifestByTag(repository: string, tag: string): Promise<ManifestRow | undefined> {
    return normaliseManifest((await this.lookups.manifestByTag(this.db, repository, tag)).rows[0]);
  }

  /** Which of these digests are manifests in the repository. */
  async manifestDigests(repository: string, digests: readonly string[]): Promise<Set<string>> {
    return digestsIn(this.db, 'manifests', repository, digests);
  }

  /**
   * Removes a manifest from the repository with its references, its blob link and every tag
   * that points at it; 'unknown' when the repository has no such manifest. A manifest that an
   * index in the repository lists as a child stays (invariant 2: the index would name a missing
   * child), and the answer names that index. Referrers (manifests whose subject it is) do not
   * hold it: they refer to it, it does not contain them.
   */
  async deleteManifest(repository: string, digest: string): Promise<ManifestDeletion> {
    return this.db.transaction().execute(async (trx): Promise<ManifestDeletion> => {
      // Locked first: a push of an index naming it holds it (FOR SHARE in findMissing) and has
      // committed its references before the check below reads them; a push arriving later
      // waits, then finds the manifest gone.
      const manifest = await trx
        .selectFrom('manifests')
        .select('digest')
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
      // One by one in sorted order, the order putManifest locks tags in, so a delete and a push
      // moving several of these tags cannot deadlock.
      const tags = await trx
        .selectFrom('tags')
        .select('name')
        .where('repository', '=', repository)
        .where('manifest_digest', '=', digest)
        .execute();
      for (const tag of tags.map((t) => t.name).sort()) {
        await trx
          .deleteFrom('tags')
          .where('repository', '=', repository)
          .where('name', '=', tag)
          .where('manifest_digest', '=', digest)
          .execute();
      }
      await trx
        .deleteFrom('manifest_references')
        .where('repository', '=', repository)
        .where('manifest_digest', '=', digest)
        .execute();
      await trx.deleteFrom('repository_blobs').where('repository', '=', repository).where('digest', '=', digest).execute();
      return { result: 'deleted' };
    });
  }

  /** Removes one tag; the manifest and its other tags stay. False when there is no such tag. */
  async deleteTag(repository: string, tag: string): Promise<boolean> {
    const deleted = await this.db
      .deleteFrom('tags')
      .where('repository', '=', repository)
      .where('name', '=', tag)
      .executeTakeFirst();
    return Number(deleted.numDeletedRows) > 0;
  }

  /**
   * Unlinks a blob from the repository unless a manifest there references it (or it is a
   * manifest itself). The bytes stay in the store for other repositories and for GC.
   */
  async unlinkBlob(repository: string, digest: string): Promise<'unlinked' | 'unknown' | 'referenced'> {
    return this.db.transaction().execute(async (trx) => {
      // Locked first: a push holding it (FOR SHARE in findMissing) commits its references
      // before the check below reads them; a push arriving later finds the link gone.
      const link = await trx
        .selectFrom('repository_blobs')
        .select('digest')
        .where('repository', '=', repository)
        .where('digest', '=', digest)
        .$if(this.rowLocks, (query) => query.forUpdate())
        .executeTakeFirst();
      if (!link) return 'unknown';
      const reference = await trx
        .selectFrom('manifest_references')
        .select('manifest_digest')
        .where('repository', '=', repository)
        .where('referenced_digest', '=', digest)
        .where('kind', '=', 'blob')
        .limit(1)
        .executeTakeFirst();
      const manifest = await trx
        .selectFrom('manifests')
        .select('digest')
        .where('repository', '=', repository)
        .where('digest', '=', digest)
        .executeTakeFirst();
      if (reference || manifest) return 'referenced';
      await trx.deleteFrom('repository_blobs').where('repository', '=', repository).where('digest', '=', digest).execute();
      return 'unlinked';
    });
  }

  /** Manifests in the repository whose subject is the digest, ordered by digest. */
  async listReferrers(
    repository: string,
    subjectDigest: string,
    page: PageRequest & { artifactType?: string | undefined },
  ): Promise<Page<ManifestRow>> {
    let query = this.db
      .selectFrom('manifests')
      .selectAll()
      .where('repository', '=', repository)
      .where('subject_digest', '=', subjectDigest)
      .orderBy('digest');
    if (page.artifactType !== undefined) query = query.where('artifact_type', '=', page.artifactType);
    if (page.after !== undefined) query = query.where('digest', '>', page.after);
    if (page.limit !== undefined) query = query.limit(page.limit + 1);
    const rows = (await query.execute()).map((row) => ({ ...row, size: Number(row.size) }));
    if (page.limit === undefined || rows.length <= page.limit) return { items: rows, hasMore: false };
    return { items: rows.slice(0, page.limit), hasMore: true };
  }

  async repositoryExists(repository: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('repositories')
      .select('name')
      .where('name', '=', repository)
      .executeTakeFirst();
    return row !== undefined;
  }

  async listTags(repository: string, page: PageRequest): Promise<Page<string>> {
    let query = this.db.selectFrom('tags').select('name').where('repository', '=', repository).orderBy('name');
    if (page.after !== undefined) query = query.where('name', '>', page.after);
    if (page.limit !== undefined) query = query.limit(page.limit + 1);
    return toPage((await query.execute()).map((r) => r.name), page.limit);
  }

  /** Repositories that hold at least one manifest, in lexical order. */
  async listRepositories(page: PageRequest): Promise<Page<string>> {
    let query = this.db.selectFrom('repositories').select('name').orderBy('name');
    if (page.after !== undefined) query = query.where('name', '>', page.after);
    if (page.limit !== undefined) query = query.limit(page.limit + 1);
    return toPage((await query.execute()).map((r) => r.name), page.limit);
  }

  // ---- uploads

  async createUpload(id: string, repository: string): Promise<void> {
    const createdAt = now();
    await this.db.insertInto('uploads').values({ id, repository, created_at: createdAt, updated_at: createdAt }).execute();
  }

  async findUpload(id: string): Promise<UploadRow | undefined> {
    return this.db.selectFrom('uploads').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async touchUpload(id: string): Promise<void> {
    await this.db.updateTable('uploads').set({ updated_at: now() }).where('id', '=', id).execute();
  }

  async deleteUpload(id: string): Promise<void> {
    await this.db.deleteFrom('uploads').where('id', '=', id).execute();
  }

  /** Uploads not touched since the cutoff: abandoned, to be purged. */
  async listUploadsIdleSince(cutoff: Date): Promise<UploadRow[]> {
    return this.db.selectFrom('uploads').selectAll().where('updated_at', '<', cutoff.toISOString()).execute();
  }
}

async function linkBlob(db: Executor, repository: string, digest: string, createdAt: string): Promise<void> {
  await db
    .insertInto('repository_blobs')
    .values({ repository, digest, created_at: createdAt })
    .onConflict((oc) => oc.columns(['repository', 'digest']).doNothing())
    .execute();
}

function toPage(names: string[], limit: number | undefined): Page<string> {
  if (limit === undefined || names.length <= limit) return { items: names, hasMore: false };
  return { items: names.slice(0, limit), hasMore: true };
}

/** bigint columns come back as strings from some drivers; the layers above see numbers. */
function normaliseManifest(row: ManifestRow | undefined): ManifestRow | undefined {
  return row ? { ...row, size: Number(row.size) } : undefined;
}

async function findMissing(
  db: Executor,
  repository: string,
  required: RequiredReferences,
  lock = false,
): Promise<string | undefined> {
  const blobs = await digestsIn(db, 'repository_blobs', repository, required.blobs, lock);
  const missingBlob = required.blobs.find((digest) => !blobs.has(digest));
  if (missingBlob !== undefined) return missingBlob;
  // Locked too, so a DELETE of a child waits for this push and then sees the index's references.
  const manifests = await digestsIn(db, 'manifests', repository, required.manifests, lock);
  return required.manifests.find((digest) => !manifests.has(digest));
}

async function digestsIn(
  db: Executor,
  table: 'repository_blobs' | 'manifests',
  repository: string,
  digests: readonly string[],
  lock = false,
): Promise<Set<string>> {
  const found = new Set<string>();
  const unique = [...new Set(digests)];
  // Chunked so the number of bound parameters stays within every database's limit.
  for (let i = 0; i < unique.length; i += 500) {
    const rows = await db
      .selectFrom(table)
      .select('digest')
      .where('repository', '=', repository)
      .where('digest', 'in', unique.slice(i, i + 500))
      .$if(lock, (query) => query.forShare())
      .execute();
    for (const row of rows) found.add(row.digest);
  }
  return found;
}
