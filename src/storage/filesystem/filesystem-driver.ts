// The filesystem storage driver: each key is a file (or a directory, for a prefix) below one
// root directory. Keys are validated before any path is built, and every resolved path is
// checked to lie inside the root. Replacements go through a temporary file and a rename, and
// every rename is followed by an fsync of the directory, so content survives a crash whole.
import { open, readFile, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { InvalidOffsetError, InvalidPathError, PathNotFoundError } from '../../errors/storage.js';
import type {
  CallOptions,
  ReadOptions,
  StatInfo,
  StorageDriver,
  StorageWriter,
  WriterOptions,
} from '../driver.js';
import { assertValidKey, assertValidPrefix, isValidKeySegment } from '../keys.js';
import { ensureDirectory, fsyncDirectory } from './durability.js';
import { errorCode, toStorageError, toWriteError } from './fs-errors.js';
import { FileContentStream } from './file-content-stream.js';
import { FilesystemWriter } from './filesystem-writer.js';
import type { MemoryBudget } from '../memory-budget.js';
import { temporaryPathBeside } from './temp-files.js';

export { removeStaleTempFiles } from './temp-files.js';

export interface FilesystemDriverOptions {
  /** Directory holding all content. Created on the first write if it does not exist. */
  readonly rootDirectory: string;
  /** What writers reserve their staging buffers from (the server's request memory budget); default: no bound. */
  readonly memory?: MemoryBudget | undefined;
}

export class FilesystemDriver implements StorageDriver {
  readonly name = 'filesystem';
  readonly #root: string;
  /** The root with a trailing separator: every resolved path must start with it. */
  readonly #rootPrefix: string;
  readonly #memory: MemoryBudget | undefined;

  constructor(options: FilesystemDriverOptions) {
    this.#memory = options.memory;
    this.#root = resolve(options.rootDirectory);
    this.#rootPrefix = this.#root.endsWith(sep) ? this.#root : this.#root + sep;
  }

  async stat(key: string, options: CallOptions = {}): Promise<StatInfo> {
    const path = this.#pathOf(key);
    options.signal?.throwIfAborted();
    try {
      const info = await stat(path);
      const isDirectory = info.isDirectory();
      return { key, size: isDirectory ? 0 : info.size, modifiedAt: info.mtime, isDirectory };
    } catch (error) {
      throw toStorageError(this.name, key, 'stat', error);
    }
  }

  async getContent(key: string, options: CallOptions = {}): Promise<Buffer> {
    const path = this.#pathOf(key);
    options.signal?.throwIfAborted();
    try {
      return await readFile(path, options.signal === undefined ? {} : { signal: options.signal });
    } catch (error) {
      if (errorCode(error) === 'EISDIR') {
        throw new PathNotFoundError(this.name, key, { cause: error }); // a prefix has no content
      }
      throw toStorageError(this.name, key, 'read', error);
    }
  }

  async putContent(key: string, content: Uint8Array, options: CallOptions = {}): Promise<void> {
    const path = this.#pathOf(key);
    options.signal?.throwIfAborted();
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
      options.signal?.throwIfAborted();
      await rename(temporaryPath, path);
    } catch (error) {
      await handle?.close().catch(() => undefined);
      await unlink(temporaryPath).catch(() => undefined);
      throw toWriteError(this.name, key, 'write', error);
    }
    await this.#fsyncDirectory(directory, key, 'write');
  }

  async reader(key: string, options: ReadOptions = {}): Promise<Readable> {
    const path = this.#pathOf(key);
    const offset = options.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new InvalidOffsetError(this.name, key, offset);
    }
    const length = options.length;
    if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
      throw new RangeError(`${this.name}: invalid read length ${length} for "${key}"`);
    }
    const signal = options.signal;
    signal?.throwIfAborted();
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw toStorageError(this.name, key, 'read', error);
    }
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
      throw toStorageError(this.name, key, 'read', error);
    }
  }

  async writer(key: string, options: WriterOptions): Promise<StorageWriter> {
    const path = this.#pathOf(key);
    options.signal?.throwIfAborted();
    let handle: FileHandle;
    let initialSize = 0;
    let temporaryPath: string | undefined;
    if (options.append) {
      try {
        // 'r+': the content must already exist; appending to nothing is an unknown upload.
        handle = await open(path, 'r+');
      } catch (error) {
        throw toStorageError(this.name, key, 'open', error);
      }
      try {
        const info = await handle.stat();
        if (!info.isFile()) {
          throw new PathNotFoundError(this.name, key);
        }
        initialSize = info.size;
      } catch (error) {
        await handle.close().catch(() => undefined);
        throw toStorageError(this.name, key, 'open', error);
      }
    } else {
      // New content goes to a temporary file beside the key's and appears under the key only
      // when the writer commits or closes.
      temporaryPath = temporaryPathBeside(path);
      try {
        await ensureDirectory(dirname(path));
        handle = await open(temporaryPath, 'wx');
      } catch (error) {
        throw toWriteError(this.name, key, 'open', error);
      }
    }
    return new FilesystemWriter({
      driver: this.name,
      key,
      path,
      temporaryPath,
      handle,
      initialSize,
      signal: options.signal,
      memory: this.#memory,
    });
  }

  async list(prefix: string, options: CallOptions = {}): Promise<string[]> {
    assertValidPrefix(this.name, prefix);
    const path = prefix === '' ? this.#root : this.#pathOf(prefix);
    options.signal?.throwIfAborted();
    let names: string[];
    try {
      names = await readdir(path);
    } catch (error) {
      if (prefix === '' && errorCode(error) === 'ENOENT') {
        return []; // nothing was ever written
      }
      throw toStorageError(this.name, prefix, 'list', error);
    }
    // Names that are not valid key segments (temporary files, strangers) are not keys.
    return names
      .filter(isValidKeySegment)
      .map((name) => (prefix === '' ? name : `${prefix}/${name}`))
      .sort();
  }

  async move(sourceKey: string, destinationKey: string, options: CallOptions = {}): Promise<void> {
    const source = this.#pathOf(sourceKey);
    const destination = this.#pathOf(destinationKey);
    options.signal?.throwIfAborted();
    try {
      await stat(source);
    } catch (error) {
      throw toStorageError(this.name, sourceKey, 'move', error);
    }
    try {
      await ensureDirectory(dirname(destination));
      await rename(source, destination);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') {
        // The source vanished between the check and the rename.
        throw new PathNotFoundError(this.name, sourceKey, { cause: error });
      }
      throw toWriteError(this.name, destinationKey, 'move', error);
    }
    await this.#fsyncDirectory(dirname(destination), destinationKey, 'move');
    if (dirname(source) !== dirname(destination)) {
      await this.#fsyncDirectory(dirname(source), sourceKey, 'move');
    }
  }

  async delete(key: string, options: CallOptions = {}): Promise<void> {
    const path = this.#pathOf(key);
    options.signal?.throwIfAborted();
    try {
      // Without `force`, a missing path is an error, which is what the contract asks for.
      await rm(path, { recursive: true });
    } catch (error) {
      throw toStorageError(this.name, key, 'delete', error);
    }
  }

  /** The absolute path of a key; throws InvalidPathError before anything touches the disk. */
  #pathOf(key: string): string {
    assertValidKey(this.name, key);
    const path = join(this.#root, ...key.split('/'));
    // Redundant with key validation, on purpose: a path outside the root is never built.
    if (!path.startsWith(this.#rootPrefix)) {
      throw new InvalidPathError(this.name, key);
    }
    return path;
  }

  async #fsyncDirectory(directory: string, key: string, operation: string): Promise<void> {
    try {
      await fsyncDirectory(directory);
    } catch (error) {
      throw toWriteError(this.name, key, operation, error);
    }
  }
}

