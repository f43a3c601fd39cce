// Tests of the S3 driver against a real S3 service (Ceph RGW from Debian, or Swift's s3api
// with S3_BACKEND=swift; see test/helpers/s3.ts): the shared driver suite, plus what only
// object storage can get wrong: unfinished uploads continued by another replica, parts and
// tails adding up to the exact size, no multipart uploads left behind, bounded memory for
// large content, server-side moves of multipart objects, and pre-signed URLs.
// When the server cannot be started the file fails, unless BERTH_SKIP_S3=1 asks to skip; what
// needs no server (keys refused before any request) runs either way.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { InvalidPathError, PathNotFoundError, StorageBusyError, StorageError } from '../../src/errors/storage.js';
import { INVALID_KEYS, hashStream, runDriverSuite } from '../../src/storage/testing/driver-suite.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { S3Driver, type S3DriverOptions } from '../../src/storage/s3/s3-driver.js';
import { copyLargeObject } from '../../src/storage/s3/multipart.js';
import { MiB, type S3Context } from '../../src/storage/s3/s3-context.js';
import { ObjectKeys } from '../../src/storage/s3/object-keys.js';
import { MemoryBudget, UNBOUNDED_MEMORY } from '../../src/storage/memory-budget.js';

const runFile = promisify(execFile);

/** Part size in these tests: S3's minimum, so that multipart paths run with little data. */
const CHUNK = 5 * MiB;

const server = await startOrSkip();

