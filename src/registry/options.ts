// Settings that change what the registry's use cases allow.
import { RegistryError } from '../errors/index.js';
import type { CacheEvictionPolicy } from './cache-eviction.js';

export interface RegistryOptions {
  /** storage.delete.enabled: whether manifests, tags and blobs may be deleted. */
  readonly deleteEnabled: boolean;
  /**
   * storage.maintenance.uploadpurging.age when purging is on: an upload idle this long is
   * removed, so its last activity must be recorded well within it.
   */
  readonly uploadPurgeAgeMs?: number | undefined;
  /** validation.manifests.indexes: which children of a pushed index must exist; default all. */
  readonly indexChildren?: IndexChildPolicy | undefined;
  /** Pull-through cache upstreams whose content garbage collection evicts (proxy maxage, maxsize); default none. */
  readonly cacheEviction?: readonly CacheEvictionPolicy[] | undefined;
  /** The clock (milliseconds since the epoch), Date.now by default; tests replace it to step past an age. */
  readonly now?: (() => number) | undefined;
  /** Where failures of background work no request waits for (recording pulls) are reported; default nowhere. */
  readonly warn?: ((error: unknown, message: string) => void) | undefined;
}

/**
 * Which child manifests of an index must be in the repository before the index is accepted:
 * all; none; or those whose platform matches an entry of the list (an empty list means all,
 * as in Distribution).
 */
export interface IndexChildPolicy {
  readonly platforms: 'all' | 'none' | 'list';
  readonly platformlist: readonly { readonly architecture: string; readonly os: string }[];
}

export function deletesDisabled(): RegistryError {
  return new RegistryError('UNSUPPORTED', 'deletes are disabled (storage.delete.enabled: false)');
}
