// Naming and clean-up of the temporary files that new content (putContent(), new writers) is
// written to before it is renamed into place. A temporary name contains '~', which no storage key may contain, so it can never
// collide with a key and list() can leave it out.
import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { errorCode } from './fs-errors.js';

const TEMP_MARKER = '~berth-tmp~';

/** A fresh temporary name for a file that will be renamed to `name`, in the same directory. */
export function temporaryName(name: string): string {
  return `${name}${TEMP_MARKER}${randomBytes(8).toString('hex')}`;
}

/** A fresh temporary path beside path: same directory, so the rename cannot cross filesystems. */
export function temporaryPathBeside(path: string): string {
  return join(dirname(path), temporaryName(basename(path)));
}

/** True for names that temporaryName() produces. */
export function isTemporaryName(name: string): boolean {
  return name.includes(TEMP_MARKER);
}

export interface RemoveStaleTempFilesOptions {
  /**
   * Only files last modified at least this many milliseconds ago are removed, so that a
   * write in flight (in this process or another sharing the directory) is left alone.
   * Default: one hour.
   */
  readonly olderThanMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Removes temporary files left behind by a crash during a write, anywhere below
 * rootDirectory. Walks the whole tree, so it belongs at start-up or in maintenance jobs.
 * Returns how many files were removed. Symbolic links are not followed.
 */
export async function removeStaleTempFiles(rootDirectory: string, options: RemoveStaleTempFilesOptions = {}): Promise<number> {
  const olderThan = new Date(Date.now() - (options.olderThanMs ?? 60 * 60 * 1000));
  return (await sweepTempFiles(rootDirectory, olderThan, async () => false, options)).removed;
}

/**
 * Removes the temporary files below rootDirectory last modified before olderThan (at or before:
 * a cutoff of now takes everything) whose key (the name they were to be renamed to, relative to
 * the root) isLive does not claim: StorageDriver.sweepAbandonedWrites for the filesystem.
 */
export async function sweepTempFiles(
  rootDirectory: string,
  olderThan: Date,
  isLive: (key: string) => Promise<boolean>,
  options: { readonly signal?: AbortSignal | undefined; readonly dryRun?: boolean | undefined } = {},
): Promise<{ removed: number; bytes: number }> {
  const signal = options.signal;
  const cutoff = olderThan.getTime();
  let removed = 0;
  let bytes = 0;
  const pending = [rootDirectory];
  for (let directory = pending.pop(); directory !== undefined; directory = pending.pop()) {
    signal?.throwIfAborted();
    let entries: Dirent[];
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch (error) {
      if (errorCode(error) === 'ENOENT') {
        continue; // removed meanwhile, or the root does not exist yet
      }
      throw error;
    }
    for (const entry of entries) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) {
        pending.push(path);
      } else if (entry.isFile() && isTemporaryName(entry.name)) {
        try {
          const info = await stat(path);
          if (info.mtimeMs > cutoff) continue;
          const key = relative(rootDirectory, join(directory, entry.name.slice(0, entry.name.indexOf(TEMP_MARKER))))
            .split(sep)
            .join('/');
          if (await isLive(key)) continue;
          if (options.dryRun !== true) await unlink(path);
          removed += 1;
          bytes += info.size;
        } catch (error) {
          if (errorCode(error) !== 'ENOENT') {
            throw error;
          }
        }
      }
    }
  }
  return { removed, bytes };
}