async function startOrSkip(): Promise<TestS3 | string> {
  const started = Date.now();
  try {
    const s3 = await startS3();
    console.log(`# S3 (${s3.backend}) ready on ${s3.endpoint} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return s3;
  } catch (error) {
    if (process.env.BERTH_SKIP_S3 === '1') {
      return `BERTH_SKIP_S3=1 and S3 could not be started: ${error instanceof Error ? error.message : String(error)}`;
    }
    throw error;
  }
}

if (typeof server === 'string') {
  describe('s3 driver', { skip: server });
} else {
  defineTests(server);
}

// What needs no S3 server, so it runs even where none can be started.
describe('s3 driver, before any request', () => {
  it('refuses invalid keys without sending a request', async () => {
    // A loopback HTTP server standing in for the endpoint, counting what reaches it.
    const requests: string[] = [];
    const endpoint = createServer((request, response) => {
      requests.push(`${request.method} ${request.url}`);
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    const { port } = endpoint.address() as AddressInfo;
    const driver = new S3Driver({
      bucket: 'bucket',
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      accessKeyId: 'access',
      secretAccessKey: 'secret',
    });
    try {
      for (const key of INVALID_KEYS) {
        await assert.rejects(driver.stat(key), InvalidPathError);
        await assert.rejects(driver.writer(key, { append: false }), InvalidPathError);
        await assert.rejects(driver.move('ok', key), InvalidPathError);
        await assert.rejects(driver.presignedGetUrl(key), InvalidPathError);
      }
      assert.deepEqual(requests, []);
      // The same driver does send a valid key's requests (a HEAD first), and maps the 404.
      await assert.rejects(driver.stat('blobs/ab/data'), PathNotFoundError);
      assert.equal(requests[0], 'HEAD /bucket/blobs/ab/data');
    } finally {
      driver.destroy();
      endpoint.close();
    }
  });
});

function defineTests(s3: TestS3): void {
  /** Every driver made here, destroyed (sockets closed) at the end. */
  const drivers: S3Driver[] = [];
  const admin = new S3Client({
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  /** One root per test run, so that runs never see each other's content. */
  const runRoot = `berth-test-${randomUUID()}`;
  let rootCounter = 0;

  function makeDriver(options: Partial<S3DriverOptions> & { rootDirectory: string }): S3Driver {
    const driver = new S3Driver({
      bucket: s3.bucket,
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      accessKeyId: s3.accessKey,
      secretAccessKey: s3.secretKey,
      chunkSize: CHUNK,
      ...options,
    });
    drivers.push(driver);
    return driver;
  }

  /** A fresh root below the run's root. */
  function freshRoot(label: string): string {
    rootCounter += 1;
    return `${runRoot}/r${rootCounter}-${label}`;
  }

  async function objectsBelow(root: string): Promise<string[]> {
    const page = await admin.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${root}/` }));
    return (page.Contents ?? []).flatMap((object) => (object.Key === undefined ? [] : [object.Key.slice(root.length + 1)]));
  }

  async function uploadsBelow(root: string): Promise<string[]> {
    const page = await admin.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: `${root}/` }));
    return (page.Uploads ?? []).flatMap((upload) => (upload.Key === undefined ? [] : [upload.Key]));
  }

  /** Deterministic content: byte i of the stream is a function of i, so no copy is kept. */
  function pattern(offset: number, size: number): Buffer {
    const bytes = Buffer.allocUnsafe(size);
    for (let i = 0; i < size; i += 1) {
      const n = offset + i;
      bytes[i] = (n * 31 + (n >>> 11)) & 0xff;
    }
    return bytes;
  }

  after(async () => {
    // Everything this run stored, through a driver over the bucket's root.
    await makeDriver({ rootDirectory: '' })
      .delete(runRoot)
      .catch((error: unknown) => {
        if (!(error instanceof PathNotFoundError)) throw error;
      });
    for (const driver of drivers) driver.destroy();
    admin.destroy();
    await s3.stop();
  });

  runDriverSuite(`s3 (${s3.backend})`, async () => {
    const root = freshRoot('suite');
    return {
      driver: makeDriver({ rootDirectory: root }),
      cleanup: async () => {
        await makeDriver({ rootDirectory: runRoot })
          .delete(root.slice(runRoot.length + 1))
          .catch((error: unknown) => {
            if (!(error instanceof PathNotFoundError)) throw error; // nothing was stored
          });
      },
    };
  });

  describe(`s3 driver (${s3.backend})`, () => {
    it('continues small unfinished content across two replicas, with the exact size throughout', async () => {
      const root = freshRoot('replicas-small');
      const one = makeDriver({ rootDirectory: root });
      const two = makeDriver({ rootDirectory: root });
      const key = 'uploads/1/data';

      const first = await one.writer(key, { append: false });
      await first.write(Buffer.from('hello '));
      await first.close();
      assert.equal((await two.stat(key)).size, 6);
      assert.deepEqual(await two.list('uploads/1'), ['uploads/1/data'], 'the tail is listed as its key, once');

      const second = await two.writer(key, { append: true });
      assert.equal(second.size, 6);
      await second.write(Buffer.from('from '));
      await second.write(Buffer.from('two'));
      await second.close();
      assert.equal((await one.stat(key)).size, 14);

      const third = await one.writer(key, { append: true });
      assert.equal(third.size, 14);
      await third.write(Buffer.from('!'));
      await third.commit();
      assert.equal((await two.getContent(key)).toString(), 'hello from two!');
      assert.deepEqual(await objectsBelow(root), [key], 'no tail is left after commit');
      assert.deepEqual(await uploadsBelow(root), []);
    });

    it('continues large unfinished content across two replicas, chunks smaller and larger than a part', async () => {
      const root = freshRoot('replicas-large');
      const one = makeDriver({ rootDirectory: root });
      const two = makeDriver({ rootDirectory: root });
      const key = 'uploads/2/data';
      const whole = createHash('sha256');
      let written = 0;
      const writeSome = async (writer: { write(chunk: Uint8Array): Promise<void> }, sizes: number[]): Promise<void> => {
        for (const size of sizes) {
          const chunk = pattern(written, size);
          whole.update(chunk);
          await writer.write(chunk);
          written += size;
        }
      };

      // One full part and a 2 MiB tail, in small chunks.
      const first = await one.writer(key, { append: false });
      await writeSome(
        first,
        Array.from({ length: 7 * 16 }, () => 64 * 1024),
      );
      assert.equal(first.size, 7 * MiB);
      await first.close();
      assert.equal((await two.stat(key)).size, 7 * MiB);

      // One chunk larger than two parts, then an odd one: parts 2-4 and a new tail.
      const second = await two.writer(key, { append: true });
      assert.equal(second.size, 7 * MiB);
      await writeSome(second, [12 * MiB + 123, 777]);
      assert.equal(second.size, written);
      await second.close();
      assert.equal((await one.stat(key)).size, written);

      // A third writer, back on the first replica, adds a little and commits.
      const third = await one.writer(key, { append: true });
      assert.equal(third.size, written);
      await writeSome(third, [1, 4096]);
      await third.commit();
      assert.equal(third.size, written);

      assert.equal((await two.stat(key)).size, written);
      assert.equal(await hashStream(await two.reader(key)), whole.digest('hex'));
      assert.deepEqual(await uploadsBelow(root), []);
      assert.deepEqual(await objectsBelow(root), [key]);
    });

    it('appends to committed content larger than a part by a server-side copy', async () => {
      const root = freshRoot('append-committed');
      const driver = makeDriver({ rootDirectory: root });
      const first = pattern(0, 6 * MiB + 5);
      await driver.putContent('blob', first);
      const writer = await driver.writer('blob', { append: true });
      assert.equal(writer.size, first.length);
      const second = pattern(first.length, 3 * MiB);
      await writer.write(second);
      await writer.close();
      assert.equal((await driver.stat('blob')).size, first.length + second.length);

      const resumed = await driver.writer('blob', { append: true });
      await resumed.commit();
      const expected = createHash('sha256').update(first).update(second).digest('hex');
      assert.equal(await hashStream(await driver.reader('blob')), expected);
      assert.deepEqual(await uploadsBelow(root), []);
    });

    it('reads unfinished content with full parts by completing it in place', async () => {
      const root = freshRoot('read-unfinished');
      const driver = makeDriver({ rootDirectory: root });
      const content = pattern(0, CHUNK + 1000);
      const writer = await driver.writer('upload', { append: false });
      await writer.write(content);
      await writer.close();
      assert.equal(await hashStream(await driver.reader('upload', { offset: 10 })), sha256(content.subarray(10)));
      assert.deepEqual(await uploadsBelow(root), []);
      // ... and it can still be continued afterwards.
      const more = await driver.writer('upload', { append: true });
      assert.equal(more.size, content.length);
      await more.write(Buffer.from('end'));
      await more.commit();
      assert.equal((await driver.stat('upload')).size, content.length + 3);
    });

    it('leaves no multipart uploads and no objects behind a cancel', async () => {
      const root = freshRoot('cancel');
      const driver = makeDriver({ rootDirectory: root });
      const first = await driver.writer('upload', { append: false });
      await first.write(pattern(0, 2 * CHUNK + 10));
      await first.close();
      assert.equal((await uploadsBelow(root)).length, 1);

      const second = await driver.writer('upload', { append: true });
      await second.write(pattern(0, CHUNK));
      await second.cancel();
      assert.deepEqual(await uploadsBelow(root), []);
      assert.deepEqual(await objectsBelow(root), []);
      await assert.rejects(driver.stat('upload'), PathNotFoundError);

      // A writer that never closes (a replica that died) looks like a live one: replacing the
      // key leaves its upload alone (delete() or the bucket's lifecycle rule removes it).
      const dying = await driver.writer('upload', { append: false });
      await dying.write(pattern(0, CHUNK));
      assert.equal((await uploadsBelow(root)).length, 1);
      const replacing = await driver.writer('upload', { append: false });
      await replacing.write(pattern(0, CHUNK + 1));
      assert.equal((await uploadsBelow(root)).length, 2);
      await replacing.commit();
      assert.equal((await uploadsBelow(root)).length, 1);
      await dying.cancel();
      assert.deepEqual(await uploadsBelow(root), []);
      assert.deepEqual(await objectsBelow(root), ['upload']);
      assert.equal((await driver.stat('upload')).size, CHUNK + 1);
    });

    it('lets concurrent replacing writers of one key all commit, the last commit winning whole', async () => {
      const root = freshRoot('concurrent-replace');
      const one = makeDriver({ rootDirectory: root });
      const two = makeDriver({ rootDirectory: root });
      const key = 'blobs/sha256/ab/abcd/data';
      await one.putContent(key, Buffer.from('old'));

      // Two replicas write different multipart content to the same key, interleaved; one
      // commits while the other is half way, then the other finishes and commits.
      const size = 2 * CHUNK + 100;
      const a = await one.writer(key, { append: false });
      const b = await two.writer(key, { append: false });
      const contentA = pattern(0, size);
      const contentB = pattern(1, size);
      const piece = MiB;
      const half = CHUNK + piece; // b has uploaded a part by then
      for (let offset = 0; offset < size; offset += piece) {
        await a.write(contentA.subarray(offset, offset + piece));
        if (offset < half) await b.write(contentB.subarray(offset, offset + piece));
      }
      assert.equal((await two.getContent(key)).toString(), 'old', 'nothing shows before a commit');
      assert.equal((await uploadsBelow(root)).length, 2);
      await a.commit();
      assert.equal(await hashStream(await two.reader(key)), sha256(contentA));
      for (let offset = half; offset < size; offset += piece) {
        await b.write(contentB.subarray(offset, offset + piece));
      }
      await b.commit();
      assert.equal(await hashStream(await one.reader(key)), sha256(contentB));

      // Identical pushes of one blob, committed at the same moment: both succeed.
      const same = pattern(2, 2 * CHUNK + 5);
      const writers = await Promise.all([one, two, one].map((driver) => driver.writer(key, { append: false })));
      await Promise.all(writers.map((writer) => writer.write(same)));
      await Promise.all(writers.map((writer) => writer.commit()));
      assert.equal(await hashStream(await two.reader(key)), sha256(same));

      // A small one (a single PUT) and a multipart one, at the same moment: either wins, whole.
      const small = Buffer.from('small content');
      const [c, d] = await Promise.all([one.writer(key, { append: false }), two.writer(key, { append: false })]);
      await Promise.all([c.write(small), d.write(contentA)]);
      await Promise.all([c.commit(), d.commit()]);
      const hash = await hashStream(await one.reader(key));
      assert.ok(hash === sha256(small) || hash === sha256(contentA), 'one of the two contents, whole');

      assert.deepEqual(await uploadsBelow(root), []);
      assert.deepEqual(await objectsBelow(root), [key]);
    });

    it('keeps the old content readable when a replacing writer is cancelled', async () => {
      const root = freshRoot('cancel-replace');
      const driver = makeDriver({ rootDirectory: root });
      const old = pattern(0, CHUNK + 10);
      const first = await driver.writer('blob', { append: false });
      await first.write(old);
      await first.commit();

      const replacing = await driver.writer('blob', { append: false });
      const reader = await driver.reader('blob');
      await replacing.write(pattern(5, 2 * CHUNK + 3));
      assert.equal((await driver.stat('blob')).size, old.length);
      await replacing.cancel();
      assert.equal(await hashStream(reader), sha256(old), 'a read begun before is not disturbed');
      assert.equal(await hashStream(await driver.reader('blob')), sha256(old));
      assert.deepEqual(await uploadsBelow(root), []);
      assert.deepEqual(await objectsBelow(root), ['blob']);

      // Unfinished content (parts and a tail) survives a cancelled replacement too.
      const unfinished = await driver.writer('upload', { append: false });
      await unfinished.write(old);
      await unfinished.close();
      const cancelled = await driver.writer('upload', { append: false });
      await cancelled.write(pattern(9, CHUNK + 1));
      await cancelled.cancel();
      assert.equal((await driver.stat('upload')).size, old.length);
      assert.equal((await uploadsBelow(root)).length, 1);
      const resumed = await driver.writer('upload', { append: true });
      await resumed.write(Buffer.from('!'));
      await resumed.commit();
      assert.equal(await hashStream(await driver.reader('upload')), sha256(Buffer.concat([old, Buffer.from('!')])));
      assert.deepEqual(await uploadsBelow(root), []);
    });

    it('removes what replaced unfinished content leaves, on commit and on close', async () => {
      const root = freshRoot('replace-unfinished');
      const driver = makeDriver({ rootDirectory: root });
      const unfinished = async (content: Buffer): Promise<void> => {
        const writer = await driver.writer('upload', { append: false });
        await writer.write(content);
        await writer.close();
      };

      await unfinished(pattern(0, CHUNK + 10));
      const committing = await driver.writer('upload', { append: false });
      await committing.write(Buffer.from('new'));
      await committing.commit();
      assert.equal((await driver.getContent('upload')).toString(), 'new');
      assert.deepEqual(await uploadsBelow(root), [], "the replaced content's upload is aborted");
      assert.deepEqual(await objectsBelow(root), ['upload'], 'its tail is deleted');

      // close() over committed content: the tail is written, then the object deleted.
      const closing = await driver.writer('upload', { append: false });
      await closing.write(Buffer.from('abc'));
      assert.equal((await driver.getContent('upload')).toString(), 'new');
      await closing.close();
      assert.equal((await driver.getContent('upload')).toString(), 'abc');
      assert.deepEqual(await objectsBelow(root), ['upload~tail']);

      // close() over unfinished content with parts: only the new upload is left.
      await unfinished(pattern(0, CHUNK + 10));
      const replacement = pattern(3, CHUNK + 20);
      await unfinished(replacement);
      assert.equal((await uploadsBelow(root)).length, 1);
      assert.equal((await driver.stat('upload')).size, replacement.length);
      assert.equal(await hashStream(await driver.reader('upload')), sha256(replacement));
      assert.deepEqual(await uploadsBelow(root), []);
      assert.deepEqual(await objectsBelow(root), ['upload']);
    });

    it('removes unfinished uploads below a key on delete', async () => {
      const root = freshRoot('delete-uploads');
      const driver = makeDriver({ rootDirectory: root });
      const writer = await driver.writer('uploads/9/data', { append: false });
      await writer.write(pattern(0, CHUNK + 1));
      await writer.close();
      await driver.delete('uploads/9');
      assert.deepEqual(await uploadsBelow(root), []);
      assert.deepEqual(await objectsBelow(root), []);
      await assert.rejects(driver.delete('uploads/9'), PathNotFoundError);
    });

    it('streams 50 MiB in and out with memory bounded by about one part', async () => {
      // In a fresh process, so that memory freed by earlier tests cannot hide growth.
      const root = freshRoot('memory');
      const report = await measureInChildProcess(s3, root, 50 * MiB);
      const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
      console.log(
        `# 50 MiB through a writer then a reader (part ${CHUNK / MiB} MiB): rss ${mib(report.baseline)} at start, ` +
          `+${mib(report.writeGrowth)} writing, +${mib(report.readGrowth)} reading (collected every few MiB); ` +
          `${report.writeMs} ms / ${report.readMs} ms`,
      );
      assert.equal(report.size, 50 * MiB);
      assert.equal(report.readHash, report.writtenHash);
      // About one part (5 MiB) plus the SDK and its sockets; the blob itself is 50 MiB.
      assert.ok(report.writeGrowth < 15 * MiB, `rss grew by ${mib(report.writeGrowth)} writing 50 MiB`);
      assert.ok(report.readGrowth < 15 * MiB, `rss grew by ${mib(report.readGrowth)} reading 50 MiB`);
    });

    it('holds part buffers against the memory budget, refusing a write that does not fit', async () => {
      const root = freshRoot('memory');
      // One part's buffer and 1 MiB more.
      const memory = new MemoryBudget(CHUNK + MiB);
      const driver = makeDriver({ rootDirectory: root, memory });
      const first = await driver.writer('a', { append: false });
      const content = pattern(0, CHUNK - 1);
      await first.write(content);
      const held = memory.used;
      assert.ok(held >= content.length && held <= CHUNK, `${held} bytes reserved`);
      const second = await driver.writer('b', { append: false });
      await assert.rejects(second.write(pattern(0, 2 * MiB)), StorageBusyError);
      await second.close();
      assert.equal(memory.used, held, 'the refused writer holds nothing');
      await first.commit();
      assert.equal(memory.used, 0);
      assert.equal(await hashStream(await driver.reader('a')), createHash('sha256').update(content).digest('hex'));
      await assert.rejects(driver.stat('b'), PathNotFoundError);
      assert.deepEqual(await uploadsBelow(root), []);
    });

    it('moves a multipart object server-side, and unfinished content too', async () => {
      const root = freshRoot('move');
      const driver = makeDriver({ rootDirectory: root });
      const content = pattern(0, 2 * CHUNK + 77);
      const writer = await driver.writer('uploads/1/data', { append: false });
      await writer.write(content);
      await writer.commit();
      await driver.putContent('blobs/ab/data', Buffer.from('older content'));
      await driver.move('uploads/1/data', 'blobs/ab/data');
      assert.equal(await hashStream(await driver.reader('blobs/ab/data')), sha256(content));
      assert.equal((await driver.stat('blobs/ab/data')).size, content.length);
      await assert.rejects(driver.stat('uploads/1/data'), PathNotFoundError);

      const unfinished = await driver.writer('uploads/2/data', { append: false });
      await unfinished.write(content);
      await unfinished.close();
      await driver.move('uploads/2/data', 'blobs/cd/data');
      assert.equal(await hashStream(await driver.reader('blobs/cd/data')), sha256(content));
      await assert.rejects(driver.stat('uploads/2/data'), PathNotFoundError);
      assert.deepEqual(await uploadsBelow(root), []);
      assert.deepEqual((await objectsBelow(root)).sort(), ['blobs/ab/data', 'blobs/cd/data']);
    });

    it('copies objects too large for one CopyObject as part copies', async () => {
      const root = freshRoot('large-copy');
      const driver = makeDriver({ rootDirectory: root });
      const content = pattern(0, 2 * CHUNK + 5);
      await driver.putContent('source', content);
      const context: S3Context = {
        name: 's3',
        client: admin,
        bucket: s3.bucket,
        keys: new ObjectKeys(root),
        chunkSize: CHUNK,
        encrypt: false,
        memory: UNBOUNDED_MEMORY,
      };
      // Parts of 5 MiB stand in for the 1 GiB parts of a copy of more than 5 GiB.
      await copyLargeObject(context, `${root}/source`, `${root}/copy`, content.length, CHUNK);
      assert.equal(await hashStream(await driver.reader('copy')), sha256(content));
      assert.deepEqual(await uploadsBelow(root), []);
    });

    it('signs URLs from which the content can be fetched, and only that content', async () => {
      const root = freshRoot('presign');
      const driver = makeDriver({ rootDirectory: root, redirect: true });
      assert.equal(driver.redirect, true);
      await driver.putContent('blobs/x/data', Buffer.from('presigned bytes'));
      const url = await driver.presignedGetUrl('blobs/x/data', 60);
      assert.ok(url.startsWith(`${s3.endpoint}/${s3.bucket}/${root}/blobs/x/data?`), url);
      const response = await fetch(url);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), 'presigned bytes');
      const ranged = await fetch(url, { headers: { Range: 'bytes=10-' } });
      assert.equal(await ranged.text(), 'bytes');
      // The signature covers the key: the same query string for another key is refused.
      const other = url.replace('/blobs/x/data?', '/blobs/y/data?');
      assert.equal((await fetch(other)).status, 403);
      await assert.rejects(driver.presignedGetUrl('../x'), InvalidPathError);
      await assert.rejects(driver.presignedGetUrl('blobs/x/data', 0), RangeError);
    });

    it('keeps each root apart and accepts Distribution-style root directories', async () => {
      const root = freshRoot('roots');
      const a = makeDriver({ rootDirectory: `/${root}/a/` });
      const b = makeDriver({ rootDirectory: `${root}/b` });
      await a.putContent('shared/key', Buffer.from('a'));
      await b.putContent('shared/key', Buffer.from('b'));
      assert.deepEqual(await a.list(''), ['shared']);
      assert.equal((await a.getContent('shared/key')).toString(), 'a');
      assert.equal((await b.getContent('shared/key')).toString(), 'b');
      assert.deepEqual((await objectsBelow(root)).sort(), ['a/shared/key', 'b/shared/key']);
    });

    it('asks for server-side encryption when encrypt is set', async () => {
      const root = freshRoot('encrypt');
      const driver = makeDriver({ rootDirectory: root, encrypt: true });
      let stored = true;
      try {
        await driver.putContent('secret', Buffer.from('x'));
      } catch (error) {
        // RGW 16 has no SSE-S3 (it came with 17): the write must fail clearly, not store in plain.
        stored = false;
        assert.ok(error instanceof StorageError, String(error));
        assert.match(error.message, /InvalidRequest|NotImplemented/);
        await assert.rejects(driver.stat('secret'), PathNotFoundError);
      }
      if (stored) {
        const head = await admin.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: `${root}/secret` }));
        console.log(`# encrypt: ${s3.backend} stored the object, ServerSideEncryption=${head.ServerSideEncryption ?? 'none'}`);
        assert.equal((await driver.getContent('secret')).toString(), 'x');
      } else {
        console.log(`# encrypt: ${s3.backend} refuses SSE-S3 (AES256)`);
      }
    });

    it('refuses bad options', () => {
      const base = { bucket: s3.bucket, region: s3.region };
      assert.throws(() => new S3Driver({ ...base, chunkSize: MiB }), RangeError);
      assert.throws(() => new S3Driver({ ...base, accessKeyId: 'only-one' }), /both/);
      assert.throws(() => new S3Driver({ ...base, rootDirectory: 'a/../b' }), /rootDirectory/);
      assert.throws(() => new S3Driver({ ...base, bucket: '' }), /bucket/);
    });

    it('reports errors without the endpoint or credentials', async () => {
      const driver = new S3Driver({
        bucket: `${s3.bucket}-missing-${randomBytes(4).toString('hex')}`,
        region: s3.region,
        endpoint: s3.endpoint,
        forcePathStyle: true,
        accessKeyId: s3.accessKey,
        secretAccessKey: s3.secretKey,
        chunkSize: CHUNK,
      });
      drivers.push(driver);
      await assert.rejects(driver.putContent('x', Buffer.from('x')), (error: unknown) => {
        assert.ok(error instanceof StorageError, String(error));
        assert.ok(!error.message.includes(s3.secretKey) && !error.message.includes(s3.endpoint), error.message);
        return true;
      });
    });
  });
}

