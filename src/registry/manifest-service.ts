// Manifests: validation on push (invariant 2: every referenced blob and child manifest exists
// in the repository, and the digest is that of the exact bytes), storage of the bytes as
// pushed, tags, and reads by tag or digest with Accept negotiation.
import { randomUUID } from 'node:crypto';
import { PathNotFoundError, RegistryError } from '../errors/index.js';
import type { ManifestIndex, ManifestRecord, RequiredReferences, UploadIndex } from '../metadata/index.js';
import {
  Digest,
  isForeignLayer,
  manifestKindOf,
  ManifestFormatError,
  MediaType,
  parseManifest,
  referencesOf,
  type Descriptor,
  type ParsedManifest,
  type RepositoryName,
} from '../oci/index.js';
import type { StorageDriver } from '../storage/driver.js';
import type { ManifestPush, ManifestReader, ManifestWriter, Reference, StoredManifest, WriteScope } from './interfaces.js';
import { ManifestMemo } from './manifest-memo.js';
import { blobKey } from './paths.js';
import type { PullSink } from './pull-recorder.js';
import { tagImmutable } from './immutability.js';
import { deletesDisabled, type IndexChildPolicy, type RegistryOptions } from './options.js';

export class ManifestService implements ManifestReader, ManifestWriter {
  /** Manifest bytes recently pushed or read, by digest. */
  private readonly memo = new ManifestMemo(64 * 1024 * 1024);

  constructor(
    private readonly storage: StorageDriver,
    private readonly metadata: ManifestIndex & Pick<UploadIndex, 'createUpload' | 'deleteUpload'>,
    private readonly options: RegistryOptions,
    /** Where GETs are noted as pulls (retention's last-pull times); HEAD is not a pull. */
    private readonly pulls?: PullSink,
  ) {}

  async put(push: ManifestPush): Promise<StoredManifest & { manifest: ParsedManifest }> {
    let manifest: ParsedManifest;
    try {
      manifest = parseManifest(push.bytes, push.contentType);
    } catch (error) {
      if (error instanceof ManifestFormatError) throw new RegistryError('MANIFEST_INVALID', error.message);
      throw error;
    }
    const algorithm = push.reference.kind === 'digest' ? push.reference.digest.algorithm : 'sha256';
    const digest = Digest.of(push.bytes, algorithm);
    if (push.reference.kind === 'digest' && !push.reference.digest.equals(digest)) {
      throw new RegistryError('DIGEST_INVALID', {
        expected: push.reference.digest.toString(),
        actual: digest.toString(),
      });
    }
    const mustExist = requiredReferences(manifest, this.options.indexChildren);
    // Checked before writing any bytes, and again inside the index transaction below.
    const missingBefore = await this.metadata.findMissingReference(push.repository, mustExist);
    if (missingBefore !== undefined) throw new RegistryError('MANIFEST_BLOB_UNKNOWN', { digest: missingBefore });

    // The bytes are claimed against garbage collection until the index transaction records
    // the manifest (and ends the claim), so a collection never deletes them, or the folder they
    // are being written into, halfway.
    const claim = randomUUID();
    await this.metadata.createUpload(claim, push.repository, undefined, digest.toString());
    try {
      if (!(await this.isStored(digest))) await this.storage.putContent(blobKey(digest), push.bytes);
      this.memo.set(digest.toString(), push.bytes);

      const tags = [...(push.reference.kind === 'tag' ? [push.reference.tag] : []), ...(push.extraTags ?? [])];
      const { missing, immutable } = await this.metadata.putManifest({
        repository: push.repository,
        digest: digest.toString(),
        mediaType: manifest.mediaType,
        size: push.bytes.length,
        artifactType: manifest.artifactType ?? (manifest.kind === 'image' ? manifest.config?.mediaType : undefined),
        subjectDigest: manifest.subject?.digest.toString(),
        annotations: manifest.annotations,
        references: referencesOf(manifest).map((r) => ({ digest: r.digest.toString(), kind: r.kind })),
        tags,
        immutableTags: push.immutableTags,
        mustExist,
        finishedClaim: claim,
        record: push.scope?.record,
      });
      if (missing !== undefined) throw new RegistryError('MANIFEST_BLOB_UNKNOWN', { digest: missing });
      if (immutable !== undefined) throw tagImmutable(push.repository, immutable);
      // The claim kept garbage collection away; checked once more all the same, since bytes
      // missing now would break every pull of the manifest, and they are at hand to write again.
      if (!(await this.isStored(digest))) await this.storage.putContent(blobKey(digest), push.bytes);
      return { digest, mediaType: manifest.mediaType, size: push.bytes.length, manifest };
    } catch (error) {
      // Refused or failed before the index ended the claim (deleting an ended one does nothing).
      await this.metadata.deleteUpload(claim).catch(() => undefined);
      throw error;
    }
  }

  private async isStored(digest: Digest): Promise<boolean> {
    const stored = await this.storage.stat(blobKey(digest)).catch((error: unknown) => {
      if (error instanceof PathNotFoundError) return undefined;
      throw error;
    });
    return stored !== undefined;
  }

