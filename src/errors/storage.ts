// Errors that storage drivers throw. They carry no HTTP or OCI meaning: the registry layer
// translates them (a missing blob key becomes BLOB_UNKNOWN, and so on).

/** Base class of every error a storage driver throws on purpose. */
export class StorageError extends Error {
  constructor(
    message: string,
    readonly driver: string,
    readonly key: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Nothing is stored under the key. */
export class PathNotFoundError extends StorageError {
  constructor(driver: string, key: string, options?: ErrorOptions) {
    super(`${driver}: no content at "${key}"`, driver, key, options);
  }
}

/** The key is not a valid storage key (empty segment, "..", forbidden characters). */
export class InvalidPathError extends StorageError {
  constructor(driver: string, key: string) {
    super(`${driver}: invalid storage key "${key}"`, driver, key);
  }
}

/** A read asked for an offset beyond the end of the content, or a negative one. */
export class InvalidOffsetError extends StorageError {
  constructor(
    driver: string,
    key: string,
    readonly offset: number,
  ) {
    super(`${driver}: invalid offset ${offset} for "${key}"`, driver, key);
  }
}

/** The store has no space left (ENOSPC, a quota): the write failed, nothing stored was harmed. */
export class StorageFullError extends StorageError {
  constructor(driver: string, key: string, options?: ErrorOptions) {
    super(`${driver}: no space left to write "${key}"`, driver, key, options);
  }
}

/**
 * The write cannot be staged now: the memory the process may hold for requests is in use
 * (MemoryBudget). Nothing was written past what the writer reports; retrying later works.
 */
export class StorageBusyError extends StorageError {
  constructor(driver: string, key: string, options?: ErrorOptions) {
    super(`${driver}: no memory free to stage the write of "${key}" now`, driver, key, options);
  }
}
