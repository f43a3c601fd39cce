// The pull-through cache's eviction policies as garbage collection takes them: the upstreams of
// the configuration with maxage or maxsize (proxy.upstreams, and proxy.remoteurl as "remote").
import type { Config } from '../config/index.js';
import type { CacheEvictionPolicy } from '../registry/index.js';

export function cacheEvictionPolicies(config: Config): CacheEvictionPolicy[] {
  return config.proxy.upstreams
    .filter((upstream) => upstream.maxAgeMs > 0 || upstream.maxBytes !== undefined)
    .map((upstream) => ({ upstream: upstream.name, maxAgeMs: upstream.maxAgeMs, maxBytes: upstream.maxBytes }));
}
