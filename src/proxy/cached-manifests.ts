// The pull-through cache's manifests: the registry's ManifestReader, resolved through upstreams
// when the local repository does not have (or no longer trusts) what is asked for. Hosted
// content wins ("group" order: hosted first, then upstreams in configuration order); cached tags
// are trusted for their upstream's TTL, then revalidated with a HEAD and served stale when the
// upstream is unreachable and marked offline. Concurrent first pulls of a name ask the upstream
// once. Writes go to the registry, except into names only an upstream serves.
import { untilSettled, type ManifestResponse } from '../client/index.js';
import { RegistryError } from '../errors/index.js';
import { Digest, manifestKindOf, MediaType, parseManifest, type ParsedManifest, type RepositoryName } from '../oci/index.js';
import type {
  ManifestPush,
  ManifestReader,
  ManifestWriter,
  Reference,
  RequestScope,
  StoredManifest,
  WriteScope,
} from '../registry/interfaces.js';
import { unavailableOr, type CacheContext, type Candidate } from './cache-context.js';
import type { UpstreamFailure } from './upstream-health.js';

/** Every manifest type Berth stores: the upstream is asked for all, so the cache keeps indexes. */
const MANIFEST_TYPES: readonly string[] = [
  MediaType.ociIndex,
  MediaType.ociManifest,
  MediaType.dockerManifestList,
  MediaType.dockerManifest,
];

export class CachedManifests implements ManifestReader, ManifestWriter {
  /** Manifest resolutions in flight, so concurrent first pulls of a tag ask the upstream once. */
  private readonly resolutions = new Map<string, Promise<void>>();

  constructor(
    private readonly cache: CacheContext,
    private readonly assertPushable: (repository: RepositoryName) => void,
  ) {}

  /** Same results and errors as the registry's get, resolving through upstreams when needed. */
  async get(
    repository: RepositoryName,
    reference: Reference,
    accept?: readonly string[],
    scope?: RequestScope,
  ): Promise<StoredManifest & { bytes: Buffer }> {
    await this.resolveManifest(repository, reference, accept, this.cache.candidatesFor(repository, scope?.namespace), scope);
    return this.cache.registry.manifests.get(repository, reference, accept, scope);
  }

  /**
   * Same results and errors as the registry's describe, resolving through upstreams when needed.
   * A manifest Berth does not hold is MANIFEST_UNKNOWN also when the upstreams could not be asked
   * (one held but not revalidated stays UPSTREAM_UNAVAILABLE).
   */
  async describe(
    repository: RepositoryName,
    reference: Reference,
    accept?: readonly string[],
    scope?: RequestScope,
  ): Promise<StoredManifest> {
    const candidates = this.cache.candidatesFor(repository, scope?.namespace);
    // Every upstream that serves the name just failed to answer: do without them (see UpstreamHealth).
    if (candidates.length > 0 && candidates.every((c) => this.cache.health.resting(c.upstream.config.name))) {
      const miss = await this.unknown(repository, reference);
      if (miss) throw miss;
    }
    try {
      await this.resolveManifest(repository, reference, accept, candidates, scope);
    } catch (error) {
      if (error instanceof RegistryError && error.errorName === 'UPSTREAM_UNAVAILABLE') {
        throw (await this.unknown(repository, reference)) ?? error;
      }
      throw error;
    }
    return this.cache.registry.manifests.describe(repository, reference, accept, scope);
  }

  async put(push: ManifestPush): Promise<StoredManifest & { manifest: ParsedManifest }> {
    this.assertPushable(push.repository);
    return this.cache.registry.manifests.put(push);
  }

  delete(repository: RepositoryName, reference: Reference, scope?: WriteScope): Promise<void> {
    return this.cache.registry.manifests.delete(repository, reference, scope);
  }

  /** MANIFEST_UNKNOWN unless Berth holds the manifest. */
  private async unknown(repository: RepositoryName, reference: Reference): Promise<RegistryError | undefined> {
    if ((await this.localManifest(repository, reference)) !== undefined) return undefined;
    const name = reference.kind === 'tag' ? reference.tag : reference.digest.toString();
    return new RegistryError('MANIFEST_UNKNOWN', { repository, reference: name });
  }

  private async resolveManifest(
    repository: RepositoryName,
    reference: Reference,
    accept: readonly string[] | undefined,
    candidates: readonly Candidate[],
    scope: RequestScope | undefined,
  ): Promise<void> {
    // Not proxied: the registry answers alone (and reports MANIFEST_UNKNOWN itself).
    if (candidates.length === 0) return;
    const name = reference.kind === 'tag' ? reference.tag : reference.digest.toString();
    const key = `${repository}\n${name}\n${scope?.namespace ?? ''}`;
    let running = this.resolutions.get(key);
    if (!running) {
      // Shared by every request for the same name meanwhile, so not tied to this request's signal.
      running = this.resolve(repository, reference, candidates, this.cache.closing).finally(() => this.resolutions.delete(key));
      this.resolutions.set(key, running);
    }
    await untilSettled(running, scope?.signal);
    if (reference.kind === 'tag' && accept && accept.length > 0) {
      await this.fetchNegotiatedChild(repository, reference, accept, candidates, scope?.signal);
    }
  }

