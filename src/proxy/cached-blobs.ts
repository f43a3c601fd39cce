// The pull-through cache's blobs: the registry's BlobReader, with what the local repository does
// not hold fetched from an upstream. A miss streams to the first client while the bytes are
// verified into the cache, one upstream fetch per digest at a time (BlobFill); a blob the store
// already holds under another repository is linked rather than fetched, once the upstream is
// known to have it. A client asking for a blob whose fill is in progress follows the fill's
// partial file (fill-follower.ts) rather than waiting for it to end. A HEAD of something Berth does not hold is a miss (404) when no upstream can
// be asked: clients HEAD before they push, and an outage upstream must not stop pushes to hosted
// names. Mounts into names only an upstream serves are refused; deletes go to the registry.
import { PassThrough } from 'node:stream';
import { untilSettled, UpstreamError } from '../client/index.js';
import { RegistryError } from '../errors/index.js';
import type { ByteRange, Digest, RepositoryName } from '../oci/index.js';
import type {
  BlobContent,
  BlobInfo,
  BlobRead,
  BlobReader,
  BlobRedirect,
  BlobWriter,
  RequestScope,
  WriteScope,
} from '../registry/interfaces.js';
import { BlobFill, type FillStart } from './blob-fill.js';
import { unavailableOr, type CacheContext, type Candidate } from './cache-context.js';
import { followFill } from './fill-follower.js';
import type { UpstreamFailure } from './upstream-health.js';

const WHOLE_BLOB: BlobRead = {};

/** A read of a range already picked (or of the whole blob): no redirect. */
function readOf(range: ByteRange | undefined): BlobRead {
  return range ? { range: () => range } : WHOLE_BLOB;
}

export class CachedBlobs implements BlobReader, BlobWriter {
  /** Blob fetches in flight, by upstream name and digest (single flight). */
  private readonly fills = new Map<string, BlobFill>();

  constructor(
    private readonly cache: CacheContext,
    private readonly assertPushable: (repository: RepositoryName) => void,
  ) {}

  /**
   * Same as the registry's stat: a miss asks the upstream (HEAD) without caching anything.
   * Upstreams that could not be asked make BLOB_UNKNOWN rather than UPSTREAM_UNAVAILABLE.
   */
  async stat(repository: RepositoryName, digest: Digest, scope?: RequestScope): Promise<BlobInfo> {
    const candidates = this.cache
      .candidatesFor(repository, scope?.namespace)
      // A HEAD that may miss does without an upstream that just failed to answer (see UpstreamHealth).
      .filter((c) => !this.cache.health.resting(c.upstream.config.name));
    if (candidates.length === 0) return this.cache.registry.blobs.stat(repository, digest, scope);
    return (await this.localBlob(repository, digest)) ?? this.askUpstreams(candidates, repository, digest, scope?.signal, 'miss');
  }

  /**
   * Same as the registry's open. Only a blob already in the cache is redirected to; a miss
   * streams from the upstream while the bytes are verified into the cache, and a range on a miss
   * asks the upstream for the size (UPSTREAM_UNAVAILABLE when it cannot be asked), then waits
   * for the whole blob and serves the range. A hit costs the registry's one lookup, no more.
   */
  async open(
    repository: RepositoryName,
    digest: Digest,
    read: BlobRead = WHOLE_BLOB,
    scope?: RequestScope,
  ): Promise<BlobContent | BlobRedirect> {
    const candidates = this.cache.candidatesFor(repository, scope?.namespace);
    if (candidates.length === 0) return this.cache.registry.blobs.open(repository, digest, read, scope);
    const cached = await this.openCached(repository, digest, read, scope).catch((error: unknown) => {
      if (error instanceof RegistryError && error.errorName === 'BLOB_UNKNOWN') return undefined;
      throw error;
    });
    if (cached) return cached;
    let range: ByteRange | undefined;
    if (read.range) {
      const { size } = await this.askUpstreams(candidates, repository, digest, scope?.signal, 'unavailable');
      range = read.range(size);
      // Asking may have linked bytes the store held under another repository.
      if (await this.localBlob(repository, digest)) return this.openCached(repository, digest, readOf(range), scope);
    }
    return this.fetch(candidates, repository, digest, range, scope);
  }

  async mount(repository: RepositoryName, from: RepositoryName, digest: Digest, scope?: WriteScope): Promise<BlobInfo | undefined> {
    this.assertPushable(repository);
    return this.cache.registry.blobs.mount(repository, from, digest, scope);
  }