  /**
   * Deleting by digest removes the manifest and every tag pointing at it, unless an index in
   * the repository lists it as a child (MANIFEST_REFERENCED: delete the index first); deleting
   * by tag removes only that tag. The bytes stay for garbage collection.
   */
  async delete(repository: RepositoryName, reference: Reference, scope?: WriteScope): Promise<void> {
    if (!this.options.deleteEnabled) throw deletesDisabled();
    if (reference.kind === 'tag') {
      if (!(await this.metadata.deleteTag(repository, reference.tag, scope?.record))) {
        throw new RegistryError('MANIFEST_UNKNOWN', { repository, reference: reference.tag });
      }
      return;
    }
    const digest = reference.digest.toString();
    const deletion = await this.metadata.deleteManifest(repository, digest, scope?.record);
    if (deletion.result === 'unknown') throw new RegistryError('MANIFEST_UNKNOWN', { repository, reference: digest });
    if (deletion.result === 'referenced') {
      throw new RegistryError(
        'MANIFEST_REFERENCED',
        { digest, index: deletion.index },
        {
          message: `manifest is referenced by index ${deletion.index} in this repository`,
        },
      );
    }
  }

  /** The manifest's description without its bytes (HEAD). */
  async describe(repository: RepositoryName, reference: Reference, accept?: readonly string[]): Promise<StoredManifest> {
    return toStored(await this.find(repository, reference, accept));
  }

  /**
   * One await on the hot path: the index lookup. Recently served bytes come from the memo, and a
   * negotiation is awaited only for an index asked for by a client that cannot read it.
   */
  async get(repository: RepositoryName, reference: Reference, accept?: readonly string[]): Promise<StoredManifest & { bytes: Buffer }> {
    const row = await this.find(repository, reference, accept);
    const digest = Digest.parse(row.digest);
    const bytes = this.memo.get(row.digest) ?? (await this.bytesOf(digest));
    this.pulls?.record(repository, reference, digest);
    return { digest, mediaType: row.mediaType, size: row.size, bytes };
  }

  /** The manifest a reference names, after Accept negotiation (negotiate below). */
  private async find(repository: RepositoryName, reference: Reference, accept: readonly string[] | undefined): Promise<ManifestRecord> {
    const row = await (reference.kind === 'tag'
      ? this.metadata.findManifestByTag(repository, reference.tag)
      : this.metadata.findManifest(repository, reference.digest.toString()));
    if (!row) {
      const name = reference.kind === 'tag' ? reference.tag : reference.digest.toString();
      throw new RegistryError('MANIFEST_UNKNOWN', { repository, reference: name });
    }
    return mayNegotiate(row, reference, accept) ? this.negotiate(repository, row, accept as readonly string[]) : row;
  }

  /**
   * Clients that cannot read an index (old Docker clients fetching by tag with an Accept list
   * that names only image manifests) get the linux/amd64 image instead, as Distribution does.
   * A request by digest always gets exactly that digest (mayNegotiate).
   */
  private async negotiate(repository: RepositoryName, row: ManifestRecord, accept: readonly string[]): Promise<ManifestRecord> {
    if (accept.includes(row.mediaType) || accept.includes('*/*')) return row;
    const acceptsImage = accept.includes(MediaType.dockerManifest) || accept.includes(MediaType.ociManifest);
    if (!acceptsImage) return row;
    const index = parseManifest(await this.bytesOf(Digest.parse(row.digest)), row.mediaType);
    const child = index.manifests.find(
      (m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64' && accept.includes(m.mediaType),
    );
    if (!child) return row;
    return (await this.metadata.findManifest(repository, child.digest.toString())) ?? row;
  }

  private async bytesOf(digest: Digest): Promise<Buffer> {
    const cached = this.memo.get(digest.toString());
    if (cached) return cached;
    const bytes = await this.storage.getContent(blobKey(digest));
    this.memo.set(digest.toString(), bytes);
    return bytes;
  }
}

/** Whether negotiate() may serve something else: an index, by tag, to a client that lists what it accepts. */
function mayNegotiate(row: ManifestRecord, reference: Reference, accept: readonly string[] | undefined): boolean {
  return reference.kind === 'tag' && accept !== undefined && accept.length > 0 && manifestKindOf(row.mediaType) === 'index';
}

function toStored(row: ManifestRecord): StoredManifest {
  return { digest: Digest.parse(row.digest), mediaType: row.mediaType, size: row.size };
}

/**
 * The blobs and child manifests that must be in the repository before a manifest is accepted.
 * Every child of an index unless the administrator relaxed it (validation.manifests.indexes),
 * as a mirror that keeps only some platforms needs.
 */
export function requiredReferences(manifest: ParsedManifest, indexChildren: IndexChildPolicy | undefined): RequiredReferences {
  const blobs = [...(manifest.config ? [manifest.config] : []), ...manifest.layers]
    // Foreign (non-distributable) layers are fetched from their URLs, not from us.
    .filter((d) => !(isForeignLayer(d.mediaType) && d.urls && d.urls.length > 0))
    .map((d) => d.digest.toString());
  const manifests = manifest.manifests.filter((d) => childMustExist(d, indexChildren)).map((d) => d.digest.toString());
  return { blobs, manifests };
}

function childMustExist(child: Descriptor, policy: IndexChildPolicy | undefined): boolean {
  if (policy === undefined || policy.platforms === 'all') return true;
  if (policy.platforms === 'none') return false;
  // As Distribution: an empty list checks every child; only architecture and os are compared.
  if (policy.platformlist.length === 0) return true;
  const platform = child.platform;
  if (platform === undefined) return false;
  return policy.platformlist.some((p) => p.architecture === platform.architecture && p.os === platform.os);
}
