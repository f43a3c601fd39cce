// The pull-through cache's ledger, the registry side of the cache (PullThroughLedger): storing
// manifests fetched from an upstream, the books garbage collection will need (which tags and
// items came from which upstream, and when each item was last pulled), and linking already-stored
// blobs into a cached repository. Not part of Registry: the composition root hands it to the
// cache. Blob bytes from an upstream go through the ordinary upload path (UploadService), so
// they are hashed, made durable and committed only when they match their digest (invariant 1).
import type { Readable } from 'node:stream';
import { InvalidOffsetError, PathNotFoundError, RegistryError } from '../errors/index.js';
import type { CachedTagRecord, MetadataStore } from '../metadata/index.js';
import { Digest, ManifestFormatError, parseManifest, referencesOf, type RepositoryName } from '../oci/index.js';
import type { StorageDriver } from '../storage/driver.js';
import type { BlobInfo, CachedManifest, PullThroughLedger, StoredManifest } from './interfaces.js';
import { blobKey, isValidUploadId, uploadDataKey } from './paths.js';

/** Pulls of one item are recorded at most this often per process (no write per request). */
const PULL_RECORD_INTERVAL_MS = 60_000;
/** Bound on the throttle's memory; entries older than the interval are dropped past it. */
const PULL_RECORD_MAX_ENTRIES = 10_000;

export class PullThroughLedgerService implements PullThroughLedger {
  /** When each repository/digest pull was last written, per process: a cache, safe to lose. */
  private readonly lastRecorded = new Map<string, number>();

  constructor(
    private readonly storage: StorageDriver,
    private readonly metadata: MetadataStore,
  ) {}

  /**
   * Stores a manifest fetched from an upstream, byte for byte, under the local repository name.
   *
   * This is the one relaxation of invariant 2, for cached repositories only: the blobs and
   * child manifests it references need not be present, because a pull-through cache fetches
   * them lazily when a client first asks for them (from the same upstream, verified by digest).
   * Its digest is still that of the exact bytes, and it must still parse as a manifest. Hosted
   * pushes go through ManifestService.put, which keeps the full check.
   */
  async putManifest(entry: CachedManifest): Promise<StoredManifest> {
    let mediaType: string;
    let parsed: ReturnType<typeof parseManifest>;
    try {
      parsed = parseManifest(entry.bytes, entry.mediaType);
      mediaType = parsed.mediaType;
    } catch (error) {
      if (error instanceof ManifestFormatError) {
        throw new RegistryError('UPSTREAM_CONTENT_INVALID', { upstream: entry.upstream, reason: error.message });
      }
      throw error;
    }
    const digest = Digest.of(entry.bytes, entry.expected?.algorithm ?? 'sha256');
    if (entry.expected && !entry.expected.equals(digest)) {
      throw new RegistryError('UPSTREAM_CONTENT_INVALID', {
        upstream: entry.upstream,
        expected: entry.expected.toString(),
        actual: digest.toString(),
      });
    }
    const key = blobKey(digest);
    const stored = await this.storage.stat(key).catch((error: unknown) => {
      if (error instanceof PathNotFoundError) return undefined;
      throw error;
    });
    if (!stored) await this.storage.putContent(key, entry.bytes);
    await this.metadata.putManifest({
      repository: entry.repository,
      digest: digest.toString(),
      mediaType,
      size: entry.bytes.length,
      artifactType: parsed.artifactType ?? (parsed.kind === 'image' ? parsed.config?.mediaType : undefined),
      subjectDigest: parsed.subject?.digest.toString(),
      annotations: parsed.annotations,
      references: referencesOf(parsed).map((r) => ({ digest: r.digest.toString(), kind: r.kind })),
      tags: entry.tag === undefined ? [] : [entry.tag],
      // No mustExist: see above.
      cachedFrom: { upstream: entry.upstream, tag: entry.tag, at: entry.at },
    });
    this.lastRecorded.set(itemKey(entry.repository, digest), entry.at.getTime());
    return { digest, mediaType, size: entry.bytes.length };
  }

  /** The cached tag's record, or undefined for a hosted tag or one never fetched. */
  tag(repository: RepositoryName, tag: string): Promise<CachedTagRecord | undefined> {
    return this.metadata.cachedContent.findTag(repository, tag);
  }

  /** The upstream confirmed the tag still names the cached manifest. */
  async markTagChecked(repository: RepositoryName, tag: string, at: Date): Promise<void> {
    await this.metadata.cachedContent.markTagChecked(repository, tag, at);
  }

  /** Records a blob about to be fetched from (or confirmed by) an upstream, before its bytes land. */
  async recordItem(repository: RepositoryName, digest: Digest, upstream: string, at: Date): Promise<void> {
    await this.metadata.cachedContent.recordItem(repository, digest.toString(), upstream, at);
    this.lastRecorded.set(itemKey(repository, digest), at.getTime());
  }

  /**
   * Notes a pull of a cached item (for eviction by age), writing at most once a minute per
   * item per process; items without a cache record (hosted content) are left alone.
   */
  async recordPull(repository: RepositoryName, digest: Digest, at: Date): Promise<void> {
    const key = itemKey(repository, digest);
    const last = this.lastRecorded.get(key);
    if (last !== undefined && at.getTime() - last < PULL_RECORD_INTERVAL_MS) return;
    this.lastRecorded.set(key, at.getTime());
    if (this.lastRecorded.size > PULL_RECORD_MAX_ENTRIES) this.forgetBefore(at.getTime() - PULL_RECORD_INTERVAL_MS);
    await this.metadata.cachedContent.touchItem(repository, digest.toString(), at);
  }

  /** The size of the blob if the store holds verified bytes for it (in any repository). */
  storedBlobSize(digest: Digest): Promise<number | undefined> {
    return this.metadata.cachedContent.storedBlobSize(digest.toString());
  }

  /** Whether a manifest of the repository references the digest. */
  isReferenced(repository: RepositoryName, digest: Digest): Promise<boolean> {
    return this.metadata.cachedContent.isReferenced(repository, digest.toString());
  }

  /**
   * Links stored bytes into a cached repository without fetching them again. The caller has
   * established that the repository's upstream has the blob (a cached manifest references it,
   * or the upstream said so), so this exposes nothing the upstream would not serve.
   */
  async linkStoredBlob(repository: RepositoryName, digest: Digest): Promise<BlobInfo | undefined> {
    if (!(await this.metadata.linkExistingBlob(repository, digest.toString()))) return undefined;
    return this.metadata.findRepositoryBlob(repository, digest.toString());
  }

  /**
   * Reads an upload's data key as it stands: a blob fill writes there with an appending writer,
   * which the filesystem driver applies in place, so a reader sees every byte already written.
   */
  async readUploadedBytes(uploadId: string, offset: number, length: number): Promise<Readable | undefined> {
    if (!isValidUploadId(uploadId)) return undefined;
    try {
      return await this.storage.reader(uploadDataKey(uploadId), { offset, length });
    } catch (error) {
      // Not there yet or any more, or not grown to offset on a store that shows closed bytes only.
      if (error instanceof PathNotFoundError || error instanceof InvalidOffsetError) return undefined;
      throw error;
    }
  }

  private forgetBefore(cutoff: number): void {
    for (const [key, at] of this.lastRecorded) if (at < cutoff) this.lastRecorded.delete(key);
    // Still too many recent ones: start over (the worst case is one extra write per item).
    if (this.lastRecorded.size > PULL_RECORD_MAX_ENTRIES) this.lastRecorded.clear();
  }
}

function itemKey(repository: string, digest: Digest): string {
  return `${repository}@${digest.toString()}`;
}
