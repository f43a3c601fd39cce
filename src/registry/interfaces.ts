// The registry's interfaces, as CNCF Distribution's BlobStore and ManifestService are: what the
// layers above call, one small interface per capability. The registry (registry.ts) implements
// them over storage and the index; the pull-through cache (src/proxy) implements the same ones by
// decorating the registry; events will be one more decorator. http calls RegistryServices and
// never knows which of them it holds. Types only: the proxy and events import nothing else here.
import type { Readable } from 'node:stream';
import type { CachedTagRecord, ChangeRecorder, Page, PageRequest } from '../metadata/index.js';
import type { ByteRange, Digest, ParsedManifest, RepositoryName } from '../oci/index.js';

/**
 * What travels with one request through the interfaces and the decorators around them. The HTTP
 * layer's request context is one (it has the signal); each method reads only what it needs.
 */
export interface RequestScope {
  /** Aborted when the client goes away. */
  readonly signal?: AbortSignal | undefined;
  /** containerd's ?ns=<registry host>, lower-cased: which upstreams a pull-through cache may ask. */
  readonly namespace?: string | undefined;
  /** Who asked (for events and the audit log); absent for work that no request asked for. */
  readonly caller?: Caller | undefined;
}

/** The caller of a request, as events name it. Read lazily: most requests never ask. */
export interface Caller {
  /** The signed-in user, or an external token's subject; undefined: anonymous. */
  readonly name: string | undefined;
  /** The client's address. */
  readonly address: string;
  readonly userAgent: string | undefined;
  readonly requestId: string;
  readonly method: string;
  /** The Host the client asked for. */
  readonly host: string | undefined;
}

/**
 * What travels with a write: the request's scope, and the recorder the events decorator sets
 * (src/events) that the index asks, inside the write's transaction, for the events to record
 * with it. Decorators between pass it on unchanged.
 */
export interface WriteScope extends RequestScope {
  readonly record?: ChangeRecorder | undefined;
}

// ---- manifests

/** A tag or a digest, as it appeared in the URL, validated. */
export type Reference = { readonly kind: 'tag'; readonly tag: string } | { readonly kind: 'digest'; readonly digest: Digest };

export interface StoredManifest {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly size: number;
}

export interface ManifestPush {
  readonly repository: RepositoryName;
  readonly reference: Reference;
  readonly bytes: Buffer;
  /** The request's Content-Type without parameters. */
  readonly contentType: string | undefined;
  /** More tags to point at the manifest (the OCI ?tag= parameter). */
  readonly extraTags?: readonly string[];
  /**
   * Tags of this push that immutability rules protect: each is written only if absent or already
   * naming this manifest (checked in the index transaction, so two pushes racing to create one
   * cannot both win); otherwise TAG_IMMUTABLE and nothing is written.
   */
  readonly immutableTags?: readonly string[];
  /** Who pushes, and the events recorder (WriteScope). */
  readonly scope?: WriteScope | undefined;
}

export interface ManifestReader {
  /**
   * The manifest's description without its bytes (HEAD), with the same Accept negotiation as
   * get(). Clients ask before pushing, so a pull-through cache answers MANIFEST_UNKNOWN rather
   * than UPSTREAM_UNAVAILABLE for one it does not hold while its upstreams cannot be asked.
   */
  describe(repository: RepositoryName, reference: Reference, accept?: readonly string[], scope?: RequestScope): Promise<StoredManifest>;
  /** The manifest with its bytes as pushed; MANIFEST_UNKNOWN when the repository has none by that reference. */
  get(
    repository: RepositoryName,
    reference: Reference,
    accept?: readonly string[],
    scope?: RequestScope,
  ): Promise<StoredManifest & { bytes: Buffer }>;
}

export interface ManifestWriter {
  put(push: ManifestPush): Promise<StoredManifest & { manifest: ParsedManifest }>;
  delete(repository: RepositoryName, reference: Reference, scope?: WriteScope): Promise<void>;
}

// ---- blobs

export interface BlobInfo {
  readonly size: number;
}

export interface BlobContent {
  /** The whole blob's size. */
  readonly size: number;
  /** The inclusive byte range the stream holds; undefined: the whole blob. */
  readonly range?: ByteRange | undefined;
  readonly stream: Readable;
}

/** Where the client may fetch the blob itself (storage.redirect: a pre-signed object store URL). */
export interface BlobRedirect {
  readonly location: string;
}

/** What a blob read asks for. */
export interface BlobRead {
  /**
   * Picks the part to read once the size is known (a Range header parsed against it; it throws to
   * refuse one); undefined picks the whole blob. Absent: the whole blob.
   */
  readonly range?: ((size: number) => ByteRange | undefined) | undefined;
  /** A redirect to the object store may answer instead of the bytes, when the store offers one. */
  readonly redirect?: boolean | undefined;
}

