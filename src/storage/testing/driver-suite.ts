// The storage driver suite: the behaviour every StorageDriver must show, written against the
// interface only (no filesystem calls) so that every driver runs it unchanged. A driver's
// test file calls runDriverSuite() with a factory for a fresh, empty store.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { InvalidOffsetError, InvalidPathError, PathNotFoundError } from '../../errors/storage.js';
import type { StorageDriver, StorageWriter } from '../driver.js';

export interface DriverUnderTest {
  /** A driver over a store that is empty and used by nothing else. */
  readonly driver: StorageDriver;
  /** Removes everything the driver stored. */
  cleanup(): Promise<void>;
}

const MiB = 1024 * 1024;

/** Keys that every driver must refuse with InvalidPathError before touching anything. */
export const INVALID_KEYS: readonly string[] = [
  '',
  '.',
  '..',
  '/',
  '../x',
  '../victim/file',
  '/abs',
  '/victim/file',
  'a//b',
  'a/',
  'a/./b',
  'a/..',
  'a/../../b',
  'victim/../victim/file',
  'victim/./file',
  'a\u0000b',
  'victim/file\u0000',
  'a\\b',
  '..\\victim\\file',
  'a b',
  'a:b',
  'ä',
  'x'.repeat(5000),
];

export function runDriverSuite(name: string, makeDriver: () => Promise<DriverUnderTest>): void {
  describe(`storage driver suite: ${name}`, () => {
    let underTest: DriverUnderTest | undefined;
    let keyCounter = 0;

    function driver(): StorageDriver {
      if (underTest === undefined) {
        throw new Error('the driver was not created');
      }
      return underTest.driver;
    }

    /** A fresh key prefix per test, so that tests never see each other's content. */
    function scope(label: string): string {
      keyCounter += 1;
      return `t${keyCounter}-${label}`;
    }

    before(async () => {
      underTest = await makeDriver();
    });

    after(async () => {
      await underTest?.cleanup();
    });

    describe('putContent and getContent', () => {
      it('round-trips content', async () => {
        const key = `${scope('roundtrip')}/file`;
        await driver().putContent(key, Buffer.from('hello, registry'));
        assert.equal((await driver().getContent(key)).toString(), 'hello, registry');
      });

      it('stores empty content', async () => {
        const key = `${scope('empty')}/file`;
        await driver().putContent(key, new Uint8Array(0));
        assert.equal((await driver().getContent(key)).length, 0);
        const info = await driver().stat(key);
        assert.equal(info.size, 0);
        assert.equal(info.isDirectory, false);
      });

      it('stores binary content byte for byte', async () => {
        const key = `${scope('binary')}/file`;
        const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const content = Buffer.concat([everyByte, randomBytes(100_000), everyByte]);
        await driver().putContent(key, content);
        assert.deepEqual(await driver().getContent(key), content);
      });

      it('stores only the bytes a Uint8Array view covers', async () => {
        const key = `${scope('view')}/file`;
        const backing = Buffer.from('xxxxpayloadyyyy');
        await driver().putContent(key, new Uint8Array(backing.buffer, backing.byteOffset + 4, 7));
        assert.equal((await driver().getContent(key)).toString(), 'payload');
      });

      it('replaces content, including with shorter content', async () => {
        const key = `${scope('overwrite')}/file`;
        await driver().putContent(key, Buffer.from('a much longer first version'));
        await driver().putContent(key, Buffer.from('short'));
        assert.equal((await driver().getContent(key)).toString(), 'short');
        assert.equal((await driver().stat(key)).size, 5);
      });

      it('creates the prefixes of a deep key', async () => {
        const prefix = scope('deep');
        await driver().putContent(`${prefix}/a/b/c/file`, Buffer.from('x'));
        for (const key of [prefix, `${prefix}/a`, `${prefix}/a/b`, `${prefix}/a/b/c`]) {
          assert.equal((await driver().stat(key)).isDirectory, true, key);
        }
      });

      it('has no content at a prefix', async () => {
        const prefix = scope('prefix-content');
        await driver().putContent(`${prefix}/dir/file`, Buffer.from('x'));
        await assert.rejects(driver().getContent(`${prefix}/dir`), PathNotFoundError);
        await assert.rejects(driver().reader(`${prefix}/dir`), PathNotFoundError);
      });
    });

    describe('stat', () => {
      it('describes content', async () => {
        const key = `${scope('stat')}/file`;
        await driver().putContent(key, Buffer.from('12345'));
        const info = await driver().stat(key);
        assert.equal(info.key, key);
        assert.equal(info.size, 5);
        assert.equal(info.isDirectory, false);
        assert.ok(info.modifiedAt instanceof Date);
        assert.ok(!Number.isNaN(info.modifiedAt.getTime()));
      });

      it('describes a prefix as a directory of size 0', async () => {
        const prefix = scope('stat-dir');
        await driver().putContent(`${prefix}/dir/file`, Buffer.from('12345'));
        const info = await driver().stat(`${prefix}/dir`);
        assert.equal(info.key, `${prefix}/dir`);
        assert.equal(info.isDirectory, true);
        assert.equal(info.size, 0);
      });
    });

    describe('missing keys', () => {
      const cases: ReadonlyArray<[string, (driver: StorageDriver, key: string) => Promise<unknown>]> = [
        ['stat', (d, key) => d.stat(key)],
        ['getContent', (d, key) => d.getContent(key)],
        ['reader', (d, key) => d.reader(key)],
        ['reader with an offset', (d, key) => d.reader(key, { offset: 1 })],
        ['list', (d, key) => d.list(key)],
        ['move', (d, key) => d.move(key, `${key}-moved`)],
        ['delete', (d, key) => d.delete(key)],
        ['writer with append', (d, key) => d.writer(key, { append: true })],
      ];

      for (const [method, call] of cases) {
        it(`${method} throws PathNotFoundError for a key with nothing stored`, async () => {
          const prefix = scope('missing');
          await driver().putContent(`${prefix}/present`, Buffer.from('x'));
          for (const key of [`${prefix}/absent`, `${prefix}/absent/deeper`, `${prefix}/present/child`]) {
            await assert.rejects(call(driver(), key), (error: unknown) => {
              assert.ok(error instanceof PathNotFoundError, `${method} ${key}: ${String(error)}`);
              assert.equal(error.key, key);
              assert.equal(error.driver, driver().name);
              return true;
            });
          }
        });
      }

      it('a failed move leaves the destination alone', async () => {
        const prefix = scope('missing-move');
        await driver().putContent(`${prefix}/destination`, Buffer.from('kept'));
        await assert.rejects(driver().move(`${prefix}/source`, `${prefix}/destination`), PathNotFoundError);
        assert.equal((await driver().getContent(`${prefix}/destination`)).toString(), 'kept');
      });
    });

    describe('invalid keys', () => {
      const calls: ReadonlyArray<[string, (driver: StorageDriver, key: string) => Promise<unknown>]> = [
        ['stat', (d, key) => d.stat(key)],
        ['getContent', (d, key) => d.getContent(key)],
        ['putContent', (d, key) => d.putContent(key, Buffer.from('hostile'))],
        ['reader', (d, key) => d.reader(key)],
        ['writer', (d, key) => d.writer(key, { append: false })],
        ['writer with append', (d, key) => d.writer(key, { append: true })],
        ['list', (d, key) => d.list(key)],
        ['move from', (d, key) => d.move(key, 'victim/moved')],
        ['move to', (d, key) => d.move('victim/file', key)],
        ['delete', (d, key) => d.delete(key)],
      ];

      it('throw InvalidPathError from every method and change nothing', async () => {
        await driver().putContent('victim/file', Buffer.from('victim'));
        const before = await snapshot(driver());
        for (const [method, call] of calls) {
          for (const key of INVALID_KEYS) {
            // list('') is valid: it lists the root
            if (method === 'list' && key === '') {
              continue;
            }
            await assert.rejects(call(driver(), key), (error: unknown) => {
              assert.ok(error instanceof InvalidPathError, `${method} ${JSON.stringify(key.slice(0, 40))}: ${String(error)}`);
              assert.equal(error.key, key);
              return true;
            });
          }
        }
        assert.deepEqual(await snapshot(driver()), before);
        assert.equal((await driver().getContent('victim/file')).toString(), 'victim');
        await driver().delete('victim');
      });
    });

    describe('reader', () => {
      const text = '0123456789abcdef';

      async function readRange(key: string, offset?: number, length?: number): Promise<string> {
        const options: { offset?: number; length?: number } = {};
        if (offset !== undefined) options.offset = offset;
        if (length !== undefined) options.length = length;
        return (await readAll(await driver().reader(key, options))).toString();
      }

      it('reads all content, or a range of it', async () => {
        const key = `${scope('ranged')}/file`;
        await driver().putContent(key, Buffer.from(text));
        assert.equal(await readRange(key), text);
        assert.equal(await readRange(key, 0), text);
        assert.equal(await readRange(key, 5), text.slice(5));
        assert.equal(await readRange(key, 5, 3), '567');
        assert.equal(await readRange(key, 0, 1), '0');
        assert.equal(await readRange(key, 15, 1), 'f');
        assert.equal(await readRange(key, 5, 0), '');
        // a length past the end reads to the end
        assert.equal(await readRange(key, 10, 100), text.slice(10));
      });

      it('gives an empty stream at offset == size', async () => {
        const key = `${scope('ranged-end')}/file`;
        await driver().putContent(key, Buffer.from(text));
        assert.equal(await readRange(key, text.length), '');
        assert.equal(await readRange(key, text.length, 10), '');
        const empty = `${scope('ranged-empty')}/file`;
        await driver().putContent(empty, new Uint8Array(0));
        assert.equal(await readRange(empty), '');
        assert.equal(await readRange(empty, 0), '');
      });

      it('throws InvalidOffsetError past the end or before the start', async () => {
        const key = `${scope('ranged-invalid')}/file`;
        await driver().putContent(key, Buffer.from(text));
        for (const offset of [text.length + 1, text.length + 1_000_000, -1]) {
          await assert.rejects(driver().reader(key, { offset }), (error: unknown) => {
            assert.ok(error instanceof InvalidOffsetError, `offset ${offset}: ${String(error)}`);
            assert.equal(error.offset, offset);
            assert.equal(error.key, key);
            return true;
          });
        }
        const empty = `${scope('ranged-invalid-empty')}/file`;
        await driver().putContent(empty, new Uint8Array(0));
        await assert.rejects(driver().reader(empty, { offset: 1 }), InvalidOffsetError);
      });

      it('stops with an AbortError when the signal aborts mid-stream', async () => {
        const key = `${scope('reader-abort')}/file`;
        await driver().putContent(key, randomBytes(8 * MiB));
        const controller = new AbortController();
        const stream = await driver().reader(key, { signal: controller.signal });
        await assert.rejects(
          (async () => {
            let received = 0;
            for await (const chunk of stream) {
              received += (chunk as Buffer).length;
              controller.abort();
            }
            return received;
          })(),
          { name: 'AbortError' },
        );
        assert.ok(stream.destroyed);
      });
    });

    describe('large content', () => {
      it('streams 20 MiB through a writer and a reader intact', async () => {
        const key = `${scope('large')}/file`;
        const total = 20 * MiB;
        const rangeStart = 5 * MiB + 3;
        const whole = createHash('sha256');
        const fromRangeStart = createHash('sha256');
        // Chunk sizes from 1 byte to several MiB, so that any write coalescing is exercised.
        const sizes = [1, 7, 4096, 65_536, 1_000_000, MiB, 3 * MiB + 5, 100, MiB - 1, 2];
        const writer = await driver().writer(key, { append: false });
        let written = 0;
        for (let i = 0; written < total; i += 1) {
          const size = Math.min(sizes[i % sizes.length] ?? 1, total - written);
          const chunk = randomBytes(size);
          whole.update(chunk);
          if (written + size > rangeStart) {
            fromRangeStart.update(chunk.subarray(Math.max(0, rangeStart - written)));
          }
          await writer.write(chunk);
          written += size;
          assert.equal(writer.size, written);
        }
        await writer.commit();
        assert.equal((await driver().stat(key)).size, total);
        assert.equal(await hashStream(await driver().reader(key)), whole.digest('hex'));
        assert.equal(await hashStream(await driver().reader(key, { offset: rangeStart })), fromRangeStart.digest('hex'));
      });

      it('keeps every byte of many small writes in order', async () => {
        const key = `${scope('small-writes')}/file`;
        const writer = await driver().writer(key, { append: false });
        const expected = createHash('sha256');
        const chunk = Buffer.alloc(100);
        for (let i = 0; i < 20_000; i += 1) {
          // The same buffer is reused for every write: the writer must not keep a reference.
          chunk.fill(i % 251);
          chunk.writeUInt32BE(i, 0);
          expected.update(chunk);
          await writer.write(chunk);
        }
        assert.equal(writer.size, 2_000_000);
        await writer.commit();
        assert.equal(await hashStream(await driver().reader(key)), expected.digest('hex'));
      });
    });

    describe('writer', () => {
      it('appends across two writer instances', async () => {
        const key = `${scope('append')}/upload`;
        const first = await driver().writer(key, { append: false });
        assert.equal(first.size, 0);
        await first.write(Buffer.from('hello '));
        assert.equal(first.size, 6);
        await first.close();
        assert.equal((await driver().stat(key)).size, 6);

        const second = await driver().writer(key, { append: true });
        assert.equal(second.size, 6);
        await second.write(Buffer.from('world'));
        assert.equal(second.size, 11);
        await second.commit();
        assert.equal((await driver().getContent(key)).toString(), 'hello world');

        // committed content can be continued too
        const third = await driver().writer(key, { append: true });
        assert.equal(third.size, 11);
        await third.write(Buffer.from('!'));
        await third.commit();
        assert.equal((await driver().getContent(key)).toString(), 'hello world!');
      });

      it('appends to content stored with putContent', async () => {
        const key = `${scope('append-put')}/upload`;
        await driver().putContent(key, new Uint8Array(0));
        const writer = await driver().writer(key, { append: true });
        assert.equal(writer.size, 0);
        await writer.write(Buffer.from('data'));
        await writer.commit();
        assert.equal((await driver().getContent(key)).toString(), 'data');
      });

      it('replaces existing content without append', async () => {
        const key = `${scope('replace')}/upload`;
        await driver().putContent(key, Buffer.from('old content that is longer'));
        const writer = await driver().writer(key, { append: false });
        assert.equal(writer.size, 0);
        await writer.write(Buffer.from('new'));
        await writer.commit();
        assert.equal((await driver().getContent(key)).toString(), 'new');
      });

      it('shows new content under its key only once committed or closed', async () => {
        const prefix = scope('publish');
        await driver().putContent(`${prefix}/replaced`, Buffer.from('old'));
        const replacing = await driver().writer(`${prefix}/replaced`, { append: false });
        const created = await driver().writer(`${prefix}/created`, { append: false });
        const closed = await driver().writer(`${prefix}/closed`, { append: false });
        for (const writer of [replacing, created, closed]) await writer.write(Buffer.alloc(3 * 1024 * 1024, 7));
        assert.equal((await driver().getContent(`${prefix}/replaced`)).toString(), 'old');
        await assert.rejects(driver().stat(`${prefix}/created`), PathNotFoundError);
        await assert.rejects(driver().stat(`${prefix}/closed`), PathNotFoundError);
        assert.deepEqual(await driver().list(prefix), [`${prefix}/replaced`]);

        await replacing.commit();
        await created.commit();
        await closed.close();
        assert.equal((await driver().stat(`${prefix}/replaced`)).size, 3 * 1024 * 1024);
        assert.equal((await driver().stat(`${prefix}/created`)).size, 3 * 1024 * 1024);
        assert.equal((await driver().stat(`${prefix}/closed`)).size, 3 * 1024 * 1024);
        assert.deepEqual(await driver().list(prefix), [`${prefix}/closed`, `${prefix}/created`, `${prefix}/replaced`]);

        const cancelled = await driver().writer(`${prefix}/replaced`, { append: false });
        await cancelled.write(Buffer.from('never shown'));
        await cancelled.cancel();
        assert.equal((await driver().stat(`${prefix}/replaced`)).size, 3 * 1024 * 1024, 'a cancelled replacement keeps the old content');
      });

      it('commits empty content', async () => {
        const key = `${scope('empty-writer')}/upload`;
        const writer = await driver().writer(key, { append: false });
        await writer.commit();
        assert.equal((await driver().stat(key)).size, 0);
      });

      it('removes the content on cancel', async () => {
        const prefix = scope('cancel');
        const writer = await driver().writer(`${prefix}/upload`, { append: false });
        await writer.write(Buffer.from('discarded'));
        await writer.cancel();
        await assert.rejects(driver().stat(`${prefix}/upload`), PathNotFoundError);

        // cancelling an append removes what earlier writers left too
        const first = await driver().writer(`${prefix}/resumed`, { append: false });
        await first.write(Buffer.from('part one'));
        await first.close();
        const second = await driver().writer(`${prefix}/resumed`, { append: true });
        await second.write(Buffer.from('part two'));
        await second.cancel();
        await assert.rejects(driver().stat(`${prefix}/resumed`), PathNotFoundError);
      });

      it('is finished after commit: writes fail, close and cancel change nothing', async () => {
        const key = `${scope('finished')}/upload`;
        const writer = await driver().writer(key, { append: false });
        await writer.write(Buffer.from('final'));
        await writer.commit();
        await assert.rejects(writer.write(Buffer.from('more')));
        await assert.rejects(writer.commit());
        await writer.close();
        await writer.cancel();
        assert.equal((await driver().getContent(key)).toString(), 'final');
      });

      it('is finished after close: cancel keeps the content', async () => {
        const key = `${scope('closed')}/upload`;
        const writer = await driver().writer(key, { append: false });
        await writer.write(Buffer.from('kept'));
        await writer.close();
        await assert.rejects(writer.write(Buffer.from('more')));
        await writer.cancel();
        assert.equal((await driver().getContent(key)).toString(), 'kept');
      });

      it('runs concurrent writers to different keys independently', async () => {
        const prefix = scope('concurrent');
        const count = 8;
        const writers: StorageWriter[] = await Promise.all(
          Array.from({ length: count }, (_, i) => driver().writer(`${prefix}/upload-${i}`, { append: false })),
        );
        const expected = Array.from({ length: count }, () => createHash('sha256'));
        for (let round = 0; round < 20; round += 1) {
          await Promise.all(
            writers.map((writer, i) => {
              const chunk = randomBytes(1 + ((round * 7919 + i * 104_729) % 300_000));
              expected[i]?.update(chunk);
              return writer.write(chunk);
            }),
          );
        }
        await Promise.all(writers.map((writer) => writer.commit()));
        for (let i = 0; i < count; i += 1) {
          assert.equal(await hashStream(await driver().reader(`${prefix}/upload-${i}`)), expected[i]?.digest('hex'));
        }
      });

      it('refuses writes once its signal aborts, and can still be cancelled', async () => {
        const key = `${scope('writer-abort')}/upload`;
        const controller = new AbortController();
        const writer = await driver().writer(key, { append: false, signal: controller.signal });
        await writer.write(Buffer.from('before'));
        controller.abort();
        await assert.rejects(writer.write(Buffer.from('after')), { name: 'AbortError' });
        await writer.cancel();
        await assert.rejects(driver().stat(key), PathNotFoundError);
      });
    });

    describe('move', () => {
      it('moves content to a new key, creating its prefixes', async () => {
        const prefix = scope('move');
        await driver().putContent(`${prefix}/uploads/1/data`, Buffer.from('blob bytes'));
        await driver().move(`${prefix}/uploads/1/data`, `${prefix}/blobs/ab/abcd/data`);
        assert.equal((await driver().getContent(`${prefix}/blobs/ab/abcd/data`)).toString(), 'blob bytes');
        await assert.rejects(driver().stat(`${prefix}/uploads/1/data`), PathNotFoundError);
      });

      it('replaces the destination and removes the source', async () => {
        const prefix = scope('move-replace');
        await driver().putContent(`${prefix}/source`, Buffer.from('new'));
        await driver().putContent(`${prefix}/destination`, Buffer.from('old and longer'));
        await driver().move(`${prefix}/source`, `${prefix}/destination`);
        assert.equal((await driver().getContent(`${prefix}/destination`)).toString(), 'new');
        await assert.rejects(driver().getContent(`${prefix}/source`), PathNotFoundError);
        assert.deepEqual(await driver().list(prefix), [`${prefix}/destination`]);
      });

      it('moves content a writer committed', async () => {
        const prefix = scope('move-writer');
        const writer = await driver().writer(`${prefix}/upload`, { append: false });
        await writer.write(Buffer.from('uploaded'));
        await writer.commit();
        await driver().move(`${prefix}/upload`, `${prefix}/blob`);
        assert.equal((await driver().getContent(`${prefix}/blob`)).toString(), 'uploaded');
      });
    });

    describe('list', () => {
      it('lists the immediate children of a prefix as full keys, sorted', async () => {
        const prefix = scope('list');
        for (const key of ['b', 'a/x', 'c/y/z', 'A', '0', 'a/w']) {
          await driver().putContent(`${prefix}/${key}`, Buffer.from(key));
        }
        assert.deepEqual(
          await driver().list(prefix),
          ['0', 'A', 'a', 'b', 'c'].map((k) => `${prefix}/${k}`),
        );
        assert.deepEqual(await driver().list(`${prefix}/a`), [`${prefix}/a/w`, `${prefix}/a/x`]);
        assert.deepEqual(await driver().list(`${prefix}/c`), [`${prefix}/c/y`]);
        const root = await driver().list('');
        assert.ok(root.includes(prefix), 'the root lists top-level prefixes');
        assert.deepEqual(root, [...root].sort());
      });

      it('lists nothing below content: a key that is not a prefix is not found', async () => {
        const prefix = scope('list-file');
        await driver().putContent(`${prefix}/file`, Buffer.from('x'));
        await assert.rejects(driver().list(`${prefix}/file`), PathNotFoundError);
      });
    });

    describe('delete', () => {
      it('removes a key and everything below it', async () => {
        const prefix = scope('delete');
        for (const key of ['d/a', 'd/b/c', 'd/b/e/f', 'keep']) {
          await driver().putContent(`${prefix}/${key}`, Buffer.from(key));
        }
        await driver().delete(`${prefix}/d/b`);
        for (const key of ['d/b', 'd/b/c', 'd/b/e', 'd/b/e/f']) {
          await assert.rejects(driver().stat(`${prefix}/${key}`), PathNotFoundError, key);
        }
        assert.deepEqual(await driver().list(`${prefix}/d`), [`${prefix}/d/a`]);
        await driver().delete(`${prefix}/d`);
        await assert.rejects(driver().stat(`${prefix}/d`), PathNotFoundError);
        await assert.rejects(driver().stat(`${prefix}/d/a`), PathNotFoundError);
        assert.equal((await driver().getContent(`${prefix}/keep`)).toString(), 'keep');
      });

      it('removes a single key and leaves its siblings', async () => {
        const prefix = scope('delete-one');
        await driver().putContent(`${prefix}/one`, Buffer.from('1'));
        await driver().putContent(`${prefix}/two`, Buffer.from('2'));
        await driver().delete(`${prefix}/one`);
        assert.deepEqual(await driver().list(prefix), [`${prefix}/two`]);
      });
    });

    describe('sweepAbandonedWrites', () => {
      it('removes unfinished writes nobody claims, and leaves claimed writes and committed content', async (t) => {
        const store = driver();
        if (store.sweepAbandonedWrites === undefined) {
          t.skip(`${store.name} has no sweep`);
          return;
        }
        const prefix = scope('sweep');
        await store.putContent(`${prefix}/committed`, Buffer.from('kept'));
        // Two writers that neither commit nor close, as if their processes had died: more
        // than a part each (so an object store has uploaded one), one of them still claimed.
        const deadKey = `${prefix}/dead/data`;
        const dead = await store.writer(deadKey, { append: false });
        await dead.write(randomBytes(6 * MiB));
        const liveKey = `${prefix}/live/data`;
        const live = await store.writer(liveKey, { append: false });
        const liveBytes = randomBytes(6 * MiB);
        await live.write(liveBytes);
        const isLive = async (key: string): Promise<boolean> => key.startsWith(`${prefix}/live/`);

        const hourAgo = new Date(Date.now() - 3_600_000);
        assert.deepEqual(await store.sweepAbandonedWrites(hourAgo, async () => false), { removed: 0, bytes: 0 }, 'nothing is that old');
        const cutoff = new Date(Date.now() + 60_000);
        const planned = await store.sweepAbandonedWrites(cutoff, isLive, { dryRun: true });
        const swept = await store.sweepAbandonedWrites(cutoff, isLive);
        assert.deepEqual(swept, planned, 'a dry run counts what the sweep removes');
        assert.ok(swept.removed >= 1 && swept.bytes >= 5 * MiB, `swept ${JSON.stringify(swept)}`);
        assert.deepEqual(await store.sweepAbandonedWrites(cutoff, isLive), { removed: 0, bytes: 0 }, 'nothing is left to sweep');

        // The claimed writer carries on; the swept one left nothing visible.
        await live.commit();
        assert.equal(await hashStream(await store.reader(liveKey)), createHash('sha256').update(liveBytes).digest('hex'));
        await dead.cancel();
        await assert.rejects(store.stat(deadKey), PathNotFoundError);
        assert.equal((await store.getContent(`${prefix}/committed`)).toString(), 'kept');
      });
    });

    describe('abort signals', () => {
      it('every method rejects with AbortError on an aborted signal and changes nothing', async () => {
        const prefix = scope('aborted');
        await driver().putContent(`${prefix}/file`, Buffer.from('x'));
        const before = await snapshot(driver());
        const signal = AbortSignal.abort();
        const calls: ReadonlyArray<[string, () => Promise<unknown>]> = [
          ['stat', () => driver().stat(`${prefix}/file`, { signal })],
          ['getContent', () => driver().getContent(`${prefix}/file`, { signal })],
          ['putContent', () => driver().putContent(`${prefix}/new`, Buffer.from('y'), { signal })],
          ['reader', () => driver().reader(`${prefix}/file`, { signal })],
          ['writer', () => driver().writer(`${prefix}/upload`, { append: false, signal })],
          ['list', () => driver().list(prefix, { signal })],
          ['move', () => driver().move(`${prefix}/file`, `${prefix}/moved`, { signal })],
          ['delete', () => driver().delete(`${prefix}/file`, { signal })],
        ];
        for (const [method, call] of calls) {
          await assert.rejects(call(), { name: 'AbortError' }, method);
        }
        assert.deepEqual(await snapshot(driver()), before);
      });
    });
  });
}

/** Every key in the store with its size ('dir' for prefixes), walked through list(). */
export async function snapshot(driver: StorageDriver, prefix = ''): Promise<Array<[string, number | 'dir']>> {
  const entries: Array<[string, number | 'dir']> = [];
  for (const key of await driver.list(prefix)) {
    const info = await driver.stat(key);
    if (info.isDirectory) {
      entries.push([key, 'dir'], ...(await snapshot(driver, key)));
    } else {
      entries.push([key, info.size]);
    }
  }
  return entries;
}

/** Collects a whole (small) stream; large content is compared with hashStream instead. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks);
}

/** sha256 of a stream, in hex, without holding the stream's content in memory. */
export async function hashStream(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) {
    hash.update(chunk as Uint8Array);
  }
  return hash.digest('hex');
}
