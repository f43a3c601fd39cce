// Tests of the filesystem driver: the shared driver suite, plus what only a filesystem can
// get wrong (paths outside the root, temporary files, open files that are moved). Content that
// must survive the process that wrote it: test/storage/filesystem-across-processes.test.ts.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { InvalidPathError, PathNotFoundError, StorageError } from '../../errors/storage.js';
import type { StorageDriver } from '../driver.js';
import { INVALID_KEYS, hashStream, runDriverSuite } from '../testing/driver-suite.js';
import { FilesystemDriver, removeStaleTempFiles } from './filesystem-driver.js';
import { isTemporaryName, temporaryName } from './temp-files.js';

async function temporaryDirectory(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'berth-fs-driver-'));
}

/** Every path below directory, relative to it, sorted; directories end with '/'. */
async function tree(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true, recursive: true });
  return entries
    .map((entry) => {
      const path = relative(directory, join(entry.parentPath, entry.name));
      return entry.isDirectory() ? `${path}/` : path;
    })
    .sort();
}

runDriverSuite('filesystem', async () => {
  const directory = await temporaryDirectory();
  return {
    // The root does not exist yet: the driver creates it on the first write.
    driver: new FilesystemDriver({ rootDirectory: join(directory, 'root') }),
    cleanup: () => rm(directory, { recursive: true, force: true }),
  };
});

