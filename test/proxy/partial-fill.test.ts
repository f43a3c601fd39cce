// A second client of a blob whose fill is in progress, over real HTTP: a caching Berth process in
// front of a test upstream that sends the first part of a blob and then holds back the rest until
// the test lets it go (or sends it tampered, or drops the connection). The second client must
// receive bytes from the fill's partial file while the upstream still holds back the rest (so
// before the fill can have ended: no clock involved), then get exactly the blob, or, when the
// fill fails, a body cut short that it cannot take for the blob. One case runs the cache
// in-process, where the moment a client joins the fill can be seen.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { get, type IncomingMessage, type ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { Digest } from '../../src/oci/index.js';
import { PullThroughCache } from '../../src/proxy/index.js';
import { memoryLogger, name, readAll, testUpstream, upstream, type TestUpstream } from '../../src/proxy/testing/fixtures.js';
import { localRegistry } from '../../src/registry/testing/local-registry.js';

const MiB = 1024 * 1024;
const BLOB_BYTES = 12 * MiB;
/** What the upstream sends before it holds back the rest. */
const SENT_FIRST = 8 * MiB;
/**
 * What the second client must have received while the upstream holds back the rest: well past
 * the fill's first stored piece (1 MiB), well short of what the upstream sent, since the
 * writer may still hold a couple of MiB in its buffers.
 */
const FOLLOWED_BEFORE_RELEASE = 4 * MiB;

type Ending = 'intact' | 'tampered' | 'dropped';

interface HeldBlob {
  readonly bytes: Buffer;
  /** What the upstream sends before it holds back the rest. */
  readonly sentFirst: number;
  readonly digest: string;
  readonly ending: Ending;
  /** Lets the upstream send the rest. */
  release(): void;
  gets: number;
}

function heldBlob(ending: Ending, size = BLOB_BYTES, sentFirst = SENT_FIRST): HeldBlob {
  const bytes = randomBytes(size);
  let release = (): void => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const blob: HeldBlob = {
    bytes,
    sentFirst,
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    ending,
    release,
    gets: 0,
  };
  heldUntil.set(blob, released);
  return blob;
}
const heldUntil = new WeakMap<HeldBlob, Promise<void>>();

/** Sends the blob's first bytes, waits for release(), then ends as the blob says. */
async function serveHeld(blob: HeldBlob, response: ServerResponse): Promise<void> {
  response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.bytes.length });
  response.write(blob.bytes.subarray(0, blob.sentFirst));
  await heldUntil.get(blob);
  if (blob.ending === 'dropped') {
    response.write(blob.bytes.subarray(blob.sentFirst, blob.sentFirst + MiB), () => response.destroy());
    return;
  }
  const rest = Buffer.from(blob.bytes.subarray(blob.sentFirst));
  if (blob.ending === 'tampered') rest[rest.length - 1] = (rest[rest.length - 1]! + 1) % 256;
  response.end(rest);
}

interface Download {
  /** Bytes received so far. */
  received(): number;
  /** Resolves once at least `bytes` have been received (rejects if the response ends first). */
  reached(bytes: number): Promise<void>;
  /** Closes the connection mid-body, as a client that goes away. */
  abort(): void;
  /** Resolves when the response's status line and headers have arrived. */
  readonly responded: Promise<void>;
  /** Settles when the response closes: its status, whether the body was complete, and its digest. */
  readonly finished: Promise<{ status: number; complete: boolean; bytes: number; digest: string }>;
}

/** A blob GET on its own connection, hashing the body as it arrives. */
function download(url: string): Download {
  let received = 0;
  const waiters: { bytes: number; resolve: () => void; reject: (error: Error) => void }[] = [];
  const hash = createHash('sha256');
  let abort = (): void => undefined;
  let responded = (): void => undefined;
  const headers = new Promise<void>((resolve) => {
    responded = resolve;
  });
  const finished = new Promise<{ status: number; complete: boolean; bytes: number; digest: string }>((resolve, reject) => {
    const request = get(url, { agent: false }, (response: IncomingMessage) => {
      responded();
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        hash.update(chunk);
        for (const waiter of waiters.filter((w) => received >= w.bytes)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      });
      response.on('error', () => undefined);
      response.on('close', () => {
        for (const waiter of waiters) waiter.reject(new Error(`the response ended after ${received} bytes`));
        resolve({ status: response.statusCode ?? 0, complete: response.complete, bytes: received, digest: `sha256:${hash.digest('hex')}` });
      });
    });
    request.on('error', reject);
    abort = () => request.destroy();
  });
  finished.catch(() => undefined);
  return {
    received: () => received,
    reached: (bytes) =>
      received >= bytes ? Promise.resolve() : new Promise<void>((resolve, reject) => waiters.push({ bytes, resolve, reject })),
    abort: () => abort(),
    responded: headers,
    finished,
  };
}

