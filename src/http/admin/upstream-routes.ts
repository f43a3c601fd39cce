// Admin API for the pull-through cache's upstreams under /api/v1/upstreams, read-only: each
// upstream of the configuration file (proxy.upstreams; never its credentials) with what the cache
// holds for it (repositories, items, bytes, last pull), and this replica's pull-through counters
// (hits, misses, fetches, stale serves). Upstreams are changed in the configuration file only.
// Administrators only. docs/admin-api.md describes the endpoint.
import { json, type AdminRouter } from '../admin-json.js';

/** An upstream as the configuration file sets it, without its credentials. */
export interface UpstreamSummary {
  readonly name: string;
  readonly url: string;
  readonly namespace: string;
  readonly hosts: readonly string[];
  readonly tagTtlMs: number;
  readonly offline: boolean;
}

/** What the cache holds for one upstream. */
export interface UpstreamCacheState {
  readonly upstream: string;
  readonly repositories: number;
  readonly items: number;
  readonly bytes: number;
  readonly lastPulledAt: string | null;
}

export interface UpstreamRouteDeps {
  readonly upstreams: readonly UpstreamSummary[];
  /** What the cache holds, by upstream name (upstreams with nothing cached may be absent). */
  readonly cacheUsage: () => Promise<readonly UpstreamCacheState[]>;
  /** This replica's pull-through counters since start; empty without upstreams. */
  readonly stats: () => Readonly<Record<string, number>>;
}

const EMPTY_CACHE = { repositories: 0, items: 0, bytes: 0, lastPulledAt: null };

export function registerUpstreamRoutes(router: AdminRouter, deps: UpstreamRouteDeps): void {
  router.route('GET', '/upstreams', async (request, reply) => {
    await router.admin(request);
    const usage = new Map((await deps.cacheUsage()).map((entry) => [entry.upstream, entry]));
    const upstreams = deps.upstreams.map((upstream) => {
      const cached = usage.get(upstream.name);
      return {
        name: upstream.name,
        url: upstream.url,
        namespace: upstream.namespace,
        hosts: upstream.hosts,
        tagTtlMs: upstream.tagTtlMs,
        offline: upstream.offline,
        cache:
          cached === undefined
            ? EMPTY_CACHE
            : { repositories: cached.repositories, items: cached.items, bytes: cached.bytes, lastPulledAt: cached.lastPulledAt },
      };
    });
    return json(reply, 200, { upstreams, stats: deps.stats() });
  });
}