describe('filesystem driver', () => {
  let base = '';
  let root = '';
  let created: StorageDriver | undefined;

  /** The driver over `root`; never a default that could point anywhere else. */
  function driverUnderTest(): StorageDriver {
    if (created === undefined) {
      throw new Error('the driver was not created');
    }
    return created;
  }

  before(async () => {
    base = await temporaryDirectory();
    root = join(base, 'root');
    created = new FilesystemDriver({ rootDirectory: root });
  });

  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('lists an empty root before anything was written', async () => {
    const fresh = new FilesystemDriver({ rootDirectory: join(base, 'not-yet') });
    assert.deepEqual(await fresh.list(''), []);
  });

  it('writes, reads and removes nothing outside the root for hostile keys', async () => {
    const outside = join(base, 'hostile');
    const hostileRoot = join(outside, 'root');
    await mkdir(join(hostileRoot, 'victim'), { recursive: true });
    await writeFile(join(hostileRoot, 'victim', 'file'), 'victim');
    await writeFile(join(outside, 'outside.txt'), 'outside');
    const hostile = new FilesystemDriver({ rootDirectory: hostileRoot });
    const keys = [
      ...INVALID_KEYS,
      '../outside.txt',
      '../../outside.txt',
      'victim/../../outside.txt',
      '../root/victim/file',
      `${outside}/outside.txt`,
      '..%2foutside.txt',
      '%2e%2e/outside.txt',
      'victim/file/../../../outside.txt',
    ];
    const before = await tree(outside);
    for (const key of keys) {
      const calls: Array<() => Promise<unknown>> = [
        () => hostile.stat(key),
        () => hostile.getContent(key),
        () => hostile.putContent(key, Buffer.from('hostile')),
        () => hostile.reader(key),
        () => hostile.writer(key, { append: false }),
        () => hostile.writer(key, { append: true }),
        () => hostile.move(key, 'victim/moved'),
        () => hostile.move('victim/file', key),
        () => hostile.delete(key),
      ];
      if (key !== '') {
        calls.push(() => hostile.list(key));
      }
      for (const call of calls) {
        await assert.rejects(call(), InvalidPathError, JSON.stringify(key.slice(0, 40)));
      }
    }
    assert.deepEqual(await tree(outside), before);
    assert.equal(await readFile(join(outside, 'outside.txt'), 'utf8'), 'outside');
    assert.equal(await readFile(join(hostileRoot, 'victim', 'file'), 'utf8'), 'victim');
  });

  it('never names the root directory in error messages', async () => {
    await driverUnderTest().putContent('errors/file', Buffer.from('x'));
    const failures: Array<() => Promise<unknown>> = [
      () => driverUnderTest().getContent('errors/missing'),
      () => driverUnderTest().stat('errors/file/child'),
      () => driverUnderTest().reader('errors/missing'),
      () => driverUnderTest().list('errors/missing'),
      () => driverUnderTest().delete('errors/missing'),
      () => driverUnderTest().move('errors/missing', 'errors/other'),
      () => driverUnderTest().putContent('errors/file/child', Buffer.from('x')), // a file is in the way
      () => driverUnderTest().writer('errors/file/child', { append: false }),
      () => driverUnderTest().putContent('../errors', Buffer.from('x')),
    ];
    for (const failure of failures) {
      await assert.rejects(failure(), (error: unknown) => {
        assert.ok(error instanceof StorageError, String(error));
        assert.ok(!error.message.includes(base), error.message);
        return true;
      });
    }
    await assert.rejects(driverUnderTest().getContent('errors/missing'), PathNotFoundError);
    await assert.rejects(driverUnderTest().putContent('../errors', Buffer.from('x')), InvalidPathError);
  });

  it('leaves no temporary files behind putContent, even when it fails', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => driverUnderTest().putContent(`temp/same`, Buffer.from(`version ${i}`))));
    await Promise.all(Array.from({ length: 20 }, (_, i) => driverUnderTest().putContent(`temp/key-${i}`, Buffer.from(`${i}`))));
    await driverUnderTest().putContent('temp/dir/child', Buffer.from('x'));
    // A directory where the file should go makes the rename fail after the temp file exists.
    await assert.rejects(driverUnderTest().putContent('temp/dir', Buffer.from('x')), StorageError);
    const paths = await tree(join(root, 'temp'));
    assert.equal(paths.filter((path) => path.includes('~')).length, 0, paths.join('\n'));
    assert.equal(paths.length, 20 + 1 + 2);
  });

  it('shows readers either the old or the new content while putContent replaces it', async () => {
    const versions = Array.from({ length: 12 }, (_, i) => Buffer.alloc(256 * 1024, i));
    await driverUnderTest().putContent('atomic/file', versions[0] ?? Buffer.alloc(0));
    const seen: Buffer[] = [];
    await Promise.all([
      ...versions.map((content) => driverUnderTest().putContent('atomic/file', content)),
      ...Array.from({ length: 12 }, async () => {
        seen.push(await driverUnderTest().getContent('atomic/file'));
      }),
    ]);
    for (const content of [...seen, await driverUnderTest().getContent('atomic/file')]) {
      assert.ok(
        versions.some((version) => version.equals(content)),
        'content is one whole version',
      );
    }
  });

  it('removes stale temporary files and hides them from list()', async () => {
    await driverUnderTest().putContent('stale/file', Buffer.from('x'));
    const stalePath = join(root, 'stale', temporaryName('file'));
    const freshPath = join(root, 'stale', temporaryName('other'));
    await writeFile(stalePath, 'left by a crash');
    await writeFile(freshPath, 'in flight');
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(stalePath, twoHoursAgo, twoHoursAgo);
    assert.ok(isTemporaryName(stalePath));

    assert.deepEqual(await driverUnderTest().list('stale'), ['stale/file']);
    assert.equal(await removeStaleTempFiles(root), 1);
    assert.deepEqual((await readdir(join(root, 'stale'))).sort(), ['file', basename(freshPath)].sort());
    assert.equal(await removeStaleTempFiles(root, { olderThanMs: 0 }), 1);
    assert.deepEqual(await readdir(join(root, 'stale')), ['file']);
    assert.equal(await removeStaleTempFiles(join(base, 'no-such-root')), 0);
  });

  it('lets a reader finish a file that is moved away or deleted meanwhile', async () => {
    const content = randomBytes(5 * 1024 * 1024);
    const expected = createHash('sha256').update(content).digest('hex');
    await driverUnderTest().putContent('moving/upload', content);
    await driverUnderTest().putContent('moving/doomed', content);

    const movedReader = await driverUnderTest().reader('moving/upload');
    const deletedReader = await driverUnderTest().reader('moving/doomed');
    await driverUnderTest().move('moving/upload', 'moving/blob');
    await driverUnderTest().delete('moving/doomed');
    assert.equal(await hashStream(movedReader), expected);
    assert.equal(await hashStream(deletedReader), expected);
  });

  it('writes a large upload exactly through both staging buffers and the background flushes', async () => {
    // Past BACKGROUND_SYNC_BYTES twice, in pieces of every kind: small ones that are staged,
    // pieces larger than a staging buffer that go straight to the file, and odd sizes.
    const pieces = [64 * 1024, 3 * 1024 * 1024 + 5, 1, 700 * 1024, 1024 * 1024, 12_345];
    const key = 'large/upload';
    const writer = await driverUnderTest().writer(key, { append: false });
    const expected = createHash('sha256');
    let written = 0;
    for (let i = 0; written < 40 * 1024 * 1024; i++) {
      const piece = randomBytes(pieces[i % pieces.length] ?? 1);
      await writer.write(piece);
      // The caller may reuse its buffer once write() resolves: scribble over it.
      expected.update(piece);
      piece.fill(0);
      written += piece.length;
      assert.equal(writer.size, written);
    }
    await writer.close();
    const continued = await driverUnderTest().writer(key, { append: true });
    assert.equal(continued.size, written);
    const tail = randomBytes(5 * 1024 * 1024);
    await continued.write(tail);
    expected.update(tail);
    await continued.commit();
    assert.equal(await hashStream(await driverUnderTest().reader(key)), expected.digest('hex'));
  });
});