interface MemoryReport {
  readonly baseline: number;
  readonly writeGrowth: number;
  readonly readGrowth: number;
  readonly writeMs: number;
  readonly readMs: number;
  readonly size: number;
  readonly writtenHash: string;
  readonly readHash: string;
}

/**
 * Streams `total` bytes through a writer and back through a reader in a child process and
 * reports its peak rss growth in each phase, with garbage collected every few MiB. The
 * content is generated into one reused buffer, so only the driver's memory can grow.
 */
async function measureInChildProcess(s3: TestS3, root: string, total: number): Promise<MemoryReport> {
  const directory = await mkdtemp(join(tmpdir(), 'berth-s3-memory-'));
  const script = join(directory, 'measure.mts');
  const driverUrl = pathToFileURL(join(import.meta.dirname, '..', '..', 'src', 'storage', 's3', 's3-driver.ts')).href;
  await writeFile(
    script,
    `
import { createHash } from 'node:crypto';
import { S3Driver } from ${JSON.stringify(driverUrl)};
const [endpoint, accessKeyId, secretAccessKey, bucket, region, rootDirectory, total] = process.argv.slice(2);
const driver = new S3Driver({ endpoint, accessKeyId, secretAccessKey, bucket, region, rootDirectory, forcePathStyle: true, chunkSize: ${CHUNK} });
// Collecting every few MiB keeps garbage (the 64 KiB socket buffers of a download, say) out
// of the measure: what is left is what the driver holds on to.
const collect = () => { globalThis.gc(); peak = Math.max(peak, process.memoryUsage().rss); };
let peak = 0;
const chunk = Buffer.alloc(256 * 1024);
const written = createHash('sha256');
await driver.putContent('warm-up', Buffer.from('x'));
globalThis.gc();
const baseline = process.memoryUsage().rss;
peak = baseline;
let started = Date.now();
const writer = await driver.writer('big', { append: false });
let count = 0;
for (let offset = 0; offset < Number(total); offset += chunk.length) {
  chunk.fill(offset / chunk.length);
  chunk.writeUInt32BE(offset, 0);
  written.update(chunk);
  await writer.write(chunk);
  if (++count % 8 === 0) collect();
}
await writer.commit();
collect();
const writeGrowth = peak - baseline;
const writeMs = Date.now() - started;
globalThis.gc();
const readBaseline = process.memoryUsage().rss;
peak = readBaseline;
started = Date.now();
const read = createHash('sha256');
count = 0;
for await (const piece of await driver.reader('big')) {
  read.update(piece);
  if (++count % 32 === 0) collect();
}
collect();
const readMs = Date.now() - started;
const size = (await driver.stat('big')).size;
driver.destroy();
process.stdout.write(JSON.stringify({ baseline, writeGrowth, readGrowth: peak - readBaseline, writeMs, readMs, size,
  writtenHash: written.digest('hex'), readHash: read.digest('hex') }));
`,
  );
  try {
    const { stdout } = await runFile(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', script, s3.endpoint, s3.accessKey, s3.secretKey, s3.bucket, s3.region, root, String(total)],
      { cwd: join(import.meta.dirname, '..', '..') },
    );
    return JSON.parse(stdout) as MemoryReport;
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