  delete(repository: RepositoryName, digest: Digest, scope?: WriteScope): Promise<void> {
    return this.cache.registry.blobs.delete(repository, digest, scope);
  }

  /** Stops blob fetches in flight (nothing partial is cached) and waits for them to settle. */
  async abortFills(): Promise<void> {
    const fills = [...this.fills.values()];
    for (const fill of fills) fill.abort();
    await Promise.allSettled(fills.map((fill) => fill.done));
  }

  /**
   * A hit: the registry serves it. A redirect (to the blob store) counts no hit, but records the
   * pull all the same, so eviction by least recent pull sees blobs served that way.
   */
  private async openCached(
    repository: RepositoryName,
    digest: Digest,
    read: BlobRead,
    scope: RequestScope | undefined,
  ): Promise<BlobContent | BlobRedirect> {
    const content = await this.cache.registry.blobs.open(repository, digest, read, scope);
    if ('location' in content) {
      await this.cache.ledger.recordPull(repository, digest, new Date(this.cache.now()));
      return content;
    }
    this.cache.counters.hits++;
    try {
      await this.cache.ledger.recordPull(repository, digest, new Date(this.cache.now()));
    } catch (error) {
      content.stream.destroy();
      throw error;
    }
    return content;
  }

  /** A miss: the first upstream that has the blob fills the cache, streaming to this client as it does. */
  private async fetch(
    candidates: readonly Candidate[],
    repository: RepositoryName,
    digest: Digest,
    range: ByteRange | undefined,
    scope: RequestScope | undefined,
  ): Promise<BlobContent | BlobRedirect> {
    const signal = scope?.signal;
    const blobs = this.cache.registry.blobs;
    this.cache.counters.misses++;
    const errors: UpstreamFailure[] = [];
    for (const candidate of candidates) {
      const key = fillKey(candidate, digest);
      let fill = this.fills.get(key);
      if (!fill) {
        const linked = await this.linkIfUpstreamHas(candidate, repository, digest, errors, signal);
        if (linked === 'absent') continue;
        if (linked !== 'missing') return blobs.open(repository, digest, readOf(range), scope);
        fill = this.fills.get(key);
      }
      if (fill) {
        // Another request is fetching this blob from this upstream: follow its partial file, or
        // (a range, or no size known) wait for it and serve from the cache.
        const start = await this.joined(fill, candidate, signal);
        if (start.kind === 'absent') continue;
        if (!range && start.size !== undefined) return this.follow(fill, start.size, candidate, repository, digest);
        await untilSettled(fill.done, signal);
        await this.linkFilled(candidate, repository, digest);
        return blobs.open(repository, digest, readOf(range), scope);
      }

      // No await between the lookup above and here: exactly one request starts the fetch.
      // A roomy buffer: the first client's socket takes bytes in bursts.
      const out = range ? undefined : new PassThrough({ highWaterMark: 1024 * 1024 });
      const started = this.startFill(candidate, repository, digest, out);
      let start: FillStart;
      try {
        start = await started.started;
      } catch (error) {
        errors.push(this.cache.upstreamFailure(candidate, error));
        continue;
      }
      if (start.kind === 'absent') continue;
      if (out && start.size !== undefined) return { size: start.size, stream: out };
      // No Content-Length (or a range): the size and the bytes come from the cache once complete.
      out?.destroy();
      await untilSettled(started.done, signal);
      return blobs.open(repository, digest, readOf(range), scope);
    }
    throw unavailableOr(errors, new RegistryError('BLOB_UNKNOWN', { digest: digest.toString() }));
  }

