// What the parts of the pull-through cache share (cached-manifests.ts, cached-blobs.ts,
// pull-through-cache.ts): the registry they decorate, its ledger, the upstreams and how they
// have been answering, the counters and the clock; and the rules for choosing the upstreams that
// serve a name and for reporting what they answered.
import { UpstreamError, type RegistryClient } from '../client/index.js';
import { RegistryError } from '../errors/index.js';
import type { RepositoryName } from '../oci/index.js';
import type { PullThroughLedger, RegistryServices } from '../registry/interfaces.js';
import type { UpstreamOptions } from './options.js';
import type { UpstreamFailure, UpstreamHealth } from './upstream-health.js';
import { selectedBy, upstreamRepositoryName } from './upstream-map.js';

export interface Upstream {
  readonly config: UpstreamOptions;
  readonly client: RegistryClient;
}

export interface ProxyLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export const COUNTERS = ['hits', 'misses', 'manifestFetches', 'blobFetches', 'staleServes', 'verificationFailures'] as const;
export type Counter = (typeof COUNTERS)[number];

/** An upstream that serves a repository, with the repository name the upstream knows. */
export interface Candidate {
  readonly upstream: Upstream;
  readonly remote: string;
}

export class CacheContext {
  readonly counters: Record<Counter, number> = Object.fromEntries(COUNTERS.map((c) => [c, 0])) as Record<Counter, number>;

  constructor(
    /** The registry the cache decorates: hosted content, and where cached content is stored. */
    readonly registry: RegistryServices,
    readonly ledger: PullThroughLedger,
    readonly upstreams: readonly Upstream[],
    readonly health: UpstreamHealth,
    readonly logger: ProxyLogger,
    readonly now: () => number,
    /** Aborted by close(): work shared by several requests does not follow any one request's signal. */
    readonly closing: AbortSignal,
  ) {}

  /**
   * The upstreams that serve the name, in configuration order; with ?ns= (`namespace`), only
   * those whose hosts include it (and those serve the name as containerd sends it, prefix or not).
   */
  candidatesFor(repository: RepositoryName, namespace: string | undefined): Candidate[] {
    const candidates: Candidate[] = [];
    for (const upstream of this.upstreams) {
      if (!selectedBy(upstream.config, namespace)) continue;
      const remote = upstreamRepositoryName(upstream.config, repository, namespace);
      if (remote !== undefined) candidates.push({ upstream, remote });
    }
    return candidates;
  }

  /**
   * The client checks manifest bytes against their digests itself and reports a mismatch (or
   * an oversized or untyped manifest) as a protocol error: content refused, not an outage, so
   * neither another upstream nor a stale copy stands in for it.
   */
  throwIfContentInvalid(candidate: Candidate, repository: RepositoryName, error: unknown): void {
    if (!(error instanceof UpstreamError) || error.kind !== 'protocol') return;
    const upstream = candidate.upstream.config.name;
    this.counters.verificationFailures++;
    this.logger.warn({ upstream, repository, error: error.message }, 'upstream manifest refused');
    throw new RegistryError('UPSTREAM_CONTENT_INVALID', { upstream, reason: error.message }, { cause: error });
  }

  /** Records a failed upstream request (logged once per outage, see UpstreamHealth); anything else is rethrown. */
  upstreamFailure(candidate: Candidate, error: unknown): UpstreamFailure {
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

/** UPSTREAM_UNAVAILABLE when an upstream failed (it might have had the content), else `notFound`. */
export function unavailableOr(errors: readonly UpstreamFailure[], notFound: Error): Error {
  if (errors.length === 0) return notFound;
  return new RegistryError('UPSTREAM_UNAVAILABLE', {
    upstreams: errors.map((e) => ({ name: e.upstream, kind: e.kind, ...(e.status === undefined ? {} : { status: e.status }) })),
  });
}
