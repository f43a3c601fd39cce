// The pull-through cache: the registry's manifest and blob reads, resolved through upstream
// registries when the local repository does not have (or no longer trusts) what is asked for.
// Hosted content wins ("group" order: hosted first, then upstreams in configuration order);
// cached tags are trusted for their upstream's TTL, then revalidated with a HEAD and served
// stale when the upstream is unreachable and marked offline; blobs stream to the first client
// while they are verified into the cache, one upstream fetch per digest at a time. A HEAD of
// something Berth does not hold is a miss (404) when no upstream can be asked: clients HEAD
// before they push, and an outage upstream must not stop pushes to hosted names.
import { PassThrough } from 'node:stream';
import { untilSettled, UpstreamError, type ManifestResponse, type RegistryClient } from '../client/index.js';
import { RegistryError } from '../errors/index.js';
import {
  Digest,
  manifestKindOf,
  MediaType,
  parseManifest,
  type ByteRange,
  type RepositoryName,
} from '../oci/index.js';
import type { BlobContent, Reference, Registry, StoredManifest } from '../registry/index.js';
import { BlobFill } from './blob-fill.js';
import type { UpstreamOptions } from './options.js';
import { UpstreamHealth, type UpstreamFailure } from './upstream-health.js';
import { isUnderPrefix, selectedBy, upstreamRepositoryName } from './upstream-map.js';

/** containerd's ?ns=<registry host>, or undefined. */
export interface UpstreamSelection {
  readonly ns: string | undefined;
}

/**
 * What a lookup answers when Berth does not hold the content and an upstream that might have it
 * could not be asked: 'unavailable' (502 UPSTREAM_UNAVAILABLE, for reads that need the bytes) or
 * 'miss' (404, for the existence checks clients make before pushing: blob and manifest HEADs).
 */
export type WhenUpstreamFails = 'unavailable' | 'miss';

export interface Upstream {
  readonly config: UpstreamOptions;
  readonly client: RegistryClient;
}

export interface ProxyLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface PullThroughCacheOptions {
  /** The clock (milliseconds since the epoch); tests replace it to step past a TTL. */
  readonly now?: () => number;
}

/** Every manifest type Berth stores: the upstream is asked for all, so the cache keeps indexes. */
const MANIFEST_TYPES: readonly string[] = [
  MediaType.ociIndex,
  MediaType.ociManifest,
  MediaType.dockerManifestList,
  MediaType.dockerManifest,
];

const COUNTERS = ['hits', 'misses', 'manifestFetches', 'blobFetches', 'staleServes', 'verificationFailures'] as const;
type Counter = (typeof COUNTERS)[number];

interface Candidate {
  readonly upstream: Upstream;
  /** The repository name the upstream knows. */
  readonly remote: string;
}

export class PullThroughCache {
  private readonly counters: Record<Counter, number> = Object.fromEntries(COUNTERS.map((c) => [c, 0])) as Record<
    Counter,
    number
  >;
  /** Blob fetches in flight, by upstream name and digest (single flight). */
  private readonly fills = new Map<string, BlobFill>();
  /** Manifest resolutions in flight, so concurrent first pulls of a tag ask the upstream once. */
  private readonly resolutions = new Map<string, Promise<void>>();
  private readonly now: () => number;
  /** Aborted by close(): work shared by several requests does not follow any one request's signal. */
  private readonly closing = new AbortController();
  private readonly health: UpstreamHealth;

  constructor(
    private readonly registry: Registry,
    private readonly upstreams: readonly Upstream[],
    private readonly logger: ProxyLogger,
    options: PullThroughCacheOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.health = new UpstreamHealth(logger, this.now);
  }

  /** Counters for logs and metrics (a snapshot). */
  get stats(): Readonly<Record<string, number>> {
    return { ...this.counters };
  }

  /**
   * True when the repository lies under an upstream's prefix namespace (e.g. docker.io/...):
   * pushes there are refused. Root-namespace upstreams ("") never make a name proxied-only.
   */
  isProxiedOnly(repository: RepositoryName): boolean {
    return this.upstreams.some((u) => isUnderPrefix(u.config, repository));
  }

  /** Same results and errors as registry.manifests.get, resolving through upstreams when needed. */
  async getManifest(
    repository: RepositoryName,
    reference: Reference,
    accept: readonly string[] | undefined,
    selection: UpstreamSelection,
    signal?: AbortSignal,
  ): Promise<StoredManifest & { bytes: Buffer }> {
    await this.resolveManifest(repository, reference, accept, selection, signal);
    return this.registry.manifests.get(repository, reference, accept);
  }

