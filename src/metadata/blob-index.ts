// Blobs in the index: verified bytes recorded once (blobs) and linked into the repositories that
// may read them (repository_blobs). The bytes themselves live in the blob store.
import type { Kysely } from 'kysely';
import { recordChange, type ChangeRecorder } from './event-outbox.js';
import { digestsIn, linkBlob, lockBlobShared, now } from './links.js';
import { preparedQuery } from './prepared-query.js';
import type { Database } from './schema.js';

/** What the registry asks of the index about blobs. */
export interface BlobIndex {
  /**
   * Records verified blob bytes and links them into a repository, in one transaction; with
   * `finishedUpload`, that upload session ends in the same transaction (one commit, one fsync,
   * instead of two per pushed layer).
   */
  addBlobToRepository(repository: string, digest: string, size: number, finishedUpload?: string): Promise<void>;
  /** The blob's size if it is linked into the repository. */
  findRepositoryBlob(repository: string, digest: string): Promise<{ size: number } | undefined>;
  /** Links an existing blob (from another repository) into this one; false if the blob is not known. */
  linkExistingBlob(repository: string, digest: string, record?: ChangeRecorder): Promise<boolean>;
  /** Which of these digests are blobs linked into the repository. */
  linkedBlobDigests(repository: string, digests: readonly string[]): Promise<Set<string>>;
  /**
   * Unlinks a blob from the repository unless a manifest there references it (or it is a
   * manifest itself). The bytes stay in the store for other repositories and for GC.
   */
  unlinkBlob(repository: string, digest: string, record?: ChangeRecorder): Promise<'unlinked' | 'unknown' | 'referenced'>;
}

/** BlobIndex over the blobs and repository_blobs tables. */
export class BlobQueries implements BlobIndex {
  /** The hot lookup (every blob HEAD and GET), compiled once for this database (prepared-query.ts). */
  private readonly repositoryBlob = preparedQuery(
    (db: Kysely<Database>, repository: string, digest: string) =>
      db
        .selectFrom('repository_blobs')
        .innerJoin('blobs', 'blobs.digest', 'repository_blobs.digest')
        .select('blobs.size')
        .where('repository_blobs.repository', '=', repository)
        .where('repository_blobs.digest', '=', digest),
    2,
  );

  /** rowLocks: whether the database takes row locks (see MetadataStore). */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly rowLocks: boolean,
  ) {}

  async addBlobToRepository(repository: string, digest: string, size: number, finishedUpload?: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await lockBlobShared(trx, digest, this.rowLocks);
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

  async findRepositoryBlob(repository: string, digest: string): Promise<{ size: number } | undefined> {
    const [row] = (await this.repositoryBlob(this.db, repository, digest)).rows;
    return row ? { size: Number(row.size) } : undefined;
  }

  async linkExistingBlob(repository: string, digest: string, record?: ChangeRecorder): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await lockBlobShared(trx, digest, this.rowLocks);
      const blob = await trx.selectFrom('blobs').select(['digest', 'size']).where('digest', '=', digest).executeTakeFirst();
      if (!blob) return false;
      await linkBlob(trx, repository, digest, now());
      await recordChange(trx, record, { kind: 'mount', repository, digest, size: Number(blob.size) });
      return true;
    });
  }

  async linkedBlobDigests(repository: string, digests: readonly string[]): Promise<Set<string>> {
    return digestsIn(this.db, 'repository_blobs', repository, digests);
  }

  async unlinkBlob(repository: string, digest: string, record?: ChangeRecorder): Promise<'unlinked' | 'unknown' | 'referenced'> {
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
      await recordChange(trx, record, { kind: 'delete-blob', repository, digest });
      return 'unlinked';
    });
  }
}
