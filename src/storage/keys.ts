// Validation of storage keys, shared by every driver: DriverBase (driver-base.ts) checks each
// key before a driver's protocol turns it into a path or an object name, so that no key can
// reach outside the store (no "..", no absolute keys, no separators other than '/') and every
// driver accepts exactly the same keys.
import { InvalidPathError } from '../errors/storage.js';

/** Longest key accepted, in characters (all characters are ASCII, so also in bytes). */
export const MAX_KEY_LENGTH = 1024;

/**
 * Longest segment accepted. Filesystems limit a name to 255 bytes; the filesystem driver
 * adds a suffix to a name for its temporary files, so segments stay well below that.
 */
export const MAX_SEGMENT_LENGTH = 200;

const SEGMENT_PATTERN = /^[A-Za-z0-9._-]+$/;

/** True when a single segment (a name between two '/') is allowed in a key. */
export function isValidKeySegment(segment: string): boolean {
  return segment.length > 0 && segment.length <= MAX_SEGMENT_LENGTH && segment !== '.' && segment !== '..' && SEGMENT_PATTERN.test(segment);
}

/** True when key is a valid storage key: relative, '/'-separated, non-empty segments. */
export function isValidKey(key: unknown): key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    return false;
  }
  return key.split('/').every(isValidKeySegment);
}

/** Throws InvalidPathError unless key is a valid storage key. */
export function assertValidKey(driver: string, key: string): void {
  if (!isValidKey(key)) {
    throw new InvalidPathError(driver, key);
  }
}

/**
 * Throws InvalidPathError unless prefix is a valid key or the empty string, which stands
 * for the root of the store (only list() accepts it).
 */
export function assertValidPrefix(driver: string, prefix: string): void {
  if (prefix !== '') {
    assertValidKey(driver, prefix);
  }
}
