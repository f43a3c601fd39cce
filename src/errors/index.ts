// The error layer's public face: the catalogue and RegistryError, and the storage driver errors.
export { errorCatalogue, RegistryError, type ErrorDefinition, type ErrorName } from './catalogue.js';
export { StorageError, PathNotFoundError, InvalidPathError, InvalidOffsetError, StorageFullError, StorageBusyError } from './storage.js';