  /**
   * Same results and errors as registry.manifests.describe, resolving through upstreams when
   * needed. With 'miss', a manifest Berth does not hold is MANIFEST_UNKNOWN also when the
   * upstreams could not be asked (one held but not revalidated stays UPSTREAM_UNAVAILABLE).
   */
  async describeManifest(
    repository: RepositoryName,
    reference: Reference,
    accept: readonly string[] | undefined,
    selection: UpstreamSelection,
    signal?: AbortSignal,
    whenUpstreamFails: WhenUpstreamFails = 'unavailable',
  ): Promise<StoredManifest> {
    const unknown = async (): Promise<RegistryError | undefined> => {
      if ((await this.localManifest(repository, reference)) !== undefined) return undefined;
      const name = reference.kind === 'tag' ? reference.tag : reference.digest.toString();
      return new RegistryError('MANIFEST_UNKNOWN', { repository, reference: name });
    };
    if (whenUpstreamFails === 'miss') {
      // Every upstream that serves the name just failed to answer: do without them (see UpstreamHealth).
      const candidates = this.candidatesFor(repository, selection);
      if (candidates.length > 0 && candidates.every((c) => this.health.resting(c.upstream.config.name))) {
        const miss = await unknown();
        if (miss) throw miss;
      }
    }
    try {
      await this.resolveManifest(repository, reference, accept, selection, signal);
    } catch (error) {
      if (whenUpstreamFails === 'miss' && error instanceof RegistryError && error.errorName === 'UPSTREAM_UNAVAILABLE') {
        throw (await unknown()) ?? error;
      }
      throw error;
    }
    return this.registry.manifests.describe(repository, reference, accept);
  }

  /**
   * Same as registry.blobs.stat: a miss asks the upstream (HEAD) without caching anything. With
   * 'miss', upstreams that could not be asked make BLOB_UNKNOWN rather than UPSTREAM_UNAVAILABLE.
   */
  async statBlob(
    repository: RepositoryName,
    digest: Digest,
    selection: UpstreamSelection,
    signal?: AbortSignal,
    whenUpstreamFails: WhenUpstreamFails = 'unavailable',
  ): Promise<{ size: number }> {
    const candidates = this.candidatesFor(repository, selection).filter(
      // A HEAD that may miss does without an upstream that just failed to answer (see UpstreamHealth).
      (c) => whenUpstreamFails === 'unavailable' || !this.health.resting(c.upstream.config.name),
    );
    const local = await this.localBlob(repository, digest);
    if (local || candidates.length === 0) return local ?? this.registry.blobs.stat(repository, digest);
    const errors: UpstreamFailure[] = [];
    for (const candidate of candidates) {
      const size = this.fills.get(fillKey(candidate, digest))?.size;
      if (size !== undefined) return { size };
      const linked = await this.linkIfUpstreamHas(candidate, repository, digest, errors, signal);
      if (linked !== 'missing') {
        if (linked === 'absent') continue;
        return linked;
      }
      try {
        const head = await candidate.upstream.client.headBlob(candidate.remote, digest.toString(), signal);
        this.health.answered(candidate.upstream.config.name);
        if (head) return head;
      } catch (error) {
        errors.push(this.upstreamFailure(candidate, error));
      }
    }
    const unknown = new RegistryError('BLOB_UNKNOWN', { digest: digest.toString() });
    throw whenUpstreamFails === 'miss' ? unknown : unavailableOr(errors, unknown);
  }

