// The StorageDriver every driver is: a DriverProtocol (driver-protocol.ts) wrapped in what all
// drivers do the same way, once. Before the protocol sees a call, the key is checked
// (keys.ts: InvalidPathError, and nothing is touched), a read's offset and length are checked,
// and a signal that has already aborted rejects the call with its reason; whatever the protocol
// throws leaves as a storage error (error-mapping.ts). A driver's public class extends this one
// with its protocol (`class FilesystemDriver extends DriverBase`), so callers construct drivers
// as before and see only the contract.
import type { Readable } from 'node:stream';
import { InvalidOffsetError } from '../errors/storage.js';
import type { CallOptions, ReadOptions, StatInfo, StorageDriver, StorageWriter, WriterOptions } from './driver.js';
import type { DriverProtocol } from './driver-protocol.js';
import type { ErrorMapper } from './error-mapping.js';
import { assertValidKey, assertValidPrefix } from './keys.js';

export class DriverBase<Protocol extends DriverProtocol = DriverProtocol> implements StorageDriver {
  readonly name: string;
  /** The wrapped protocol, for a driver's own extra methods (which check their keys with assertKey). */
  protected readonly protocol: Protocol;
  readonly #errors: ErrorMapper;

  constructor(protocol: Protocol) {
    this.name = protocol.name;
    this.protocol = protocol;
    this.#errors = protocol.errors;
  }

  async stat(key: string, options: CallOptions = {}): Promise<StatInfo> {
    const signal = this.#begin(key, options);
    try {
      return await this.protocol.stat(key, signal);
    } catch (error) {
      throw this.#errors.read(key, 'stat', error);
    }
  }

  async getContent(key: string, options: CallOptions = {}): Promise<Buffer> {
    const signal = this.#begin(key, options);
    try {
      return await this.protocol.getContent(key, signal);
    } catch (error) {
      throw this.#errors.read(key, 'read', error);
    }
  }

  async putContent(key: string, content: Uint8Array, options: CallOptions = {}): Promise<void> {
    const signal = this.#begin(key, options);
    try {
      await this.protocol.putContent(key, content, signal);
    } catch (error) {
      throw this.#errors.write(key, 'write', error);
    }
  }

  async reader(key: string, options: ReadOptions = {}): Promise<Readable> {
    this.assertKey(key);
    const offset = options.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new InvalidOffsetError(this.name, key, offset);
    }
    const length = options.length;
    if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
      throw new RangeError(`${this.name}: invalid read length ${length} for "${key}"`);
    }
    options.signal?.throwIfAborted();
    try {
      return await this.protocol.reader(key, { offset, length }, options.signal);
    } catch (error) {
      throw this.#errors.read(key, 'read', error);
    }
  }

  async writer(key: string, options: WriterOptions): Promise<StorageWriter> {
    const signal = this.#begin(key, options);
    try {
      return await this.protocol.writer(key, options.append, signal);
    } catch (error) {
      // Appending needs the content, so a missing key is PathNotFoundError; a new writer's
      // failure to start is a failure to write.
      throw options.append ? this.#errors.read(key, 'open', error) : this.#errors.write(key, 'open', error);
    }
  }

  async list(prefix: string, options: CallOptions = {}): Promise<string[]> {
    assertValidPrefix(this.name, prefix);
    options.signal?.throwIfAborted();
    try {
      return await this.protocol.list(prefix, options.signal);
    } catch (error) {
      throw this.#errors.read(prefix, 'list', error);
    }
  }

  async move(sourceKey: string, destinationKey: string, options: CallOptions = {}): Promise<void> {
    this.assertKey(sourceKey);
    const signal = this.#begin(destinationKey, options);
    try {
      await this.protocol.move(sourceKey, destinationKey, signal);
    } catch (error) {
      throw this.#errors.write(destinationKey, 'move', error);
    }
  }

  async delete(key: string, options: CallOptions = {}): Promise<void> {
    const signal = this.#begin(key, options);
    try {
      await this.protocol.delete(key, signal);
    } catch (error) {
      throw this.#errors.read(key, 'delete', error);
    }
  }

  /** Throws InvalidPathError unless key is a valid storage key: for a driver's own extra methods. */
  protected assertKey(key: string): void {
    assertValidKey(this.name, key);
  }

  /** Checks key and the signal before a call reaches the protocol; returns the signal. */
  #begin(key: string, options: CallOptions): AbortSignal | undefined {
    assertValidKey(this.name, key);
    options.signal?.throwIfAborted();
    return options.signal;
  }
}
