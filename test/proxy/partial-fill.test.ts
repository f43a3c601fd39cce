// A second client of a blob whose fill is in progress, over real HTTP: a caching Berth process in
// front of a test upstream that sends the first part of a blob and then holds back the rest until
// the test lets it go (or sends it tampered, or drops the connection). The second client must
// receive bytes from the fill's partial file while the upstream still holds back the rest (so
// before the fill can have ended: no clock involved), then get exactly the blob, or, when the
// fill fails, a body cut short that it cannot take for the blob.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, get, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';

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
  readonly digest: string;
  readonly ending: Ending;
  /** Lets the upstream send the rest. */
  release(): void;
  gets: number;
}

function heldBlob(ending: Ending): HeldBlob {
  const bytes = randomBytes(BLOB_BYTES);
  let release = (): void => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const blob: HeldBlob = {
    bytes,
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    ending,
    release,
    gets: 0,
  };
  heldUntil.set(blob, released);
  return blob;
}
const heldUntil = new WeakMap<HeldBlob, Promise<void>>();

/** Sends the blob's first SENT_FIRST bytes, waits for release(), then ends as the blob says. */
async function serveHeld(blob: HeldBlob, response: ServerResponse): Promise<void> {
  response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.bytes.length });
  response.write(blob.bytes.subarray(0, SENT_FIRST));
  await heldUntil.get(blob);
  if (blob.ending === 'dropped') {
    response.write(blob.bytes.subarray(SENT_FIRST, SENT_FIRST + MiB), () => response.destroy());
    return;
  }
  const rest = Buffer.from(blob.bytes.subarray(SENT_FIRST));
  if (blob.ending === 'tampered') rest[rest.length - 1] = (rest[rest.length - 1]! + 1) % 256;
  response.end(rest);
}

interface Download {
  /** Bytes received so far. */
  received(): number;
  /** Resolves once at least `bytes` have been received (rejects if the response ends first). */
  reached(bytes: number): Promise<void>;
  /** Settles when the response closes: its status, whether the body was complete, and its digest. */
  readonly finished: Promise<{ status: number; complete: boolean; bytes: number; digest: string }>;
}

/** A blob GET on its own connection, hashing the body as it arrives. */
function download(url: string): Download {
  let received = 0;
  const waiters: { bytes: number; resolve: () => void; reject: (error: Error) => void }[] = [];
  const hash = createHash('sha256');
  const finished = new Promise<{ status: number; complete: boolean; bytes: number; digest: string }>((resolve, reject) => {
    const request = get(url, { agent: false }, (response: IncomingMessage) => {
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
  });
  finished.catch(() => undefined);
  return {
    received: () => received,
    reached: (bytes) =>
      received >= bytes ? Promise.resolve() : new Promise<void>((resolve, reject) => waiters.push({ bytes, resolve, reject })),
    finished,
  };
}

describe('pull-through cache: a second client follows a fill in progress', {
  skip: testTarget === 'reference' ? 'Berth only' : false,
}, () => {
  let upstream: Server;
  let cache: TestRegistry;
  const blobs = new Map<string, HeldBlob>();

  before(async () => {
    upstream = createServer((request, response) => {
      const path = (request.url ?? '').split('?')[0] ?? '';
      if (path === '/v2/' || path === '/v2') {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      const blob = blobs.get(path.replace('/v2/slow/app/blobs/', ''));
      if (blob && request.method === 'GET') {
        blob.gets++;
        void serveHeld(blob, response);
        return;
      }
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"no"}]}');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
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
    upstream?.closeAllConnections();
    await new Promise<void>((resolve) => upstream?.close(() => resolve()));
  });

  /** Two clients of one new blob: the first starts the fill, the second joins it while the upstream holds back the rest. */
  async function twoClients(ending: Ending) {
    const blob = heldBlob(ending);
    blobs.set(blob.digest, blob);
    const url = `${cache.url}/v2/slow/app/blobs/${blob.digest}`;
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
});
