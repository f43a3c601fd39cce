// How Node.js filesystem errors read, for the shared error mapping (storage/error-mapping.ts).
// Node's messages carry absolute paths; the storage errors made from these name only the key.
import type { ServiceErrors } from '../error-mapping.js';

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

export const filesystemErrors: ServiceErrors = {
  isNotFound,
  codeOf: errorCode,
  isFull: (error) => {
    const code = errorCode(error);
    return code === 'ENOSPC' || code === 'EDQUOT';
  },
  // On a write, a missing or non-directory parent, or a directory where a file should be,
  // means the key conflicts with existing content, not that it is unknown.
  isConflict: (error) => {
    const code = errorCode(error);
    return code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR';
  },
};
