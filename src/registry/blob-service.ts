// Reading blobs through a repository, and cross-repository mounts. A blob is visible in a
// repository only when the index links it there; its bytes live once in the blob store.
import { PathNotFoundError, RegistryError } from '../errors/index.js';
import type { BlobIndex } from '../metadata/index.js';
import type { Digest, RepositoryName } from '../oci/index.js';
import type { StorageDriver } from '../storage/driver.js';
import type { BlobContent, BlobInfo, BlobRead, BlobReader, BlobRedirect, BlobWriter, RequestScope, WriteScope } from './interfaces.js';
import { blobKey } from './paths.js';
import { deletesDisabled, type RegistryOptions } from './options.js';

const WHOLE_BLOB: BlobRead = {};

export class BlobService implements BlobReader, BlobWriter {
  constructor(
    private readonly storage: StorageDriver,
    private readonly metadata: BlobIndex,
    private readonly options: RegistryOptions,
  ) {}

  /** The blob's size; BLOB_UNKNOWN unless it is linked into the repository. */
  async stat(repository: RepositoryName, digest: Digest): Promise<BlobInfo> {
    const blob = await this.metadata.findRepositoryBlob(repository, digest.toString());
    if (!blob) throw new RegistryError('BLOB_UNKNOWN', { digest: digest.toString() });
    return blob;
  }

  /**
   * After one lookup of the repository's link: a redirect to the object store when asked for
   * and offered (storage.redirect with S3), else a stream of the blob or of the range picked.
   */
  async open(
    repository: RepositoryName,
    digest: Digest,
    read: BlobRead = WHOLE_BLOB,
    scope?: RequestScope,
  ): Promise<BlobContent | BlobRedirect> {
    const { size } = await this.stat(repository, digest);
    if (read.redirect && this.storage.redirectUrl) {
      const location = await this.storage.redirectUrl(blobKey(digest));
      if (location !== undefined) return { location };
    }
    const range = read.range?.(size);
    const signal = scope?.signal;
    try {
      const stream = await this.storage.reader(blobKey(digest), {
        ...(range ? { offset: range.start, length: range.end - range.start + 1 } : {}),
        ...(signal ? { signal } : {}),
      });
      return { size, range, stream };
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
  async mount(repository: RepositoryName, from: RepositoryName, digest: Digest, scope?: WriteScope): Promise<BlobInfo | undefined> {
    const blob = await this.metadata.findRepositoryBlob(from, digest.toString());
    if (!blob) return undefined;
    const linked = await this.metadata.linkExistingBlob(repository, digest.toString(), scope?.record);
    return linked ? blob : undefined;
  }

  /**
   * Unlinks the blob from the repository. Its bytes stay: other repositories may link them,
   * and reclaiming space is garbage collection's job.
   */
  async delete(repository: RepositoryName, digest: Digest, scope?: WriteScope): Promise<void> {
    if (!this.options.deleteEnabled) throw deletesDisabled();
    const result = await this.metadata.unlinkBlob(repository, digest.toString(), scope?.record);
    if (result === 'unknown') throw new RegistryError('BLOB_UNKNOWN', { digest: digest.toString() });
    if (result === 'referenced') throw new RegistryError('BLOB_REFERENCED', { digest: digest.toString() });
  }
}