  /**
   * Same as registry.blobs.open. A miss streams from the upstream while the bytes are verified
   * into the cache; a range on a miss waits for the whole blob, then serves the range.
   */
  async openBlob(
    repository: RepositoryName,
    digest: Digest,
    range: ByteRange | undefined,
    selection: UpstreamSelection,
    signal?: AbortSignal,
  ): Promise<BlobContent> {
    const candidates = this.candidatesFor(repository, selection);
    if (candidates.length === 0) return this.registry.blobs.open(repository, digest, range, signal);
    if (await this.localBlob(repository, digest)) {
      this.counters.hits++;
      await this.registry.cache.recordPull(repository, digest, new Date(this.now()));
      return this.registry.blobs.open(repository, digest, range, signal);
    }
    this.counters.misses++;
    const errors: UpstreamFailure[] = [];
    for (const candidate of candidates) {
      const key = fillKey(candidate, digest);
      let fill = this.fills.get(key);
      if (!fill) {
        const linked = await this.linkIfUpstreamHas(candidate, repository, digest, errors, signal);
        if (linked === 'absent') continue;
        if (linked !== 'missing') return this.registry.blobs.open(repository, digest, range, signal);
        fill = this.fills.get(key);
      }
      if (fill) {
        // Another request is fetching this blob from this upstream: wait for it, then serve from the cache.
        const joined = await this.join(fill, candidate, repository, digest, signal);
        if (joined === 'absent') continue;
        return this.registry.blobs.open(repository, digest, range, signal);
      }

      // No await between the lookup above and here: exactly one request starts the fetch.
      // A roomy buffer: the first client's socket takes bytes in bursts.
      const out = range ? undefined : new PassThrough({ highWaterMark: 1024 * 1024 });
      const started = this.startFill(candidate, repository, digest, out);
      let start;
      try {
        start = await started.started;
      } catch (error) {
        errors.push(this.upstreamFailure(candidate, error));
        continue;
      }
      if (start.kind === 'absent') continue;
      if (out && start.size !== undefined) return { size: start.size, stream: out };
      // No Content-Length (or a range): the size and the bytes come from the cache once complete.
      out?.destroy();
      await untilSettled(started.done, signal);
      return this.registry.blobs.open(repository, digest, range, signal);
    }
    throw unavailableOr(errors, new RegistryError('BLOB_UNKNOWN', { digest: digest.toString() }));
  }

  /** Stops blob fetches in flight (nothing partial is cached) and closes the upstream clients. */
  async close(): Promise<void> {
    this.closing.abort(new RegistryError('UNAVAILABLE', 'the registry is shutting down'));
    const fills = [...this.fills.values()];
    for (const fill of fills) fill.abort();
    await Promise.allSettled(fills.map((fill) => fill.done));
    await Promise.allSettled(this.upstreams.map((u) => u.client.close()));
  }

  // ---- manifests

  private async resolveManifest(
    repository: RepositoryName,
    reference: Reference,
    accept: readonly string[] | undefined,
    selection: UpstreamSelection,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const candidates = this.candidatesFor(repository, selection);
    // Not proxied: the registry answers alone (and reports MANIFEST_UNKNOWN itself).
    if (candidates.length === 0) return;
    const name = reference.kind === 'tag' ? reference.tag : reference.digest.toString();
    const key = `${repository}\n${name}\n${selection.ns ?? ''}`;
    let running = this.resolutions.get(key);
    if (!running) {
      // Shared by every request for the same name meanwhile, so not tied to this request's signal.
      running = this.resolve(repository, reference, candidates, this.closing.signal).finally(() => this.resolutions.delete(key));
      this.resolutions.set(key, running);
    }
    await untilSettled(running, signal);
    if (reference.kind === 'tag' && accept && accept.length > 0) {
      await this.fetchNegotiatedChild(repository, reference, accept, candidates, signal);
    }
  }

