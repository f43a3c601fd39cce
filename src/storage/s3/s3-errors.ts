// Translation of AWS SDK errors into storage errors. The SDK names its errors after the S3
// error code ("NoSuchKey") or, for bodiless responses such as HEAD, after the status
// ("NotFound"); both, and a bare 404, mean that nothing is stored at the key. Messages name
// the key and the S3 code only, never the endpoint or credentials; the original error is
// kept as `cause` for logs.
import { PathNotFoundError, StorageError } from '../../errors/storage.js';

const NOT_FOUND_NAMES = new Set(['NoSuchKey', 'NotFound', 'NoSuchUpload']);

/** The S3 error code (or SDK error name) and HTTP status of an error, when it has them. */
export function s3ErrorOf(error: unknown): { name: string; status: number | undefined } | undefined {
  if (!(error instanceof Error)) {
    return undefined;
  }
  const metadata = '$metadata' in error ? error.$metadata : undefined;
  const status =
    typeof metadata === 'object' && metadata !== null && 'httpStatusCode' in metadata
      ? metadata.httpStatusCode
      : undefined;
  return { name: error.name, status: typeof status === 'number' ? status : undefined };
}

/** True for "no such object" (and "no such upload", which is the same for an upload's key). */
export function isNotFound(error: unknown): boolean {
  const s3 = s3ErrorOf(error);
  return s3 !== undefined && (NOT_FOUND_NAMES.has(s3.name) || s3.status === 404);
}

/** True for the 416 S3 answers to a range that starts at or past the end. */
export function isInvalidRange(error: unknown): boolean {
  const s3 = s3ErrorOf(error);
  return s3 !== undefined && (s3.name === 'InvalidRange' || s3.status === 416);
}

/** True for the error an AbortSignal produces (ours or the SDK's); those propagate unchanged. */
export function isAbort(error: unknown): error is Error {
  return error instanceof Error && error.name === 'AbortError';
}

/**
 * Maps any error of an operation on key: "not found" becomes PathNotFoundError, storage and
 * abort errors pass through, anything else becomes a StorageError naming the S3 code.
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
 * Maps an error of an operation where "not found" does not mean the key is unknown (an upload
 * part whose multipart upload vanished, say): only storage and abort errors pass through.
 */
export function toWriteError(driver: string, key: string, operation: string, error: unknown): Error {
  if (error instanceof StorageError || isAbort(error)) {
    return error;
  }
  return unexpected(driver, key, operation, error);
}

function unexpected(driver: string, key: string, operation: string, error: unknown): StorageError {
  const s3 = s3ErrorOf(error);
  const code = s3 === undefined ? 'unknown error' : `${s3.name}${s3.status === undefined ? '' : ` ${s3.status}`}`;
  return new StorageError(`${driver}: ${operation} failed for "${key}" (${code})`, driver, key, { cause: error });
}
