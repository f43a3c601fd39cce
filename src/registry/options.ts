// Settings that change what the registry's use cases allow.
import { RegistryError } from '../errors/index.js';

export interface RegistryOptions {
  /** storage.delete.enabled: whether manifests, tags and blobs may be deleted. */
  readonly deleteEnabled: boolean;
  /**
   * storage.maintenance.uploadpurging.age when purging is on: an upload idle this long is
   * removed, so its last activity must be recorded well within it.
   */
  readonly uploadPurgeAgeMs?: number | undefined;
}

export function deletesDisabled(): RegistryError {
  return new RegistryError('UNSUPPORTED', 'deletes are disabled (storage.delete.enabled: false)');
}
