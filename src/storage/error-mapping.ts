// Translation of a storage service's own errors (Node's errno codes, S3 error codes) into the
// storage errors of errors/storage.ts, the same way for every driver. A driver describes how
// its service's errors read (ServiceErrors); ErrorMapper does the rest. Messages name the
// driver, the operation, the key and the service's code, never a path, an endpoint or a
// credential; the original error is kept as `cause` for logs.
import { PathNotFoundError, StorageError, StorageFullError } from '../errors/storage.js';

/** How one storage service's errors read. */
export interface ServiceErrors {
  /** True when the error says nothing is stored at the key (or below it). */
  isNotFound(error: unknown): boolean;
  /** The service's short name for the error ("ENOENT", "NoSuchBucket 404"), for messages. */
  codeOf(error: unknown): string | undefined;
  /** True when the store has no space left (StorageFullError). Default: never. */
  isFull?(error: unknown): boolean;
  /** True when a write failed because the key conflicts with existing content. Default: never. */
  isConflict?(error: unknown): boolean;
}

/** True for the error an AbortSignal produces (ours or a library's); those propagate unchanged. */
export function isAbort(error: unknown): error is Error {
  return error instanceof Error && error.name === 'AbortError';
}

/** Maps one driver's service errors; storage errors and abort errors pass through unchanged. */
export class ErrorMapper {
  constructor(
    /** The driver's name, in every error. */
    readonly driver: string,
    readonly service: ServiceErrors,
  ) {}

  /**
   * An error of a read-like operation on key (stat, read, list, delete, open for append):
   * "not found" becomes PathNotFoundError.
   */
  read(key: string, operation: string, error: unknown): Error {
    if (error instanceof StorageError || isAbort(error)) return error;
    if (this.service.isNotFound(error)) return new PathNotFoundError(this.driver, key, { cause: error });
    return this.#unexpected(key, operation, error);
  }

  /**
   * An error of a write-like operation on key, where "not found" does not mean that the key is
   * unknown (a missing parent directory, an upload that vanished) and a key that conflicts with
   * existing content (a file where a directory should be) is said so.
   */
  write(key: string, operation: string, error: unknown): Error {
    if (error instanceof StorageError || isAbort(error)) return error;
    if (this.service.isConflict?.(error) === true) {
      return new StorageError(
        `${this.driver}: cannot ${operation} "${key}": it conflicts with existing content (${this.#codeOf(error)})`,
        this.driver,
        key,
        { cause: error },
      );
    }
    return this.#unexpected(key, operation, error);
  }

  #unexpected(key: string, operation: string, error: unknown): StorageError {
    if (this.service.isFull?.(error) === true) return new StorageFullError(this.driver, key, { cause: error });
    return new StorageError(`${this.driver}: ${operation} failed for "${key}" (${this.#codeOf(error)})`, this.driver, key, {
      cause: error,
    });
  }

  #codeOf(error: unknown): string {
    return this.service.codeOf(error) ?? 'unknown error';
  }
}