  private async resolve(
    repository: RepositoryName,
    reference: Reference,
    candidates: readonly Candidate[],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const local = await this.localManifest(repository, reference);
    if (reference.kind === 'digest') {
      // Content-addressed: a local copy is final.
      if (local) return this.hit(repository, local.digest);
      this.counters.misses++;
      return this.fetchByDigest(repository, reference.digest, candidates, signal);
    }
    const cached = local ? await this.registry.cache.tag(repository, reference.tag) : undefined;
    // A tag with no cache record, or one pushed over a cached tag, is hosted: hosted content wins.
    if (local && cached?.manifestDigest !== local.digest.toString()) return;
    const source = cached && candidates.find((c) => c.upstream.config.name === cached.upstream);
    if (local && cached && source && this.now() - cached.checkedAt.getTime() < source.upstream.config.tagTtlMs) {
      return this.hit(repository, local.digest);
    }
    this.counters.misses++;
    const errors: UpstreamFailure[] = [];
    for (const candidate of candidates) {
      const isSource = local !== undefined && candidate === source;
      try {
        if (isSource) {
          const head = await candidate.upstream.client.headManifest(candidate.remote, reference.tag, MANIFEST_TYPES, signal);
          this.health.answered(candidate.upstream.config.name);
          if (!head) continue;
          if (head.digest === local.digest.toString()) {
            await this.registry.cache.markTagChecked(repository, reference.tag, new Date(this.now()));
            return this.hit(repository, local.digest);
          }
        }
        const response = await candidate.upstream.client.getManifest(candidate.remote, reference.tag, MANIFEST_TYPES, signal);
        this.health.answered(candidate.upstream.config.name);
        if (!response) continue;
        this.counters.manifestFetches++;
        await this.storeManifest(repository, candidate, response, reference.tag, undefined);
        return;
      } catch (error) {
        this.throwIfContentInvalid(candidate, repository, error);
        const failure = this.upstreamFailure(candidate, error);
        if (isSource && failure.kind === 'unreachable' && candidate.upstream.config.offline) {
          this.counters.staleServes++;
          // Info, not warn: the outage itself is warned about once, not once per request.
          this.logger.info(
            { upstream: candidate.upstream.config.name, repository, tag: reference.tag, digest: local.digest.toString(), error: failure.message },
            'upstream unreachable: serving the cached tag (stale-if-error)',
          );
          await this.registry.cache.recordPull(repository, local.digest, new Date(this.now()));
          return;
        }
        errors.push(failure);
      }
    }
    throw unavailableOr(errors, new RegistryError('MANIFEST_UNKNOWN', { repository, reference: reference.tag }));
  }

  private async fetchByDigest(
    repository: RepositoryName,
    digest: Digest,
    candidates: readonly Candidate[],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const errors: UpstreamFailure[] = [];
    for (const candidate of candidates) {
      let response;
      try {
        response = await candidate.upstream.client.getManifest(candidate.remote, digest.toString(), MANIFEST_TYPES, signal);
        this.health.answered(candidate.upstream.config.name);
      } catch (error) {
        this.throwIfContentInvalid(candidate, repository, error);
        errors.push(this.upstreamFailure(candidate, error));
        continue;
      }
      if (!response) continue;
      this.counters.manifestFetches++;
      await this.storeManifest(repository, candidate, response, undefined, digest);
      return;
    }
    throw unavailableOr(errors, new RegistryError('MANIFEST_UNKNOWN', { repository, reference: digest.toString() }));
  }

  /**
   * Verifies a manifest from the upstream against the digest asked for and the digest the
   * upstream announced, then stores it. Mismatches are refused and nothing is stored.
   */
  private async storeManifest(
    repository: RepositoryName,
    candidate: Candidate,
    response: ManifestResponse,
    tag: string | undefined,
    requested: Digest | undefined,
  ): Promise<void> {
    const upstream = candidate.upstream.config.name;
    const announced = response.digest === undefined ? undefined : Digest.tryParse(response.digest);
    const refuse = (detail: Record<string, unknown>): RegistryError => {
      this.counters.verificationFailures++;
      this.logger.warn({ upstream, repository, ...detail }, 'upstream manifest refused: it does not match its digest');
      return new RegistryError('UPSTREAM_CONTENT_INVALID', { upstream, ...detail });
    };
    if (typeof announced === 'string') throw refuse({ announced: response.digest?.slice(0, 200), reason: announced });
    for (const expected of [requested, announced]) {
      if (expected === undefined) continue;
      const actual = Digest.of(response.body, expected.algorithm);
      if (!actual.equals(expected)) throw refuse({ expected: expected.toString(), actual: actual.toString() });
    }
    try {
      await this.registry.cache.putManifest({
        repository,
        bytes: response.body,
        mediaType: response.mediaType,
        expected: requested ?? announced,
        tag,
        upstream,
        at: new Date(this.now()),
      });
    } catch (error) {
      if (error instanceof RegistryError && error.errorName === 'UPSTREAM_CONTENT_INVALID') {
        this.counters.verificationFailures++;
        this.logger.warn({ upstream, repository, detail: error.detail }, 'upstream manifest refused');
      }
      throw error;
    }
  }

