// The pull-through cache's public face: the cache over the registry and its upstreams.
export {
  PullThroughCache,
  type ProxyLogger,
  type PullThroughCacheOptions,
  type Upstream,
  type UpstreamSelection,
  type WhenUpstreamFails,
} from './pull-through-cache.js';
export type { UpstreamOptions } from './options.js';
export { isUnderPrefix, selectedBy, upstreamRepositoryName } from './upstream-map.js';
