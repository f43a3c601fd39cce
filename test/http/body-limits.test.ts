// Limits that keep memory bounded under hostile load (issue 13): a global budget for the bytes
// requests hold in memory (limits.bodymemory: 429 TOOMANYREQUESTS once it is used up, back to
// zero when the requests end, visible at /metrics), a minimum body rate (limits.bodytimeout and
// limits.bodyminrate: a trickling or stalled body gets 408 and its connection closed), request
// heads over 16 KiB answered 431 however many headers they are made of, and CONNECT answered
// 405. Raw sockets on loopback, so that a stalled body is really stalled. Berth-only.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { MEDIA, ociArtifactManifest, pushBlob, randomBlob, startUpload, uniqueRepo } from './support.js';

const skip = testTarget === 'reference' && 'Berth limits';

/** What a raw connection received: the status line's code, headers and body, and whether it closed. */
interface RawAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A connection that sent a request head and some body, and may send more. */
class RawClient {
  readonly socket: Socket;
  readonly closed: Promise<void>;
  #received = Buffer.alloc(0);
  #answer: Promise<RawAnswer>;

  constructor(url: string, head: string) {
    const { hostname, port } = new URL(url);
    this.socket = connect(Number(port), hostname);
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.#answer = new Promise((resolve, reject) => {
      const tryParse = (): boolean => {
        const text = this.#received.toString('latin1');
        const end = text.indexOf('\r\n\r\n');
        if (end === -1) return false;
        const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
        const headers: Record<string, string> = {};
        for (const line of lines) {
          const colon = line.indexOf(':');
          headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
        }
        const length = Number(headers['content-length'] ?? 0);
        if (this.#received.length < end + 4 + length) return false;
        resolve({ status: Number(statusLine.split(' ')[1]), headers, body: this.#received.subarray(end + 4, end + 4 + length).toString() });
        return true;
      };
      this.socket.on('data', (chunk: Buffer) => {
        this.#received = Buffer.concat([this.#received, chunk]);
        tryParse();
      });
      this.socket.once('close', () => {
        if (!tryParse()) reject(new Error(`connection closed without an answer (${this.#received.length} bytes received)`));
      });
    });
    this.#answer.catch(() => undefined);
    this.socket.write(head);
  }

  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  answer(): Promise<RawAnswer> {
    return this.#answer;
  }

  /** Whether an answer came already (without waiting for one). */
  async answered(): Promise<boolean> {
    return Promise.race([
      this.#answer.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((r) => setImmediate(() => r(false))),
    ]);
  }
}

function assertOciAnswer(answer: RawAnswer, status: number, code: string): void {
  assert.equal(answer.status, status, `expected ${status} ${code}, got ${answer.status}: ${answer.body}`);
  assert.match(answer.headers['content-type'] ?? '', /^application\/json/);
  const body = JSON.parse(answer.body) as { errors?: { code: string }[] };
  assert.ok(
    body.errors?.some((error) => error.code === code),
    `expected ${code} in ${answer.body}`,
  );
}

function manifestPutHead(repo: string, tag: string, length: number): string {
  return `PUT /v2/${repo}/manifests/${tag} HTTP/1.1\r\nHost: registry\r\nContent-Type: ${MEDIA.ociManifest}\r\nContent-Length: ${length}\r\n\r\n`;
}

async function requestMemory(registry: TestRegistry): Promise<{ used: number; limit: number }> {
  const text = await (await fetch(`${registry.url}/metrics`)).text();
  const value = (name: string): number => {
    const match = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
    assert.ok(match?.[1], `/metrics has no ${name}`);
    return Number(match[1]);
  };
  return { used: value('berth_request_memory_bytes'), limit: value('berth_request_memory_limit_bytes') };
}

/** Polls until check() holds; the test's own timeout bounds the wait. */
async function eventually(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 50));
}

