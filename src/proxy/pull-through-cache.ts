// The pull-through cache: the registry's interfaces (RegistryServices), decorated with upstream
// registries. Manifest and blob reads that the local repository cannot answer are resolved
// through the upstreams that serve the name (cached-manifests.ts, cached-blobs.ts), with
// containerd's ?ns= carried per request in the RequestScope; pushes into names only an upstream
// serves are refused; everything else is the registry's. The registry side of the cache (storing
// what upstreams sent, its books) is the PullThroughLedger the composition root hands in.
import { RegistryError } from '../errors/index.js';
import type { RepositoryName } from '../oci/index.js';
import type {
  BlobUploads,
  CatalogLister,
  HealthReport,
  PullThroughLedger,
  ReferrerLister,
  RegistryServices,
  TagLister,
} from '../registry/interfaces.js';
import { CacheContext, type ProxyLogger, type Upstream } from './cache-context.js';
import { CachedBlobs } from './cached-blobs.js';
import { CachedManifests } from './cached-manifests.js';
import { UpstreamHealth } from './upstream-health.js';
import { isUnderPrefix } from './upstream-map.js';

export interface PullThroughCacheOptions {
  /** The clock (milliseconds since the epoch); tests replace it to step past a TTL. */
  readonly now?: () => number;
}

export class PullThroughCache implements RegistryServices {
  readonly blobs: CachedBlobs;
  readonly manifests: CachedManifests;
  readonly uploads: BlobUploads;
  readonly listings: TagLister & CatalogLister;
  readonly referrers: ReferrerLister;
  private readonly cache: CacheContext;
  /** Aborted by close(): work shared by several requests does not follow any one request's signal. */
  private readonly closing = new AbortController();

  constructor(
    private readonly registry: RegistryServices,
    ledger: PullThroughLedger,
    private readonly upstreams: readonly Upstream[],
    logger: ProxyLogger,
    options: PullThroughCacheOptions = {},
  ) {
    const now = options.now ?? Date.now;
    this.cache = new CacheContext(registry, ledger, upstreams, new UpstreamHealth(logger, now), logger, now, this.closing.signal);
    const assertPushable = (repository: RepositoryName): void => this.assertPushable(repository);
    this.blobs = new CachedBlobs(this.cache, assertPushable);
    this.manifests = new CachedManifests(this.cache, assertPushable);
    this.uploads = guardedUploads(registry.uploads, assertPushable);
    this.listings = registry.listings;
    this.referrers = registry.referrers;
  }

  /** Counters for logs and metrics (a snapshot). */
  get stats(): Readonly<Record<string, number>> {
    return { ...this.cache.counters };
  }

  /**
   * True when the repository lies under an upstream's prefix namespace (e.g. docker.io/...):
   * pushes there are refused. Root-namespace upstreams ("") never make a name proxied-only.
   */
  isProxiedOnly(repository: RepositoryName): boolean {
    return this.upstreams.some((u) => isUnderPrefix(u.config, repository));
  }

  assertPushable(repository: RepositoryName): void {
    this.registry.assertPushable(repository);
    if (this.isProxiedOnly(repository)) {
      throw new RegistryError(
        'UNSUPPORTED',
        { repository },
        { message: `${repository} is a cache of an upstream registry: push to a hosted name instead` },
      );
    }
  }

  health(): Promise<HealthReport> {
    return this.registry.health();
  }

  /** Stops blob fetches in flight (nothing partial is cached) and closes the upstream clients. */
  async close(): Promise<void> {
    this.closing.abort(new RegistryError('UNAVAILABLE', 'the registry is shutting down'));
    await this.blobs.abortFills();
    await Promise.allSettled(this.upstreams.map((u) => u.client.close()));
  }
}

/** The registry's uploads, refusing to start one in a name only an upstream serves. */
function guardedUploads(uploads: BlobUploads, assertPushable: (repository: RepositoryName) => void): BlobUploads {
  return {
    start: async (repository) => {
      assertPushable(repository);
      return uploads.start(repository);
    },
    status: (repository, id) => uploads.status(repository, id),
    append: (repository, id, chunk, options) => uploads.append(repository, id, chunk, options),
    complete: (repository, id, digest, lastChunk, options) => uploads.complete(repository, id, digest, lastChunk, options),
    cancel: (repository, id) => uploads.cancel(repository, id),
  };
}