  /** The size from the first upstream that has the blob (or is fetching it), caching nothing. */
  private async askUpstreams(
    candidates: readonly Candidate[],
    repository: RepositoryName,
    digest: Digest,
    signal: AbortSignal | undefined,
    whenUpstreamFails: 'unavailable' | 'miss',
  ): Promise<BlobInfo> {
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
        this.cache.health.answered(candidate.upstream.config.name);
        if (head) return head;
      } catch (error) {
        errors.push(this.cache.upstreamFailure(candidate, error));
      }
    }
    const unknown = new RegistryError('BLOB_UNKNOWN', { digest: digest.toString() });
    throw whenUpstreamFails === 'miss' ? unknown : unavailableOr(errors, unknown);
  }

  private async localBlob(repository: RepositoryName, digest: Digest): Promise<BlobInfo | undefined> {
    return this.cache.registry.blobs.stat(repository, digest).catch((error: unknown) => {
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
  ): Promise<BlobInfo | 'missing' | 'absent'> {
    const { ledger } = this.cache;
    if ((await ledger.storedBlobSize(digest)) === undefined) return 'missing';
    if (!(await ledger.isReferenced(repository, digest))) {
      let head: BlobInfo | undefined;
      try {
        head = await candidate.upstream.client.headBlob(candidate.remote, digest.toString(), signal);
        this.cache.health.answered(candidate.upstream.config.name);
      } catch (error) {
        errors.push(this.cache.upstreamFailure(candidate, error));
        return 'absent';
      }
      if (!head) return 'absent';
    }
    await ledger.recordItem(repository, digest, candidate.upstream.config.name, new Date(this.cache.now()));
    return (await ledger.linkStoredBlob(repository, digest)) ?? 'missing';
  }

  private startFill(candidate: Candidate, repository: RepositoryName, digest: Digest, out: PassThrough | undefined): BlobFill {
    const { counters, health, ledger, logger } = this.cache;
    const key = fillKey(candidate, digest);
    const upstream = candidate.upstream.config.name;
    const fill = new BlobFill({
      // Into the registry's own uploads: a cached name refuses pushes, not fills.
      uploads: this.cache.registry.uploads,
      client: candidate.upstream.client,
      upstream,
      upstreamRepository: candidate.remote,
      repository,
      digest,
      firstClient: out,
    });
    this.fills.set(key, fill);
    counters.blobFetches++;
    // Recorded once the upstream has it and before the bytes land: a record without a blob is
    // harmless, a cached blob without a record would look hosted to eviction.
    void fill.started
      .then((start) => {
        health.answered(upstream);
        return start.kind === 'streaming' ? ledger.recordItem(repository, digest, upstream, new Date(this.cache.now())) : undefined;
      })
      .catch((error: unknown) => {
        if (error instanceof UpstreamError) return;
        logger.warn({ repository, digest: digest.toString(), error: String(error) }, 'could not record a cached blob');
      });
    fill.done.then(
      ({ size }) => logger.info({ upstream, repository, digest: digest.toString(), size }, 'blob cached from upstream'),
      (error: unknown) => {
        if (error instanceof RegistryError && error.errorName === 'UPSTREAM_CONTENT_INVALID') {
          counters.verificationFailures++;
          logger.warn({ upstream, repository, detail: error.detail }, 'upstream blob refused: it does not match its digest');
        } else if (!(error instanceof RegistryError && error.errorName === 'BLOB_UNKNOWN') && !(error instanceof UpstreamError)) {
          // (An upstream that did not answer at all is reported, once per outage, by upstreamFailure.)
          logger.warn({ upstream, repository, digest: digest.toString(), error: String(error) }, 'blob fetch from upstream failed');
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

  /** How another request's fetch started: absent, or streaming (UPSTREAM_UNAVAILABLE when the upstream failed). */
  private joined(fill: BlobFill, candidate: Candidate, signal: AbortSignal | undefined): Promise<FillStart> {
    return untilSettled(fill.started, signal).catch((error: unknown) => {
      if (error instanceof UpstreamError) throw unavailableOr([this.cache.upstreamFailure(candidate, error)], error);
      throw error;
    });
  }

  /** A blob another request's fill is streaming: its partial file as it grows, then the cached blob. */
  private follow(fill: BlobFill, size: number, candidate: Candidate, repository: RepositoryName, digest: Digest): BlobContent {
    const { ledger, registry } = this.cache;
    const stream = followFill(fill, size, {
      readPartial: (uploadId, offset, length) => ledger.readUploadedBytes(uploadId, offset, length),
      readCommitted: async (offset) => {
        await this.linkFilled(candidate, repository, digest);
        const content = await registry.blobs.open(repository, digest, readOf({ start: offset, end: size - 1 }));
        if ('location' in content) throw new Error('a range read was redirected');
        return content.stream;
      },
    });
    return { size, stream };
  }

  /** After another request's fill: the blob is in the store, linked into this repository too (its name may differ). */
  private async linkFilled(candidate: Candidate, repository: RepositoryName, digest: Digest): Promise<void> {
    if (await this.localBlob(repository, digest)) return;
    await this.cache.ledger.recordItem(repository, digest, candidate.upstream.config.name, new Date(this.cache.now()));
    await this.cache.ledger.linkStoredBlob(repository, digest);
  }
}

function fillKey(candidate: Candidate, digest: Digest): string {
  return `${candidate.upstream.config.name}\n${digest.toString()}`;
}