export interface BlobReader {
  /**
   * The blob's size (HEAD); BLOB_UNKNOWN unless the repository has it. Clients ask before pushing,
   * so a pull-through cache answers a miss rather than UPSTREAM_UNAVAILABLE while its upstreams
   * cannot be asked.
   */
  stat(repository: RepositoryName, digest: Digest, scope?: RequestScope): Promise<BlobInfo>;
  /** The blob's bytes (or the part `read.range` picks), or a redirect: one lookup of the repository's link. */
  open(repository: RepositoryName, digest: Digest, read?: BlobRead, scope?: RequestScope): Promise<BlobContent | BlobRedirect>;
}

export interface BlobWriter {
  /**
   * Links a blob that `from` has into `repository` without copying bytes; undefined when `from`
   * does not have it (the caller then starts an ordinary upload).
   */
  mount(repository: RepositoryName, from: RepositoryName, digest: Digest, scope?: WriteScope): Promise<BlobInfo | undefined>;
  /** Unlinks the blob from the repository (its bytes are garbage collection's). */
  delete(repository: RepositoryName, digest: Digest, scope?: WriteScope): Promise<void>;
}

// ---- uploads

export interface UploadStatus {
  readonly id: string;
  readonly repository: RepositoryName;
  /** Bytes received so far. */
  readonly size: number;
}

export interface ChunkOptions {
  /** The chunk's declared position (Content-Range); it must start where the upload ends. */
  readonly range?: ByteRange;
  /** The chunk's length when the request declares it (Content-Length): a quota judges it before it is stored. */
  readonly length?: number;
  readonly signal?: AbortSignal;
  /** Who sent the chunk (the events of a quota refusal name it). */
  readonly caller?: Caller | undefined;
}

export interface CompleteOptions extends ChunkOptions {
  /**
   * Called once every byte of the last chunk is in and the running hash equals the digest, before
   * the bytes are made durable and visible: whoever relays the bytes elsewhere as they arrive (the
   * pull-through cache's first client) may finish its copy then, instead of after the fsync. Not
   * called when the running hash is not at hand (the bytes are re-read at completion) or does not
   * match.
   */
  readonly onVerified?: (() => void) | undefined;
}

export interface BlobUploads {
  start(repository: RepositoryName): Promise<UploadStatus>;
  /** Bytes received so far (after a chunk in flight in this process has settled). */
  status(repository: RepositoryName, id: string): Promise<UploadStatus>;
  append(repository: RepositoryName, id: string, chunk: AsyncIterable<Uint8Array>, options?: ChunkOptions): Promise<UploadStatus>;
  /**
   * Appends the optional last chunk, verifies the digest and makes the blob visible in the
   * repository; DIGEST_INVALID (and the upload removed) on a mismatch.
   */
  complete(
    repository: RepositoryName,
    id: string,
    digest: Digest,
    lastChunk: AsyncIterable<Uint8Array> | undefined,
    options?: CompleteOptions,
  ): Promise<{ digest: Digest; size: number }>;
  cancel(repository: RepositoryName, id: string): Promise<void>;
}

// ---- listings and referrers

export interface TagLister {
  /** The repository's tags, lexically; NAME_UNKNOWN for a repository with none. */
  tags(repository: RepositoryName, page: PageRequest): Promise<Page<string>>;
}

export interface CatalogLister {
  repositories(page: PageRequest): Promise<Page<string>>;
}

export interface ReferrersPage {
  /** The serialized image index. */
  readonly index: Buffer;
  /** Whether the artifactType filter was applied (OCI-Filters-Applied). */
  readonly filtered: boolean;
  /** The last digest of this page when more follow, for the Link header. */
  readonly next: string | undefined;
}

export interface ReferrerLister {
  list(repository: RepositoryName, subject: Digest, options: PageRequest & { artifactType?: string | undefined }): Promise<ReferrersPage>;
}

export interface HealthReport {
  readonly healthy: boolean;
  readonly checks: Readonly<Record<'storage' | 'metadata', string>>;
}

/** Everything the HTTP layer asks of a registry, whichever decorators wrap it. */
export interface RegistryServices {
  readonly blobs: BlobReader & BlobWriter;
  readonly uploads: BlobUploads;
  readonly manifests: ManifestReader & ManifestWriter;
  readonly listings: TagLister & CatalogLister;
  readonly referrers: ReferrerLister;
  /**
   * Refuses, before anything is read, a push to a repository this registry does not host (a
   * pull-through cache's names under an upstream's prefix). The writers refuse it too; this lets
   * a caller answer before reading a request body.
   */
  assertPushable(repository: RepositoryName): void;
  /** Whether the blob store and the metadata database answer (readiness). */
  health(): Promise<HealthReport>;
}

