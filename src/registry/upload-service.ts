// Blob uploads: start, append chunks, report status, complete with digest verification, cancel,
// and purge abandoned ones. Upload state lives in the index (the session) and the blob store
// (the bytes so far), so an upload survives a restart and can continue on another replica. The
// running SHA-256 of each upload is kept in memory only as a cache: when it is missing (after a
// restart, or for sha512) the bytes are read back and hashed at completion.
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { PathNotFoundError, RegistryError } from '../errors/index.js';
import type { BlobIndex, UploadIndex, UploadRecord } from '../metadata/index.js';
import { Digest, type ByteRange, type RepositoryName } from '../oci/index.js';
import type { StorageDriver, StorageWriter } from '../storage/driver.js';
import type { BlobUploads, ChunkOptions, CompleteOptions, UploadStatus } from './interfaces.js';
import type { RegistryOptions } from './options.js';
import { blobKey, isValidUploadId, uploadDataKey, uploadFolderKey } from './paths.js';

/**
 * How stale an upload's recorded last activity may get. Rewriting it for every chunk would
 * cost a database commit per PATCH; a tenth of the purge age (at most a minute) keeps an upload
 * that is still receiving chunks far from being purged.
 */
function activityIntervalMs(purgeAgeMs: number | undefined): number {
  return Math.min(60_000, (purgeAgeMs ?? Number.POSITIVE_INFINITY) / 10);
}

interface RunningHash {
  readonly hash: Hash;
  /** Bytes hashed so far; the hash is usable only while this equals the upload's size. */
  offset: number;
}

/** complete()'s onVerified with the digest it waits for, as write() checks it. */
interface Verification {
  readonly digest: Digest;
  readonly onVerified: () => void;
}

export class UploadService implements BlobUploads {
  private readonly runningHashes = new Map<string, RunningHash>();
  /** Serialises requests on one upload within this process. */
  private readonly locks = new Map<string, Promise<unknown>>();

  private readonly activityIntervalMs: number;
  private readonly now: () => number;

  constructor(
    private readonly storage: StorageDriver,
    private readonly metadata: UploadIndex & Pick<BlobIndex, 'addBlobToRepository' | 'unlinkBlob'>,
    options: Pick<RegistryOptions, 'uploadPurgeAgeMs' | 'now'> = {},
  ) {
    this.activityIntervalMs = activityIntervalMs(options.uploadPurgeAgeMs);
    this.now = options.now ?? Date.now;
  }

  async start(repository: RepositoryName): Promise<UploadStatus> {
    const id = randomUUID();
    await this.metadata.createUpload(id, repository, new Date(this.now()));
    this.runningHashes.set(id, { hash: createHash('sha256'), offset: 0 });
    return { id, repository, size: 0 };
  }

  /**
   * Waits for a chunk in flight in this process to settle: the bytes of a first chunk appear
   * only when its writer closes, and a client that lost its connection asks for the offset to
   * resume from, which must count what that chunk kept.
   */
  async status(repository: RepositoryName, id: string): Promise<UploadStatus> {
    return this.withLock(id, async () => {
      await this.session(repository, id);
      return { id, repository, size: await this.currentSize(id) };
    });
  }

  /** Appends a chunk; returns the new status. */
  async append(
    repository: RepositoryName,
    id: string,
    chunk: AsyncIterable<Uint8Array>,
    options: ChunkOptions = {},
  ): Promise<UploadStatus> {
    return this.withLock(id, async () => {
      const upload = await this.session(repository, id);
      const size = await this.write(id, await this.currentSize(id), chunk, options, 'close');
      const now = this.now();
      if (now - Date.parse(upload.updatedAt) >= this.activityIntervalMs) await this.metadata.touchUpload(id, new Date(now));
      return { id, repository, size };
    });
  }

  /**
   * Appends the optional last chunk, verifies the digest and makes the blob visible in the
   * repository. On a digest mismatch the upload is removed and DIGEST_INVALID thrown.
   */
  async complete(
    repository: RepositoryName,
    id: string,
    digest: Digest,
    lastChunk: AsyncIterable<Uint8Array> | undefined,
    options: CompleteOptions = {},
  ): Promise<{ digest: Digest; size: number }> {
    return this.withLock(id, async () => {
      await this.session(repository, id);
      const stored = await this.storedSize(id);
      if (lastChunk && stored === undefined) return this.completeAtContentAddress(repository, id, digest, lastChunk, options);
      const verification = options.onVerified && { digest, onVerified: options.onVerified };
      const size = lastChunk ? await this.write(id, stored ?? 0, lastChunk, options, 'commit', verification) : (stored ?? 0);
      const actual = await this.digestOf(id, digest.algorithm, size);
      if (!actual.equals(digest)) {
        await this.remove(id);
        throw new RegistryError('DIGEST_INVALID', { expected: digest.toString(), actual: actual.toString() });
      }
      const moved = await this.commitBlob(id, digest, size);
      await this.metadata.addBlobToRepository(repository, digest.toString(), size, id);
      // Bytes this request did not move there may have been collected between the check in
      // commitBlob and the index write: once the link is in, GC keeps them, so put them back now.
      if (!moved && !(await this.isStored(digest, size))) await this.placeBytes(id, digest, size);
      await this.removeBytes(id);
      return { digest, size };
    });
  }