describe('pull-through cache: a second client follows a fill in progress', {
  skip: testTarget === 'reference' ? 'Berth only' : false,
}, () => {
  let upstreamServer: TestUpstream;
  let cache: TestRegistry;
  let upstreamUrl: string;
  const blobs = new Map<string, HeldBlob>();

  before(async () => {
    upstreamServer = await testUpstream((path, request, response) => {
      const blob = blobs.get(path.replace('/v2/slow/app/blobs/', ''));
      if (!blob || request.method !== 'GET') return false;
      blob.gets++;
      void serveHeld(blob, response);
      return true;
    });
    upstreamUrl = upstreamServer.url;
    cache = await startRegistry({
      extraConfig: [
        'proxy:',
        '  upstreams:',
        `    - {name: slow, url: ${JSON.stringify(upstreamUrl)}, namespace: "", allowprivateaddresses: true}`,
      ].join('\n'),
    });
  });

  after(async () => {
    await cache?.stop();
    await upstreamServer?.close();
  });

  function newBlob(ending: Ending, size?: number, sentFirst?: number): { blob: HeldBlob; url: string } {
    const blob = heldBlob(ending, size, sentFirst);
    blobs.set(blob.digest, blob);
    return { blob, url: `${cache.url}/v2/slow/app/blobs/${blob.digest}` };
  }

  /** Two clients of one new blob: the first starts the fill, the second joins it while the upstream holds back the rest. */
  async function twoClients(ending: Ending) {
    const { blob, url } = newBlob(ending);
    const first = download(url);
    await first.reached(2 * MiB);
    const second = download(url);
    await second.reached(FOLLOWED_BEFORE_RELEASE);
    // Still held back upstream, so the fill has not ended: the second client read the partial file.
    const followedWhileHeld = second.received();
    blob.release();
    return { blob, followedWhileHeld, first: await first.finished, second: await second.finished, url };
  }

  it('streams the partial file to the second client, and both get exactly the blob', async () => {
    const { blob, followedWhileHeld, first, second, url } = await twoClients('intact');
    assert.ok(followedWhileHeld >= FOLLOWED_BEFORE_RELEASE && followedWhileHeld < BLOB_BYTES);
    for (const got of [first, second]) {
      assert.deepEqual(got, { status: 200, complete: true, bytes: BLOB_BYTES, digest: blob.digest });
    }
    assert.equal(blob.gets, 1, 'one upstream GET for both clients');
    // And then it is cached: a third GET is served without asking the upstream.
    const third = await download(url).finished;
    assert.deepEqual(third, { status: 200, complete: true, bytes: BLOB_BYTES, digest: blob.digest });
    assert.equal(blob.gets, 1);
  });

  it('a tampered blob never looks complete to the second client, and is not cached', async () => {
    const { blob, first, second, url } = await twoClients('tampered');
    for (const got of [first, second]) {
      assert.equal(got.status, 200);
      assert.equal(got.complete, false);
      assert.ok(got.bytes < BLOB_BYTES, `${got.bytes} bytes of ${BLOB_BYTES}`);
    }
    // Nothing was cached: the next GET asks the upstream again (and is refused again).
    const third = await download(url).finished;
    assert.equal(third.complete, false);
    assert.equal(blob.gets, 2);
  });

  it('the second client gets an error when the upstream dies mid-fill', async () => {
    const { blob, followedWhileHeld, first, second } = await twoClients('dropped');
    assert.ok(followedWhileHeld >= FOLLOWED_BEFORE_RELEASE);
    for (const got of [first, second]) {
      assert.equal(got.status, 200);
      assert.equal(got.complete, false);
      assert.ok(got.bytes < BLOB_BYTES, `${got.bytes} bytes of ${BLOB_BYTES}`);
    }
    assert.equal(blob.gets, 1);
  });

  it('the second client gets the whole blob when the first goes away mid-fill', async () => {
    const { blob, url } = newBlob('intact');
    const first = download(url);
    await first.reached(2 * MiB);
    const second = download(url);
    await second.reached(FOLLOWED_BEFORE_RELEASE);
    first.abort();
    assert.equal((await first.finished).complete, false);
    blob.release();
    assert.deepEqual(await second.finished, { status: 200, complete: true, bytes: BLOB_BYTES, digest: blob.digest });
    assert.equal(blob.gets, 1);
  });

  it('a client joining the fill of a blob stored in one piece (no partial file) gets it once it is stored', async () => {
    // In-process, so that the join is certain: open() answers the second client while the upstream still holds back the rest.
    const { blob } = newBlob('intact', 768 * 1024, 512 * 1024);
    const local = await localRegistry();
    const inProcess = new PullThroughCache(local.registry, local.ledger, [upstream(upstreamUrl)], memoryLogger());
    try {
      const digest = Digest.parse(blob.digest);
      const opened = [];
      for (let i = 0; i < 2; i++) {
        const content = await inProcess.blobs.open(name('slow/app'), digest, undefined, {});
        assert.ok(!('location' in content));
        opened.push(content);
      }
      assert.equal(inProcess.stats.blobFetches, 1);
      blob.release();
      for (const content of opened) assert.ok((await readAll(content.stream)).equals(blob.bytes));
      assert.equal(blob.gets, 1);
    } finally {
      await inProcess.close();
      await local.close();
    }
  });
});
