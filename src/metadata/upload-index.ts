// Upload sessions in the index: which repository an upload in progress belongs to and when it
// was last active. Its bytes so far live in the blob store under its upload key.
import type { Kysely, Selectable } from 'kysely';
import { lockBlobShared, now } from './links.js';
import type { Database, UploadsTable } from './schema.js';

export interface UploadRecord {
  readonly id: string;
  readonly repository: string;
  /** ISO-8601. */
  readonly createdAt: string;
  /** ISO-8601: the last recorded activity, for purging abandoned uploads. */
  readonly updatedAt: string;
}

/** What the registry asks of the index about upload sessions. */
export interface UploadIndex {
  /**
   * A new session, created (and last active) at `at`, now by default. With `digest`, a session
   * that claims the digest from the start (see claimUploadDigest): a manifest push holds one
   * while it writes its bytes, and ends it in the index transaction that records the manifest.
   */
  createUpload(id: string, repository: string, at?: Date, digest?: string): Promise<void>;
  findUpload(id: string): Promise<UploadRecord | undefined>;
  /** Records activity at `at`, now by default. */
  touchUpload(id: string, at?: Date): Promise<void>;
  deleteUpload(id: string): Promise<void>;
  /**
   * Records that the upload is about to move its verified bytes to the digest's address, so
   * garbage collection leaves bytes there alone until the blob is in the index (or the upload
   * is gone). Also counts as activity.
   */
  claimUploadDigest(id: string, digest: string, at?: Date): Promise<void>;
  /** Uploads not touched since the cutoff: abandoned, to be purged. */
  listUploadsIdleSince(cutoff: Date): Promise<UploadRecord[]>;
}

/** UploadIndex over the uploads table. */
export class UploadQueries implements UploadIndex {
  /** rowLocks: whether the database takes row locks (see MetadataStore). */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly rowLocks: boolean,
  ) {}

  async createUpload(id: string, repository: string, at?: Date, digest?: string): Promise<void> {
    const createdAt = at === undefined ? now() : at.toISOString();
    const row = { id, repository, created_at: createdAt, updated_at: createdAt };
    if (digest === undefined) {
      await this.db.insertInto('uploads').values(row).execute();
      return;
    }
    await this.db.transaction().execute(async (trx) => {
      await lockBlobShared(trx, digest, this.rowLocks);
      await trx
        .insertInto('uploads')
        .values({ ...row, digest })
        .execute();
    });
  }

  async findUpload(id: string): Promise<UploadRecord | undefined> {
    const row = await this.db.selectFrom('uploads').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toUploadRecord(row);
  }

  async touchUpload(id: string, at?: Date): Promise<void> {
    const updatedAt = at === undefined ? now() : at.toISOString();
    await this.db.updateTable('uploads').set({ updated_at: updatedAt }).where('id', '=', id).execute();
  }

  async claimUploadDigest(id: string, digest: string, at?: Date): Promise<void> {
    const updatedAt = at === undefined ? now() : at.toISOString();
    await this.db.transaction().execute(async (trx) => {
      await lockBlobShared(trx, digest, this.rowLocks);
      await trx.updateTable('uploads').set({ digest, updated_at: updatedAt }).where('id', '=', id).execute();
    });
  }

  async deleteUpload(id: string): Promise<void> {
    await this.db.deleteFrom('uploads').where('id', '=', id).execute();
  }

  async listUploadsIdleSince(cutoff: Date): Promise<UploadRecord[]> {
    const rows = await this.db.selectFrom('uploads').selectAll().where('updated_at', '<', cutoff.toISOString()).execute();
    return rows.map(toUploadRecord);
  }
}

function toUploadRecord(row: Selectable<UploadsTable>): UploadRecord {
  return { id: row.id, repository: row.repository, createdAt: row.created_at, updatedAt: row.updated_at };
}
