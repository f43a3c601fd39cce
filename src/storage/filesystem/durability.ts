// Helpers that make directory changes durable. A rename or a new file is only safe across a
// power loss once the directory holding its entry has been fsynced, and a directory created
// by mkdir needs the same in its own parent.
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errorCode } from './fs-errors.js';

/** fsync a directory so that entries added, renamed or removed in it survive a crash. */
export async function fsyncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch (error) {
    // Some platforms and filesystems cannot fsync a directory; there is nothing better to do.
    const code = errorCode(error);
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR' && code !== 'EPERM') {
      throw error;
    }
  } finally {
    await handle?.close();
  }
}

/**
 * Creates directory and its missing parents, and fsyncs every directory that gained an
 * entry, so that a file later placed in directory is reachable after a crash. The directory
 * itself is not fsynced: the caller does that after adding its file.
 */
export async function ensureDirectory(directory: string): Promise<void> {
  const firstCreated = await mkdir(directory, { recursive: true });
  if (firstCreated === undefined) {
    return;
  }
  const gainedEntries = [dirname(firstCreated)];
  for (let current = directory; current !== firstCreated; ) {
    const parent = dirname(current);
    if (parent === current) {
      break; // reached the filesystem root without meeting firstCreated; cannot happen
    }
    gainedEntries.push(parent);
    current = parent;
  }
  for (const path of gainedEntries) {
    await fsyncDirectory(path);
  }
}