  async cancel(repository: RepositoryName, id: string): Promise<void> {
    await this.withLock(id, async () => {
      await this.session(repository, id);
      await this.remove(id);
    });
  }

  /**
   * Removes uploads untouched for longer than maxIdleMs (only lists them on a dry run); returns
   * their ids. An aborted signal stops it between two uploads.
   */
  async purgeIdle(maxIdleMs: number, dryRun = false, signal?: AbortSignal): Promise<string[]> {
    const idle = await this.metadata.listUploadsIdleSince(new Date(this.now() - maxIdleMs));
    if (!dryRun) {
      for (const upload of idle) {
        signal?.throwIfAborted();
        await this.withLock(upload.id, () => this.remove(upload.id));
      }
    }
    return idle.map((u) => u.id);
  }

  private async session(repository: RepositoryName, id: string): Promise<UploadRecord> {
    const upload = isValidUploadId(id) ? await this.metadata.findUpload(id) : undefined;
    if (!upload || upload.repository !== repository) {
      throw new RegistryError('BLOB_UPLOAD_UNKNOWN', { upload: id.slice(0, 100) });
    }
    return upload;
  }

  private async currentSize(id: string): Promise<number> {
    return (await this.storedSize(id)) ?? 0;
  }

  /** Bytes of the upload in the store; undefined while none were ever written. */
  private async storedSize(id: string): Promise<number | undefined> {
    try {
      return (await this.storage.stat(uploadDataKey(id))).size;
    } catch (error) {
      if (error instanceof PathNotFoundError) return undefined;
      throw error;
    }
  }

