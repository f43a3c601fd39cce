// Settings that change what the registry's use cases allow.
import { RegistryError } from '../errors/index.js';

export interface RegistryOptions {
  /** storage.delete.enabled: whether manifests, tags and blobs may be deleted. */
  readonly deleteEnabled: boolean;
}

export function deletesDisabled(): RegistryError {
  return new RegistryError('UNSUPPORTED', 'deletes are disabled (storage.delete.enabled: false)');
}