describe('request memory budget', { skip, concurrency: false, timeout: 60_000 }, () => {
  let registry: TestRegistry;
  const budget = 2 * 1024 * 1024;
  before(async () => {
    registry = await startRegistry({
      env: {
        BERTH_LIMITS_BODYMEMORY: String(budget),
        BERTH_LIMITS_MANIFESTMAXBYTES: String(256 * 1024),
        // Long enough that nothing here is cut off for its rate.
        BERTH_LIMITS_BODYTIMEOUT: '10m',
      },
    });
  });
  after(() => registry?.stop());

  it('refuses stalled manifest PUTs with 429 and Retry-After once the budget is used, and returns to zero when they close', async () => {
    const repo = uniqueRepo('budget');
    const declared = 256 * 1024;
    const sent = 200 * 1024;
    const clients: RawClient[] = [];
    // Twelve stalled bodies of 200 KiB want 2.4 MiB: more than the budget holds.
    for (let i = 0; i < 12; i++) {
      const client = new RawClient(registry.url, manifestPutHead(repo, `t${i}`, declared));
      client.write(Buffer.alloc(sent, 0x20));
      clients.push(client);
    }
    let refused: RawAnswer | undefined;
    await eventually(async () => {
      for (const client of clients) if (await client.answered()) refused = await client.answer();
      return refused !== undefined;
    });
    assert.ok(refused);
    assertOciAnswer(refused, 429, 'TOOMANYREQUESTS');
    assert.ok(Number(refused.headers['retry-after']) > 0, 'Retry-After');
    const held = await requestMemory(registry);
    assert.equal(held.limit, budget);
    assert.ok(held.used > 0 && held.used <= budget, `${held.used} bytes held`);

    for (const client of clients) client.socket.destroy();
    await eventually(async () => (await requestMemory(registry)).used === 0);
    // The budget is free again: a manifest push goes through.
    const artifact = ociArtifactManifest();
    await pushBlob(registry.url, repo, Buffer.from('{}'));
    const response = await fetch(`${registry.url}/v2/${repo}/manifests/${artifact.digest}`, {
      method: 'PUT',
      headers: { 'content-type': artifact.mediaType },
      body: artifact.bytes,
    });
    assert.equal(response.status, 201);
  });

  it('counts a chunk held for its Content-Range check against the budget', async () => {
    const repo = uniqueRepo('budget-chunk');
    const upload = await startUpload(registry.url, repo);
    const size = 3 * 1024 * 1024;
    const client = new RawClient(
      registry.url,
      `PATCH ${upload.pathname}${upload.search} HTTP/1.1\r\nHost: registry\r\nContent-Type: application/octet-stream\r\n` +
        `Content-Range: 0-${size - 1}\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    // 2.5 MiB of the 3 MiB chunk, then silence: more than the budget, so it is refused midway.
    const piece = randomBlob(64 * 1024);
    for (let sent = 0; sent < 2.5 * 1024 * 1024; sent += piece.length) {
      client.write(`${piece.length.toString(16)}\r\n`);
      client.write(piece);
      client.write('\r\n');
    }
    assertOciAnswer(await client.answer(), 429, 'TOOMANYREQUESTS');
    client.socket.destroy();
    await eventually(async () => (await requestMemory(registry)).used === 0);
    // Nothing of the refused chunk was stored.
    const status = await fetch(upload);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-0');
  });

  it('counts body bytes waiting unread in the request stream, and gives them back once read', async () => {
    const repo = uniqueRepo('budget-unread');
    const upload = await startUpload(registry.url, repo);
    const patchHead = (length: number): string =>
      `PATCH ${upload.pathname}${upload.search} HTTP/1.1\r\nHost: registry\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`;
    // A first chunk in flight holds the upload (and a staging buffer): a second one waits, its
    // body unread in the request stream.
    const first = new RawClient(registry.url, patchHead(20));
    first.write(randomBlob(10));
    await eventually(async () => (await requestMemory(registry)).used > 0);
    const before = (await requestMemory(registry)).used;
    const waiting = randomBlob(512 * 1024);
    const second = new RawClient(registry.url, patchHead(waiting.length));
    second.write(waiting);
    await eventually(async () => (await requestMemory(registry)).used >= before + waiting.length);
    first.write(randomBlob(10));
    assert.equal((await first.answer()).status, 202);
    assert.equal((await second.answer()).status, 202);
    first.socket.destroy();
    second.socket.destroy();
    await eventually(async () => (await requestMemory(registry)).used === 0);
    const status = await fetch(upload);
    assert.equal(status.headers.get('range'), `0-${20 + waiting.length - 1}`);
  });

  it('still takes an upload while stalled bodies hold the whole budget, a chunk at a time', async () => {
    const repo = uniqueRepo('budget-starved');
    const holders: RawClient[] = [];
    for (let i = 0; i < 10; i++) {
      const holder = new RawClient(registry.url, manifestPutHead(repo, `h${i}`, 256 * 1024));
      holder.write(Buffer.alloc(200 * 1024, 0x20));
      holders.push(holder);
    }
    await eventually(async () => (await requestMemory(registry)).used >= 10 * 200 * 1024);
    await pushBlob(registry.url, repo, randomBlob(3 * 1024 * 1024));
    for (const holder of holders) holder.socket.destroy();
    await eventually(async () => (await requestMemory(registry)).used === 0);
  });

  it('streams an upload larger than the budget (staging writes through when the budget is short)', async () => {
    const repo = uniqueRepo('budget-stream');
    const blob = randomBlob(3 * 1024 * 1024);
    await pushBlob(registry.url, repo, blob);
    assert.equal((await requestMemory(registry)).used, 0);
  });
});

describe('minimum body rate', { skip, concurrency: false, timeout: 60_000 }, () => {
  let registry: TestRegistry;
  before(async () => {
    // A body must bring 1.2 KiB in every period of 300 ms.
    registry = await startRegistry({ env: { BERTH_LIMITS_BODYTIMEOUT: '300ms', BERTH_LIMITS_BODYMINRATE: '4096' } });
  });
  after(() => registry?.stop());

  it('cuts off a manifest body trickling a byte at a time with 408 and an OCI body, and closes the connection', async () => {
    const client = new RawClient(registry.url, manifestPutHead(uniqueRepo('trickle'), 'latest', 4096));
    const timer = setInterval(() => client.write('{'), 50);
    try {
      const answer = await client.answer();
      assertOciAnswer(answer, 408, 'BAD_REQUEST');
      assert.equal(answer.headers.connection, 'close');
      await client.closed;
    } finally {
      clearInterval(timer);
    }
  });

  it('cuts off a stalled upload chunk with 408, keeping the bytes that arrived', async () => {
    const repo = uniqueRepo('stall');
    const upload = await startUpload(registry.url, repo);
    const first = randomBlob(8192);
    const client = new RawClient(
      registry.url,
      `PATCH ${upload.pathname}${upload.search} HTTP/1.1\r\nHost: registry\r\nContent-Type: application/octet-stream\r\nContent-Length: ${first.length * 2}\r\n\r\n`,
    );
    client.write(first);
    assertOciAnswer(await client.answer(), 408, 'BAD_REQUEST');
    await client.closed;
    const status = await fetch(upload);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), `0-${first.length - 1}`);
  });

  it('cuts off a body that never starts', async () => {
    const client = new RawClient(registry.url, manifestPutHead(uniqueRepo('silent'), 'latest', 100));
    assertOciAnswer(await client.answer(), 408, 'BAD_REQUEST');
    await client.closed;
  });

  it('leaves bodies that arrive at a normal pace alone', async () => {
    const repo = uniqueRepo('normal');
    await pushBlob(registry.url, repo, randomBlob(2 * 1024 * 1024));
    const artifact = ociArtifactManifest();
    await pushBlob(registry.url, repo, Buffer.from('{}'));
    const response = await fetch(`${registry.url}/v2/${repo}/manifests/v1`, {
      method: 'PUT',
      headers: { 'content-type': artifact.mediaType },
      body: artifact.bytes,
    });
    assert.equal(response.status, 201);
  });
});

describe('request head limits', { skip, timeout: 60_000 }, () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry();
  });
  after(() => registry?.stop());

  /** A GET /v2/ with `count` headers of one-byte values, "x-h0001: a" and so on. */
  function manyHeaders(count: number): string {
    const lines = Array.from({ length: count }, (_, i) => `x-h${String(i).padStart(4, '0')}: a\r\n`).join('');
    return `GET /v2/ HTTP/1.1\r\nHost: registry\r\nConnection: close\r\n${lines}\r\n`;
  }

  it('answers 431 with an OCI body to 2,000 small headers (over 16 KiB in all)', async () => {
    const head = manyHeaders(2000);
    assert.ok(head.length > 16 * 1024 && head.length < 24 * 1024, `${head.length} bytes`);
    const answer = await new RawClient(registry.url, head).answer();
    assertOciAnswer(answer, 431, 'BAD_REQUEST');
  });

  it('serves a request whose head is under 16 KiB, however many headers it has', async () => {
    const head = manyHeaders(1300);
    assert.ok(head.length < 16 * 1024, `${head.length} bytes`);
    assert.equal((await new RawClient(registry.url, head).answer()).status, 200);
  });

  it('answers CONNECT with 405 UNSUPPORTED and an OCI body instead of closing the connection', async () => {
    const client = new RawClient(registry.url, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    assertOciAnswer(await client.answer(), 405, 'UNSUPPORTED');
  });

  it('survives clients that reset the connection of a CONNECT or of a bad request head', async () => {
    for (const head of ['CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 'NOT-HTTP\r\n\r\n']) {
      for (let i = 0; i < 20; i++) {
        const socket = connect(Number(new URL(registry.url).port), '127.0.0.1');
        socket.on('error', () => undefined);
        socket.write(head);
        // A reset (RST) while the answer is being written: the registry's write then fails.
        socket.resetAndDestroy();
      }
    }
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await fetch(`${registry.url}/v2/`)).status, 200, 'the registry is still up');
    assert.equal(registry.output().includes('ECONNRESET'), false, registry.output().slice(-2000));
  });
});
