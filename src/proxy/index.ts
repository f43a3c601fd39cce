// The pull-through cache's public face: the registry's interfaces decorated with upstreams.
export { PullThroughCache, type PullThroughCacheOptions } from './pull-through-cache.js';
export type { ProxyLogger, Upstream } from './cache-context.js';
export type { UpstreamOptions } from './options.js';
export { isUnderPrefix, selectedBy, upstreamRepositoryName } from './upstream-map.js';