  private async resolve(
    repository: RepositoryName,
    reference: Reference,
    candidates: readonly Candidate[],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const { counters, ledger, health, logger } = this.cache;
    const local = await this.localManifest(repository, reference);
    if (reference.kind === 'digest') {
      // Content-addressed: a local copy is final.
      if (local) return this.hit(repository, local.digest);
      counters.misses++;
      return this.fetchByDigest(repository, reference.digest, candidates, signal);
    }
    const cached = local ? await ledger.tag(repository, reference.tag) : undefined;
    // A tag with no cache record, or one pushed over a cached tag, is hosted: hosted content wins.
    if (local && cached?.manifestDigest !== local.digest.toString()) return;
    const source = cached && candidates.find((c) => c.upstream.config.name === cached.upstream);
    if (local && cached && source && this.cache.now() - cached.checkedAt.getTime() < source.upstream.config.tagTtlMs) {
      return this.hit(repository, local.digest);
    }
    counters.misses++;
    const errors: UpstreamFailure[] = [];
    for (const candidate of candidates) {
      const isSource = local !== undefined && candidate === source;
      try {
        if (isSource) {
          const head = await candidate.upstream.client.headManifest(candidate.remote, reference.tag, MANIFEST_TYPES, signal);
          health.answered(candidate.upstream.config.name);
          if (!head) continue;
          if (head.digest === local.digest.toString()) {
            await ledger.markTagChecked(repository, reference.tag, new Date(this.cache.now()));
            return this.hit(repository, local.digest);
          }
        }
        const response = await candidate.upstream.client.getManifest(candidate.remote, reference.tag, MANIFEST_TYPES, signal);
        health.answered(candidate.upstream.config.name);
        if (!response) continue;
        counters.manifestFetches++;
        await this.storeManifest(repository, candidate, response, reference.tag, undefined);
        return;
      } catch (error) {
        this.cache.throwIfContentInvalid(candidate, repository, error);
        const failure = this.cache.upstreamFailure(candidate, error);
        if (isSource && failure.kind === 'unreachable' && candidate.upstream.config.offline) {
          counters.staleServes++;
          // Info, not warn: the outage itself is warned about once, not once per request.
          logger.info(
            {
              upstream: candidate.upstream.config.name,
              repository,
              tag: reference.tag,
              digest: local.digest.toString(),
              error: failure.message,
            },
            'upstream unreachable: serving the cached tag (stale-if-error)',
          );
          await ledger.recordPull(repository, local.digest, new Date(this.cache.now()));
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
      let response: ManifestResponse | undefined;
      try {
        response = await candidate.upstream.client.getManifest(candidate.remote, digest.toString(), MANIFEST_TYPES, signal);
        this.cache.health.answered(candidate.upstream.config.name);
      } catch (error) {
        this.cache.throwIfContentInvalid(candidate, repository, error);
        errors.push(this.cache.upstreamFailure(candidate, error));
        continue;
      }
      if (!response) continue;
      this.cache.counters.manifestFetches++;
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
    const { counters, logger } = this.cache;
    const upstream = candidate.upstream.config.name;
    const announced = response.digest === undefined ? undefined : Digest.tryParse(response.digest);
    const refuse = (detail: Record<string, unknown>): RegistryError => {
      counters.verificationFailures++;
      logger.warn({ upstream, repository, ...detail }, 'upstream manifest refused: it does not match its digest');
      return new RegistryError('UPSTREAM_CONTENT_INVALID', { upstream, ...detail });
    };
    if (typeof announced === 'string') throw refuse({ announced: response.digest?.slice(0, 200), reason: announced });
    for (const expected of [requested, announced]) {
      if (expected === undefined) continue;
      const actual = Digest.of(response.body, expected.algorithm);
      if (!actual.equals(expected)) throw refuse({ expected: expected.toString(), actual: actual.toString() });
    }
    try {
      await this.cache.ledger.putManifest({
        repository,
        bytes: response.body,
        mediaType: response.mediaType,
        expected: requested ?? announced,
        tag,
        upstream,
        at: new Date(this.cache.now()),
      });
    } catch (error) {
      if (error instanceof RegistryError && error.errorName === 'UPSTREAM_CONTENT_INVALID') {
        counters.verificationFailures++;
        logger.warn({ upstream, repository, detail: error.detail }, 'upstream manifest refused');
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
    const { bytes } = await this.cache.registry.manifests.get(repository, reference);
    const child = parseManifest(bytes, stored.mediaType).manifests.find(
      (m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64' && accept.includes(m.mediaType),
    );
    if (!child || (await this.localManifest(repository, { kind: 'digest', digest: child.digest }))) return;
    // Best effort: without the child the client gets the index, as the registry alone would answer.
    await this.fetchByDigest(repository, child.digest, candidates, signal).catch((error: unknown) => {
      // An upstream that cannot be asked has been logged as such already.
      if (error instanceof RegistryError && error.errorName === 'UPSTREAM_UNAVAILABLE') return;
      this.cache.logger.warn(
        { repository, digest: child.digest.toString(), error: String(error) },
        'could not fetch the index child for an old client',
      );
    });
  }

  private async localManifest(repository: RepositoryName, reference: Reference): Promise<StoredManifest | undefined> {
    return this.cache.registry.manifests.describe(repository, reference).catch((error: unknown) => {
      if (error instanceof RegistryError && error.errorName === 'MANIFEST_UNKNOWN') return undefined;
      throw error;
    });
  }

  private async hit(repository: RepositoryName, digest: Digest): Promise<void> {
    this.cache.counters.hits++;
    await this.cache.ledger.recordPull(repository, digest, new Date(this.cache.now()));
  }
}
