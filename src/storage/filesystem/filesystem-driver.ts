// The filesystem storage driver: each key is a file (or a directory, for a prefix) below one
// root directory. DriverBase checks keys, offsets and signals and maps errors; the protocol
// below only turns keys into paths and calls the filesystem, and checks once more that every
// path lies inside the root. Replacements go through a temporary file and a rename, and every
// rename is followed by an fsync of the directory, so content survives a crash whole.
import { open, readFile, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { InvalidOffsetError, InvalidPathError, PathNotFoundError } from '../../errors/storage.js';
import type { AbandonedWritesSweep, StatInfo, StorageWriter, SweepOptions } from '../driver.js';
import { DriverBase } from '../driver-base.js';
import type { DriverProtocol, ReadRange } from '../driver-protocol.js';
import { ErrorMapper } from '../error-mapping.js';
import { isValidKeySegment } from '../keys.js';
import type { MemoryBudget } from '../memory-budget.js';
import { ensureDirectory, fsyncDirectory } from './durability.js';
import { FileContentStream } from './file-content-stream.js';
import { FilesystemWriter } from './filesystem-writer.js';
import { errorCode, filesystemErrors } from './fs-errors.js';
import { sweepTempFiles, temporaryPathBeside } from './temp-files.js';

export { removeStaleTempFiles } from './temp-files.js';

export interface FilesystemDriverOptions {
  /** Directory holding all content. Created on the first write if it does not exist. */
  readonly rootDirectory: string;
  /** What writers reserve their staging buffers from (the server's request memory budget); default: no bound. */
  readonly memory?: MemoryBudget | undefined;
}

export class FilesystemDriver extends DriverBase {
  readonly #root: string;

  constructor(options: FilesystemDriverOptions) {
    super(new FilesystemProtocol(options));
    this.#root = resolve(options.rootDirectory);
  }

  /** Removes temporary files of writes cut short (temp-files.ts): the filesystem's abandoned writes. */
  async sweepAbandonedWrites(
    olderThan: Date,
    isLive: (key: string) => Promise<boolean>,
    options: SweepOptions = {},
  ): Promise<AbandonedWritesSweep> {
    options.signal?.throwIfAborted();
    return sweepTempFiles(this.#root, olderThan, isLive, options);
  }
}

class FilesystemProtocol implements DriverProtocol {
  readonly name = 'filesystem';
  readonly errors = new ErrorMapper(this.name, filesystemErrors);
  readonly #root: string;
  /** The root with a trailing separator: every resolved path must start with it. */
  readonly #rootPrefix: string;
  readonly #memory: MemoryBudget | undefined;

  constructor(options: FilesystemDriverOptions) {
    this.#memory = options.memory;
    this.#root = resolve(options.rootDirectory);
    this.#rootPrefix = this.#root.endsWith(sep) ? this.#root : this.#root + sep;
  }

  async stat(key: string): Promise<StatInfo> {
    const info = await stat(this.#pathOf(key));
    const isDirectory = info.isDirectory();
    return { key, size: isDirectory ? 0 : info.size, modifiedAt: info.mtime, isDirectory };
  }

  async getContent(key: string, signal: AbortSignal | undefined): Promise<Buffer> {
    try {
      return await readFile(this.#pathOf(key), signal === undefined ? {} : { signal });
    } catch (error) {
      if (errorCode(error) === 'EISDIR') {
        throw new PathNotFoundError(this.name, key, { cause: error }); // a prefix has no content
      }
      throw error;
    }
  }

  async putContent(key: string, content: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    const path = this.#pathOf(key);
    const directory = dirname(path);
    const temporaryPath = temporaryPathBeside(path);
    let handle: FileHandle | undefined;
    try {
      await ensureDirectory(directory);
      handle = await open(temporaryPath, 'wx');
      await handle.writeFile(content);
      await handle.sync();
      await handle.close();
      handle = undefined;
      signal?.throwIfAborted();
      await rename(temporaryPath, path);
    } catch (error) {
      await handle?.close().catch(() => undefined);
      await unlink(temporaryPath).catch(() => undefined);
      throw error;
    }
    await fsyncDirectory(directory);
  }

  async reader(key: string, range: ReadRange, signal: AbortSignal | undefined): Promise<Readable> {
    const { offset, length } = range;
    const handle = await open(this.#pathOf(key), 'r');
    // From here on the open handle keeps the content readable even if the key is moved
    // or deleted meanwhile; it is closed by the stream, or below on failure.
    try {
      const info = await handle.stat();
      if (info.isDirectory()) {
        throw new PathNotFoundError(this.name, key);
      }
      if (offset > info.size) {
        throw new InvalidOffsetError(this.name, key, offset);
      }
      const end = length === undefined ? info.size : Math.min(info.size, offset + length);
      signal?.throwIfAborted();
      if (end === offset) {
        await handle.close();
        return Readable.from([], { objectMode: false });
      }
      return new FileContentStream(handle, offset, end - offset, signal);
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
  }

  async writer(key: string, append: boolean, signal: AbortSignal | undefined): Promise<StorageWriter> {
    const path = this.#pathOf(key);
    let handle: FileHandle;
    let initialSize = 0;
    let temporaryPath: string | undefined;
    if (append) {
      // 'r+': the content must already exist; appending to nothing is an unknown upload.
      handle = await open(path, 'r+');
      try {
        const info = await handle.stat();
        if (!info.isFile()) {
          throw new PathNotFoundError(this.name, key);
        }
        initialSize = info.size;
      } catch (error) {
        await handle.close().catch(() => undefined);
        throw error;
      }
    } else {
      // New content goes to a temporary file beside the key's and appears under the key only
      // when the writer commits or closes.
      temporaryPath = temporaryPathBeside(path);
      await ensureDirectory(dirname(path));
      handle = await open(temporaryPath, 'wx');
    }
    return new FilesystemWriter({
      errors: this.errors,
      key,
      path,
      temporaryPath,
      handle,
      initialSize,
      signal,
      memory: this.#memory,
    });
  }

  async list(prefix: string): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(prefix === '' ? this.#root : this.#pathOf(prefix));
    } catch (error) {
      if (prefix === '' && errorCode(error) === 'ENOENT') {
        return []; // nothing was ever written
      }
      throw error;
    }
    // Names that are not valid key segments (temporary files, strangers) are not keys.
    return names
      .filter(isValidKeySegment)
      .map((name) => (prefix === '' ? name : `${prefix}/${name}`))
      .sort();
  }

  async move(sourceKey: string, destinationKey: string): Promise<void> {
    const source = this.#pathOf(sourceKey);
    const destination = this.#pathOf(destinationKey);
    try {
      await stat(source);
    } catch (error) {
      throw this.errors.read(sourceKey, 'move', error);
    }
    try {
      await ensureDirectory(dirname(destination));
      await rename(source, destination);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') {
        // The source vanished between the check and the rename.
        throw new PathNotFoundError(this.name, sourceKey, { cause: error });
      }
      throw error;
    }
    await fsyncDirectory(dirname(destination));
    if (dirname(source) !== dirname(destination)) {
      try {
        await fsyncDirectory(dirname(source));
      } catch (error) {
        throw this.errors.write(sourceKey, 'move', error);
      }
    }
  }

  async delete(key: string): Promise<void> {
    // Without `force`, a missing path is an error, which is what the contract asks for.
    await rm(this.#pathOf(key), { recursive: true });
  }

  /** The absolute path of a key DriverBase checked. */
  #pathOf(key: string): string {
    const path = join(this.#root, ...key.split('/'));
    // Redundant with the key check, on purpose: a path outside the root is never built.
    if (!path.startsWith(this.#rootPrefix)) {
      throw new InvalidPathError(this.name, key);
    }
    return path;
  }
}
