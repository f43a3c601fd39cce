// Reading blobs through a repository, and cross-repository mounts. A blob is visible in a
// repository only when the index links it there; its bytes live once in the blob store.
import type { Readable } from 'node:stream';
import { PathNotFoundError, RegistryError } from '../errors/index.js';
import type { BlobIndex } from '../metadata/index.js';
import type { ByteRange, Digest, RepositoryName } from '../oci/index.js';
import type { StorageDriver } from '../storage/driver.js';
import { blobKey } from './paths.js';
import { deletesDisabled, type RegistryOptions } from './options.js';

export interface BlobContent {
  readonly size: number;
  readonly stream: Readable;
}

export class BlobService {
  constructor(
    private readonly storage: StorageDriver,
    private readonly metadata: BlobIndex,
    private readonly options: RegistryOptions,
  ) {}

  /** The blob's size; BLOB_UNKNOWN unless it is linked into the repository. */
  async stat(repository: RepositoryName, digest: Digest): Promise<{ size: number }> {
    const blob = await this.metadata.findRepositoryBlob(repository, digest.toString());
    if (!blob) throw new RegistryError('BLOB_UNKNOWN', { digest: digest.toString() });
    return blob;
  }

  /**
   * Where the client may fetch the blob directly (storage.redirect with S3), after checking
   * that the repository has it; undefined when the store offers no redirects.
   */
  async redirectUrl(repository: RepositoryName, digest: Digest): Promise<string | undefined> {
    if (!this.storage.redirectUrl) return undefined;
    await this.stat(repository, digest);
    return this.storage.redirectUrl(blobKey(digest));
  }

  /** A stream of the blob, or of the inclusive byte range of it. */
  async open(repository: RepositoryName, digest: Digest, range?: ByteRange, signal?: AbortSignal): Promise<BlobContent> {
    const { size } = await this.stat(repository, digest);
    try {
      const stream = await this.storage.reader(blobKey(digest), {
        ...(range ? { offset: range.start, length: range.end - range.start + 1 } : {}),
        ...(signal ? { signal } : {}),
      });
      return { size, stream };
    } catch (error) {
      // Linked in the index but gone from the store: report it as unknown rather than fail.
      if (error instanceof PathNotFoundError) throw new RegistryError('BLOB_UNKNOWN', { digest: digest.toString() });
      throw error;
    }
  }

  /**
   * Links a blob that `from` has into `repository` without copying bytes. False when `from`
   * does not have it: the caller then starts an ordinary upload.
   */
  async mount(repository: RepositoryName, from: RepositoryName, digest: Digest): Promise<{ size: number } | undefined> {
    const blob = await this.metadata.findRepositoryBlob(from, digest.toString());
    if (!blob) return undefined;
    const linked = await this.metadata.linkExistingBlob(repository, digest.toString());
    return linked ? blob : undefined;
  }

  /**
   * Unlinks the blob from the repository. Its bytes stay: other repositories may link them,
   * and reclaiming space is garbage collection's job.
   */
  async delete(repository: RepositoryName, digest: Digest): Promise<void> {
    if (!this.options.deleteEnabled) throw deletesDisabled();
    const result = await this.metadata.unlinkBlob(repository, digest.toString());
    if (result === 'unknown') throw new RegistryError('BLOB_UNKNOWN', { digest: digest.toString() });
    if (result === 'referenced') throw new RegistryError('BLOB_REFERENCED', { digest: digest.toString() });
  }
}
