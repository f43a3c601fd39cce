// Translation of Node.js filesystem errors into storage errors. Node's messages carry
// absolute paths; the storage errors built here name only the key, and keep the original
// error as `cause` for logs.
import { PathNotFoundError, StorageError, StorageFullError } from '../../errors/storage.js';

/** The errno code of a Node.js system error ("ENOENT"), if it is one. */
export function errorCode(error: unknown): string | undefined {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}

/**
 * ENOENT: the path does not exist. ENOTDIR: a parent of the path is a file, so nothing can
 * be stored below it either. Both mean "no content at this key".
 */
export function isNotFound(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** True for the error an AbortSignal produces; those propagate unchanged. */
export function isAbort(error: unknown): error is Error {
  return error instanceof Error && error.name === 'AbortError';
}

/**
 * Maps an error from a read-like operation: missing paths become PathNotFoundError, storage
 * and abort errors pass through, anything else becomes a StorageError without the path.
 */
export function toStorageError(driver: string, key: string, operation: string, error: unknown): Error {
  if (error instanceof StorageError || isAbort(error)) {
    return error;
  }
  if (isNotFound(error)) {
    return new PathNotFoundError(driver, key, { cause: error });
  }
  return unexpected(driver, key, operation, error);
}

/**
 * Maps an error from a write-like operation, where a missing or non-directory parent means
 * the key conflicts with existing content (a file where a directory should be), not that
 * the key is unknown.
 */
export function toWriteError(driver: string, key: string, operation: string, error: unknown): Error {
  if (error instanceof StorageError || isAbort(error)) {
    return error;
  }
  const code = errorCode(error);
  if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR') {
    return new StorageError(
      `${driver}: cannot ${operation} "${key}": it conflicts with existing content (${code})`,
      driver,
      key,
      { cause: error },
    );
  }
  return unexpected(driver, key, operation, error);
}

function unexpected(driver: string, key: string, operation: string, error: unknown): StorageError {
  const code = errorCode(error) ?? 'unknown error';
  if (code === 'ENOSPC' || code === 'EDQUOT') return new StorageFullError(driver, key, { cause: error });
  return new StorageError(`${driver}: ${operation} failed for "${key}" (${code})`, driver, key, {
    cause: error,
  });
}