  /**
   * Clients that cannot read an index get its linux/amd64 image from the registry's Accept
   * negotiation, which needs that child in the repository: fetch it now rather than lazily.
   */
  private async fetchNegotiatedChild(
    repository: RepositoryName,
    reference: Reference,
    accept: readonly string[],
    candidates: readonly Candidate[],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    // Most clients accept both index types: nothing to negotiate, no query.
    if (accept.includes('*/*') || (accept.includes(MediaType.ociIndex) && accept.includes(MediaType.dockerManifestList))) return;
    const stored = await this.localManifest(repository, reference);
    if (!stored || manifestKindOf(stored.mediaType) !== 'index') return;
    if (accept.includes(stored.mediaType) || accept.includes('*/*')) return;
    if (!accept.includes(MediaType.dockerManifest) && !accept.includes(MediaType.ociManifest)) return;
    const { bytes } = await this.registry.manifests.get(repository, reference);
    const child = parseManifest(bytes, stored.mediaType).manifests.find(
      (m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64' && accept.includes(m.mediaType),
    );
    if (!child || (await this.localManifest(repository, { kind: 'digest', digest: child.digest }))) return;
    // Best effort: without the child the client gets the index, as the registry alone would answer.
    await this.fetchByDigest(repository, child.digest, candidates, signal).catch((error: unknown) => {
      // An upstream that cannot be asked has been logged as such already.
      if (error instanceof RegistryError && error.errorName === 'UPSTREAM_UNAVAILABLE') return;
      this.logger.warn({ repository, digest: child.digest.toString(), error: String(error) }, 'could not fetch the index child for an old client');
    });
  }

  private async localManifest(repository: RepositoryName, reference: Reference): Promise<StoredManifest | undefined> {
    return this.registry.manifests.describe(repository, reference).catch((error: unknown) => {
      if (error instanceof RegistryError && error.errorName === 'MANIFEST_UNKNOWN') return undefined;
      throw error;
    });
  }

  private async hit(repository: RepositoryName, digest: Digest): Promise<void> {
    this.counters.hits++;
    await this.registry.cache.recordPull(repository, digest, new Date(this.now()));
  }

  // ---- blobs

  private async localBlob(repository: RepositoryName, digest: Digest): Promise<{ size: number } | undefined> {
    return this.registry.blobs.stat(repository, digest).catch((error: unknown) => {
      if (error instanceof RegistryError && error.errorName === 'BLOB_UNKNOWN') return undefined;
      throw error;
    });
  }

  /**
   * A blob the store already holds (under another repository) is linked rather than fetched,
   * once it is established that this repository's upstream has it: a cached manifest of the
   * repository references it, or the upstream answers a HEAD for it. Linking on the digest
   * alone would let anyone who knows a digest read a private hosted blob through a cached name.
   * 'missing': not stored, fetch it; 'absent': the upstream does not have it.
   */
  private async linkIfUpstreamHas(
    candidate: Candidate,
    repository: RepositoryName,
    digest: Digest,
    errors: UpstreamFailure[],
    signal: AbortSignal | undefined,
  ): Promise<{ size: number } | 'missing' | 'absent'> {
    if ((await this.registry.cache.storedBlobSize(digest)) === undefined) return 'missing';
    if (!(await this.registry.cache.isReferenced(repository, digest))) {
      let head;
      try {
        head = await candidate.upstream.client.headBlob(candidate.remote, digest.toString(), signal);
        this.health.answered(candidate.upstream.config.name);
      } catch (error) {
        errors.push(this.upstreamFailure(candidate, error));
        return 'absent';
      }
      if (!head) return 'absent';
    }
    await this.registry.cache.recordItem(repository, digest, candidate.upstream.config.name, new Date(this.now()));
    return (await this.registry.cache.linkStoredBlob(repository, digest)) ?? 'missing';
  }

  private startFill(candidate: Candidate, repository: RepositoryName, digest: Digest, out: PassThrough | undefined): BlobFill {
    const key = fillKey(candidate, digest);
    const upstream = candidate.upstream.config.name;
    const fill = new BlobFill({
      registry: this.registry,
      client: candidate.upstream.client,
      upstream,
      upstreamRepository: candidate.remote,
      repository,
      digest,
      firstClient: out,
    });
    this.fills.set(key, fill);
    this.counters.blobFetches++;
    // Recorded once the upstream has it and before the bytes land: a record without a blob is
    // harmless, a cached blob without a record would look hosted to eviction.
    void fill.started
      .then((start) => {
        this.health.answered(upstream);
        return start.kind === 'streaming' ? this.registry.cache.recordItem(repository, digest, upstream, new Date(this.now())) : undefined;
      })
      .catch((error: unknown) => {
        if (error instanceof UpstreamError) return;
        this.logger.warn({ repository, digest: digest.toString(), error: String(error) }, 'could not record a cached blob');
      });
    fill.done.then(
      ({ size }) => this.logger.info({ upstream, repository, digest: digest.toString(), size }, 'blob cached from upstream'),
      (error: unknown) => {
        if (error instanceof RegistryError && error.errorName === 'UPSTREAM_CONTENT_INVALID') {
          this.counters.verificationFailures++;
          this.logger.warn({ upstream, repository, detail: error.detail }, 'upstream blob refused: it does not match its digest');
        } else if (!(error instanceof RegistryError && error.errorName === 'BLOB_UNKNOWN') && !(error instanceof UpstreamError)) {
          // (An upstream that did not answer at all is reported, once per outage, by upstreamFailure.)
          this.logger.warn({ upstream, repository, digest: digest.toString(), error: String(error) }, 'blob fetch from upstream failed');
        }
      },
    );
    void fill.done
      .catch(() => undefined)
      .finally(() => {
        if (this.fills.get(key) === fill) this.fills.delete(key);
      });
    return fill;
  }

  /** Waits for another request's fetch; then the blob is in the store, linked here too. */
  private async join(
    fill: BlobFill,
    candidate: Candidate,
    repository: RepositoryName,
    digest: Digest,
    signal: AbortSignal | undefined,
  ): Promise<'absent' | 'cached'> {
    const start = await untilSettled(fill.started, signal).catch((error: unknown) => {
      if (error instanceof UpstreamError) throw unavailableOr([this.upstreamFailure(candidate, error)], error);
      throw error;
    });
    if (start.kind === 'absent') return 'absent';
    await untilSettled(fill.done, signal);
    if (!(await this.localBlob(repository, digest))) {
      await this.registry.cache.recordItem(repository, digest, candidate.upstream.config.name, new Date(this.now()));
      await this.registry.cache.linkStoredBlob(repository, digest);
    }
    return 'cached';
  }

  // ---- upstreams

  /**
   * The upstreams that serve the name, in configuration order; with ?ns=, only those whose
   * hosts include it (and those serve the name as containerd sends it, prefix or not).
   */
  private candidatesFor(repository: RepositoryName, selection: UpstreamSelection): Candidate[] {
    const candidates: Candidate[] = [];
    for (const upstream of this.upstreams) {
      if (!selectedBy(upstream.config, selection.ns)) continue;
      const remote = upstreamRepositoryName(upstream.config, repository, selection.ns);
      if (remote !== undefined) candidates.push({ upstream, remote });
    }
    return candidates;
  }

  /**
   * The client checks manifest bytes against their digests itself and reports a mismatch (or
   * an oversized or untyped manifest) as a protocol error: content refused, not an outage, so
   * neither another upstream nor a stale copy stands in for it.
   */
  private throwIfContentInvalid(candidate: Candidate, repository: RepositoryName, error: unknown): void {
    if (!(error instanceof UpstreamError) || error.kind !== 'protocol') return;
    const upstream = candidate.upstream.config.name;
    this.counters.verificationFailures++;
    this.logger.warn({ upstream, repository, error: error.message }, 'upstream manifest refused');
    throw new RegistryError('UPSTREAM_CONTENT_INVALID', { upstream, reason: error.message }, { cause: error });
  }

  /** Records a failed upstream request (logged once per outage, see UpstreamHealth); anything else is rethrown. */
  private upstreamFailure(candidate: Candidate, error: unknown): UpstreamFailure {
    if (!(error instanceof UpstreamError)) throw error;
    const failure: UpstreamFailure = {
      upstream: candidate.upstream.config.name,
      kind: error.kind,
      status: error.status,
      message: error.message,
    };
    this.health.failed(failure);
    return failure;
  }
}

function fillKey(candidate: Candidate, digest: Digest): string {
  return `${candidate.upstream.config.name}\n${digest.toString()}`;
}

/** UPSTREAM_UNAVAILABLE when an upstream failed (it might have had the content), else `notFound`. */
function unavailableOr(errors: readonly UpstreamFailure[], notFound: Error): Error {
  if (errors.length === 0) return notFound;
  return new RegistryError('UPSTREAM_UNAVAILABLE', {
    upstreams: errors.map((e) => ({ name: e.upstream, kind: e.kind, ...(e.status === undefined ? {} : { status: e.status }) })),
  });
}