// ---- the registry side of the pull-through cache

export interface CachedManifest {
  readonly repository: RepositoryName;
  /** The exact bytes the upstream sent. */
  readonly bytes: Buffer;
  /** The upstream's Content-Type for them. */
  readonly mediaType: string | undefined;
  /** The digest the bytes must have (the reference, or the upstream's Docker-Content-Digest). */
  readonly expected: Digest | undefined;
  /** The tag the upstream resolved, when fetched by tag: it is moved to this manifest. */
  readonly tag: string | undefined;
  readonly upstream: string;
  readonly at: Date;
}

/**
 * What the pull-through cache stores and records beside the registry's own use cases: manifests
 * as an upstream sent them, blobs the store already holds linked into a cached repository, and
 * its books (which tags and items came from which upstream, when each was last pulled) that
 * eviction will read.
 */
export interface PullThroughLedger {
  /**
   * Stores a manifest fetched from an upstream, byte for byte (digest checked, parsed, but its
   * references need not exist yet: they are fetched when first asked for), and moves the tag.
   */
  putManifest(entry: CachedManifest): Promise<StoredManifest>;
  /** The cached tag's record, or undefined for a hosted tag or one never fetched. */
  tag(repository: RepositoryName, tag: string): Promise<CachedTagRecord | undefined>;
  /** The upstream confirmed the tag still names the cached manifest. */
  markTagChecked(repository: RepositoryName, tag: string, at: Date): Promise<void>;
  /** Records a blob about to be fetched from (or confirmed by) an upstream, before its bytes land. */
  recordItem(repository: RepositoryName, digest: Digest, upstream: string, at: Date): Promise<void>;
  /** Notes a pull of a cached item (throttled); items without a record (hosted) are left alone. */
  recordPull(repository: RepositoryName, digest: Digest, at: Date): Promise<void>;
  /** The size of the blob if the store holds verified bytes for it (in any repository). */
  storedBlobSize(digest: Digest): Promise<number | undefined>;
  /** Whether a manifest of the repository references the digest. */
  isReferenced(repository: RepositoryName, digest: Digest): Promise<boolean>;
  /**
   * Links stored bytes into a cached repository without fetching them again; undefined when the
   * store does not hold them. The caller has established that the repository's upstream has the blob.
   */
  linkStoredBlob(repository: RepositoryName, digest: Digest): Promise<BlobInfo | undefined>;
  /**
   * The bytes an upload in progress has stored so far, from offset, at most `length` of them: a
   * blob fill's partial file, which clients that join the fill read while it grows. undefined
   * when the upload has no bytes there (not yet, or no longer: completed, cancelled). On a store
   * that appends in place (the filesystem) this follows the fill; an object store shows little
   * or nothing before the commit.
   */
  readUploadedBytes(uploadId: string, offset: number, length: number): Promise<Readable | undefined>;
}

// ---- what the registry reports beside its interfaces (Berth's own events, src/events)

/**
 * A finished request as the HTTP layer hands it to the audit log (http/request-audit.ts builds
 * it, events/audit-log.ts records it). Only names and addresses: never a header's value, a body
 * or a query, so a password or a token cannot reach the log.
 */
export interface AuditedRequest {
  /** What was done: a /v2/ route's name and the method (manifest.put, blob.delete, ...), 'login', or 'admin'. */
  readonly action: string;
  readonly method: string;
  /** The path without its query. */
  readonly path: string;
  readonly repository: string | undefined;
  readonly status: number;
  readonly outcome: 'success' | 'denied' | 'failed';
  readonly actor: string | undefined;
  readonly address: string;
  readonly userAgent: string | undefined;
  readonly requestId: string;
  /** What a route noted (a permission change's grant), a failed sign-in's user name; never a secret. */
  readonly detail?: Readonly<Record<string, unknown>> | undefined;
}

/** A push took its namespace to its quota's warnAt share (quotas.ts; the quota.warning event). */
export interface QuotaWarning {
  readonly namespace: string;
  readonly repository: string;
  readonly bytes: number;
  readonly sizeBytes: number;
  readonly warnAt: number;
  readonly caller: Caller | undefined;
}

/** A garbage-collection run that ended (garbage-collector.ts; the gc.run event). */
export interface GcRunEnded {
  readonly runId: string;
  readonly trigger: string;
  readonly dryRun: boolean;
  readonly status: 'finished' | 'failed';
  /** The run's counts (GcStats: manifests and blobs deleted, bytes freed, ...) when it finished. */
  readonly stats?: object | undefined;
  readonly error?: string | undefined;
}
