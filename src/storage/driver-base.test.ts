// Tests of DriverBase and the error mapping, over a protocol that records what reaches it: no
// invalid key, bad offset or aborted signal gets through to a protocol, and whatever a
// protocol throws leaves as the storage error the contract names. The behaviour of real drivers
// is the driver suite's (storage/testing/driver-suite.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { InvalidOffsetError, InvalidPathError, PathNotFoundError, StorageError, StorageFullError } from '../errors/storage.js';
import type { StatInfo, StorageWriter } from './driver.js';
import { DriverBase } from './driver-base.js';
import type { DriverProtocol, ReadRange } from './driver-protocol.js';
import { ErrorMapper, type ServiceErrors } from './error-mapping.js';
import { INVALID_KEYS } from './testing/driver-suite.js';

/** A service whose errors carry a `code`: "gone" is not found, "full" no space, "clash" a conflict. */
class ServiceError extends Error {
  constructor(readonly code: string) {
    super(`service says ${code} at /secret/path`);
  }
}

const codeOf = (error: unknown): string | undefined => (error instanceof ServiceError ? error.code : undefined);
const service: ServiceErrors = {
  isNotFound: (error) => codeOf(error) === 'gone',
  codeOf,
  isFull: (error) => codeOf(error) === 'full',
  isConflict: (error) => codeOf(error) === 'clash',
};

/** Records every call; fails each with `failure` when set. */
class RecordingProtocol implements DriverProtocol {
  readonly name = 'recording';
  readonly errors = new ErrorMapper(this.name, service);
  readonly calls: string[] = [];
  failure: unknown;

  #called(call: string): void {
    this.calls.push(call);
    if (this.failure !== undefined) throw this.failure;
  }

  async stat(key: string): Promise<StatInfo> {
    this.#called(`stat ${key}`);
    return { key, size: 0, modifiedAt: new Date(0), isDirectory: false };
  }
  async getContent(key: string): Promise<Buffer> {
    this.#called(`getContent ${key}`);
    return Buffer.alloc(0);
  }
  async putContent(key: string): Promise<void> {
    this.#called(`putContent ${key}`);
  }
  async reader(key: string, range: ReadRange): Promise<Readable> {
    this.#called(`reader ${key} ${range.offset} ${range.length}`);
    return Readable.from([]);
  }
  async writer(key: string, append: boolean): Promise<StorageWriter> {
    this.#called(`writer ${key} ${append}`);
    throw new Error('not needed here');
  }
  async list(prefix: string): Promise<string[]> {
    this.#called(`list ${prefix}`);
    return [];
  }
  async move(sourceKey: string, destinationKey: string): Promise<void> {
    this.#called(`move ${sourceKey} ${destinationKey}`);
  }
  async delete(key: string): Promise<void> {
    this.#called(`delete ${key}`);
  }
}

/** Every method of the contract, called with key in the place of every key it takes. */
function everyCall(driver: DriverBase, key: string, signal?: AbortSignal): Array<[string, () => Promise<unknown>]> {
  const options = signal === undefined ? {} : { signal };
  return [
    ['stat', () => driver.stat(key, options)],
    ['getContent', () => driver.getContent(key, options)],
    ['putContent', () => driver.putContent(key, Buffer.from('x'), options)],
    ['reader', () => driver.reader(key, options)],
    ['writer', () => driver.writer(key, { append: false, ...options })],
    ['list', () => driver.list(key, options)],
    ['move from', () => driver.move(key, 'ok', options)],
    ['move to', () => driver.move('ok', key, options)],
    ['delete', () => driver.delete(key, options)],
  ];
}

describe('DriverBase', () => {
  it('refuses invalid keys with InvalidPathError before the protocol sees them', async () => {
    const protocol = new RecordingProtocol();
    const driver = new DriverBase(protocol);
    for (const key of INVALID_KEYS) {
      for (const [method, call] of everyCall(driver, key)) {
        if (method === 'list' && key === '') continue; // '' is the root, for list() only
        await assert.rejects(call(), InvalidPathError, `${method} ${JSON.stringify(key)}`);
      }
    }
    assert.deepEqual(protocol.calls, []);
  });

  it('rejects with the reason of a signal that has aborted, before the protocol sees the call', async () => {
    const protocol = new RecordingProtocol();
    const driver = new DriverBase(protocol);
    const reason = new DOMException('stop', 'AbortError');
    for (const [method, call] of everyCall(driver, 'a/b', AbortSignal.abort(reason))) {
      await assert.rejects(call(), (error) => error === reason, method);
    }
    assert.deepEqual(protocol.calls, []);
  });

  it('checks read offsets and lengths, and hands the protocol a whole range', async () => {
    const protocol = new RecordingProtocol();
    const driver = new DriverBase(protocol);
    await assert.rejects(driver.reader('a', { offset: -1 }), InvalidOffsetError);
    await assert.rejects(driver.reader('a', { offset: 1.5 }), InvalidOffsetError);
    await assert.rejects(driver.reader('a', { length: -1 }), RangeError);
    await driver.reader('a');
    await driver.reader('a', { offset: 5, length: 7 });
    assert.deepEqual(protocol.calls, ['reader a 0 undefined', 'reader a 5 7']);
  });

  it('maps what the protocol throws as the contract says, naming the key but no path', async () => {
    const protocol = new RecordingProtocol();
    const driver = new DriverBase(protocol);
    protocol.failure = new ServiceError('gone');
    // Reads of a missing key: PathNotFoundError.
    for (const call of [() => driver.stat('k'), () => driver.reader('k'), () => driver.list('k'), () => driver.delete('k')]) {
      await assert.rejects(call(), (error) => error instanceof PathNotFoundError && error.key === 'k');
    }
    await assert.rejects(driver.writer('k', { append: true }), PathNotFoundError, 'appending needs the content');
    // Writes: "not found" is only a failure to write.
    await assert.rejects(driver.writer('k', { append: false }), (error) => {
      assert.ok(error instanceof StorageError && !(error instanceof PathNotFoundError));
      assert.equal(error.message, 'recording: open failed for "k" (gone)');
      return true;
    });
    await assert.rejects(driver.move('from', 'to'), (error) => {
      assert.ok(error instanceof StorageError && !(error instanceof PathNotFoundError));
      assert.equal(error.message, 'recording: move failed for "to" (gone)');
      return true;
    });
    protocol.failure = new ServiceError('clash');
    await assert.rejects(driver.putContent('k', Buffer.from('x')), {
      message: 'recording: cannot write "k": it conflicts with existing content (clash)',
    });
    protocol.failure = new ServiceError('full');
    await assert.rejects(driver.putContent('k', Buffer.from('x')), StorageFullError);
    protocol.failure = new Error('no code');
    await assert.rejects(driver.getContent('k'), (error) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.message, 'recording: read failed for "k" (unknown error)');
      assert.equal(error.cause, protocol.failure);
      return true;
    });
  });

  it('lets storage errors and AbortErrors of the protocol through unchanged', async () => {
    const protocol = new RecordingProtocol();
    const driver = new DriverBase(protocol);
    for (const failure of [new PathNotFoundError('recording', 'other'), new DOMException('late', 'AbortError')]) {
      protocol.failure = failure;
      await assert.rejects(driver.move('a', 'b'), (error) => error === failure);
      await assert.rejects(driver.stat('a'), (error) => error === failure);
    }
  });
});
