// How AWS SDK errors read, for the shared error mapping (storage/error-mapping.ts). The SDK
// names its errors after the S3 error code ("NoSuchKey") or, for bodiless responses such as
// HEAD, after the status ("NotFound"); both, and a bare 404, mean that nothing is stored at the
// key. Messages name the S3 code and status only, never the endpoint or credentials.
import type { ServiceErrors } from '../error-mapping.js';

const NOT_FOUND_NAMES = new Set(['NoSuchKey', 'NotFound', 'NoSuchUpload']);

/** The S3 error code (or SDK error name) and HTTP status of an error, when it has them. */
export function s3ErrorOf(error: unknown): { name: string; status: number | undefined } | undefined {
  if (!(error instanceof Error)) {
    return undefined;
  }
  const metadata = '$metadata' in error ? error.$metadata : undefined;
  const status = typeof metadata === 'object' && metadata !== null && 'httpStatusCode' in metadata ? metadata.httpStatusCode : undefined;
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

export const s3Errors: ServiceErrors = {
  isNotFound,
  codeOf: (error) => {
    const s3 = s3ErrorOf(error);
    return s3 === undefined ? undefined : `${s3.name}${s3.status === undefined ? '' : ` ${s3.status}`}`;
  },
};