  /**
   * Streams a chunk into the upload's bytes, keeping the running hash in step. A PATCH ends
   * with close() (durable, and cheap to continue); the last chunk of a PUT with commit(), before
   * which `verification` is told when the running hash already shows the digest matches.
   */
  private async write(
    id: string,
    size: number,
    chunk: AsyncIterable<Uint8Array>,
    options: ChunkOptions,
    finish: 'close' | 'commit',
    verification?: Verification,
  ): Promise<number> {
    assertRangeStart(options.range, size);
    let running = this.runningHashes.get(id);
    if (running && running.offset !== size) {
      this.runningHashes.delete(id);
      running = undefined;
    }
    // The first chunk creates the content; later ones continue it (an S3 multipart upload, say).
    const writer = await this.storage.writer(uploadDataKey(id), {
      append: size > 0,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    try {
      for await (const piece of chunk) {
        await writer.write(piece);
        if (running) {
          running.hash.update(piece);
          running.offset += piece.length;
        }
      }
      // An HTTP/2 stream reset ends the body as if it were complete; the signal tells them apart.
      options.signal?.throwIfAborted();
      assertRangeLength(options.range, writer.size - size);
      if (verification && running && running.offset === writer.size && verification.digest.algorithm === 'sha256') {
        if (Digest.fromHash('sha256', running.hash.copy()).equals(verification.digest)) verification.onVerified();
      }
      await (finish === 'commit' ? writer.commit() : writer.close());
      return writer.size;
    } catch (error) {
      // Keep the bytes that arrived (the client may resume), but the running hash may no longer
      // match them exactly: drop it and re-read at completion.
      this.runningHashes.delete(id);
      await writer.close().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Completes an upload that has stored nothing yet with the whole blob in one request (how most clients push small
   * layers): the bytes go straight to their content address, in a new writer whose content
   * appears there only once committed, and it commits only if the hash matches. Compared with
   * writing the upload's own file and moving it, this saves creating, syncing and removing the
   * upload's folder: about half the file-system calls of a small layer. If the request fails,
   * nothing is kept and the (empty) upload can be completed again.
   */
  private async completeAtContentAddress(
    repository: RepositoryName,
    id: string,
    digest: Digest,
    body: AsyncIterable<Uint8Array>,
    options: CompleteOptions,
  ): Promise<{ digest: Digest; size: number }> {
    assertRangeStart(options.range, 0);
    this.runningHashes.delete(id);
    // Claimed before the bytes land at their address (commit() waits for it): garbage
    // collection then leaves them (and any bytes already there) alone until the index links
    // them, whatever its grace period. The claim's commit and fsync run while the body arrives.
    const claimed = this.metadata.claimUploadDigest(id, digest.toString(), new Date(this.now()));
    claimed.catch(() => undefined); // awaited on every path below
    const hash = createHash(digest.algorithm);
    let writer: StorageWriter;
    try {
      writer = await this.storage.writer(blobKey(digest), {
        append: false,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      await claimed.catch(() => undefined);
      throw error;
    }
    try {
      for await (const piece of body) {
        await writer.write(piece);
        hash.update(piece);
      }
      options.signal?.throwIfAborted();
      assertRangeLength(options.range, writer.size);
      const actual = Digest.fromHash(digest.algorithm, hash);
      if (!actual.equals(digest)) {
        throw new RegistryError('DIGEST_INVALID', { expected: digest.toString(), actual: actual.toString() });
      }
      options.onVerified?.();
      await claimed;
      await writer.commit();
    } catch (error) {
      await writer.cancel().catch(() => undefined);
      await claimed.catch(() => undefined);
      // As below: an upload whose bytes did not match its digest is gone.
      if (error instanceof RegistryError && error.errorName === 'DIGEST_INVALID') await this.remove(id);
      throw error;
    }
    await this.metadata.addBlobToRepository(repository, digest.toString(), writer.size, id);
    if (!(await this.isStored(digest, writer.size))) {
      // Gone despite the claim (an operator deleted files by hand?): the link must not stay
      // pointing at nothing, and the client pushes again.
      await this.metadata.unlinkBlob(repository, digest.toString());
      throw new RegistryError('BLOB_UPLOAD_INVALID', { reason: 'the blob vanished from storage while it was being pushed; push it again' });
    }
    return { digest, size: writer.size };
  }

  private async digestOf(id: string, algorithm: Digest['algorithm'], size: number): Promise<Digest> {
    const running = this.runningHashes.get(id);
    if (algorithm === 'sha256' && running && running.offset === size) {
      this.runningHashes.delete(id);
      return Digest.fromHash('sha256', running.hash);
    }
    const hash = createHash(algorithm);
    if (size > 0) {
      for await (const piece of await this.storage.reader(uploadDataKey(id))) hash.update(piece as Buffer);
    }
    return Digest.fromHash(algorithm, hash);
  }

  /**
   * Moves verified bytes to their content address, unless identical bytes are already there;
   * returns whether it moved them. Before moving, the upload claims the digest, so garbage
   * collection does not delete the moved bytes (which keep the upload's old modification time
   * on a filesystem) before the index links them.
   */
  private async commitBlob(id: string, digest: Digest, size: number): Promise<boolean> {
    if (await this.isStored(digest, size)) return false;
    await this.metadata.claimUploadDigest(id, digest.toString(), new Date(this.now()));
    await this.placeBytes(id, digest, size);
    return true;
  }

  /** Whether the digest's address holds bytes of this size. */
  private async isStored(digest: Digest, size: number): Promise<boolean> {
    const existing = await this.storage.stat(blobKey(digest)).catch((error: unknown) => {
      if (error instanceof PathNotFoundError) return undefined;
      throw error;
    });
    return existing?.size === size;
  }

  /** Puts the upload's bytes at the digest's address (an empty blob needs no upload data). */
  private async placeBytes(id: string, digest: Digest, size: number): Promise<void> {
    if (size === 0) await this.storage.putContent(blobKey(digest), new Uint8Array(0));
    else await this.storage.move(uploadDataKey(id), blobKey(digest));
  }

  private async remove(id: string): Promise<void> {
    await this.removeBytes(id);
    await this.metadata.deleteUpload(id);
  }

  /** What is left of an upload in the store (its folder; the data itself may have been moved). */
  private async removeBytes(id: string): Promise<void> {
    this.runningHashes.delete(id);
    await this.storage.delete(uploadFolderKey(id)).catch((error: unknown) => {
      if (!(error instanceof PathNotFoundError)) throw error;
    });
  }

  private async withLock<T>(id: string, task: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const current = previous.then(task, task);
    const settled = current.catch(() => undefined);
    this.locks.set(id, settled);
    try {
      return await current;
    } finally {
      if (this.locks.get(id) === settled) this.locks.delete(id);
    }
  }
}

/** A chunk must start where the upload ends (its Content-Range, when it has one). */
function assertRangeStart(range: ByteRange | undefined, size: number): void {
  if (range && range.start !== size) {
    throw new RegistryError(
      'RANGE_INVALID',
      { uploaded: size, requestedStart: range.start },
      { headers: { Range: rangeHeaderValue(size) }, message: `chunk must start at offset ${size}` },
    );
  }
}

/** A chunk with a Content-Range must have brought exactly the bytes it declared. */
function assertRangeLength(range: ByteRange | undefined, received: number): void {
  if (range && received !== range.end - range.start + 1) {
    throw new RegistryError('SIZE_INVALID', { contentRange: `${range.start}-${range.end}`, received });
  }
}

/** The Range header of upload responses: "0-<last byte>", "0-0" for an empty upload (as Distribution sends). */
export function rangeHeaderValue(size: number): string {
  return `0-${Math.max(0, size - 1)}`;
}
