// Crash safety of one large (30 MiB) blob upload: SIGKILL while a slow client streams a PATCH,
// while Berth verifies the digest of a resumed upload at PUT (it must re-read the bytes after a
// restart), and while a slow monolithic PUT streams its body. After each restart the partial
// upload must either report a Range no larger than what was sent and then complete with the
// right digest, or be cleanly unknown; the blob must never be visible with wrong bytes.
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import {
  describeResponse,
  header,
  locationWith,
  ociErrorCodes,
  RegistryClient,
  sha256,
  sleep,
  slowRequest,
  uploadedBytes,
  type HttpResponse,
  type SlowRequest,
} from './support.js';

const SIZE = 30 * 1024 * 1024;
/** About 2.5 s for the whole body: slow enough to kill at a chosen point. */
const PACING = { pieceBytes: 256 * 1024, pauseMs: 20 };
const REPO = 'crash/large';

describe('crash safety: SIGKILL during a large blob upload', { timeout: 300_000 }, () => {
  const blob = randomBytes(SIZE);
  const digest = sha256(blob);
  let dataDir = '';
  let registry: TestRegistry | undefined;
  /** Every process started, so that after() stops them all whatever happened. */
  const started: TestRegistry[] = [];
  let client: RegistryClient | undefined;
  let killPoints = 0;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'berth-crash-large-'));
  });

  after(async () => {
    client?.close();
    for (const server of started) await server.stop({ keepData: true, signal: 'SIGKILL' });
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    console.log(`large-upload kill points covered: ${killPoints}`);
  });

  async function start(): Promise<RegistryClient> {
    client?.close();
    registry = await startRegistry({ dataDir });
    started.push(registry);
    client = new RegistryClient(registry.url);
    return client;
  }

  async function kill(): Promise<void> {
    await registry?.stop({ keepData: true, signal: 'SIGKILL' });
    killPoints += 1;
  }

  /** The blob is not visible, or visible with exactly the right bytes. */
  async function assertNotVisibleWithWrongBytes(c: RegistryClient): Promise<'visible' | 'absent'> {
    const head = await c.request('HEAD', `/v2/${REPO}/blobs/${digest}`);
    if (head.status === 404) return 'absent';
    assert.equal(head.status, 200, `HEAD blob: ${head.status}`);
    assert.equal(header(head, 'content-length'), String(SIZE), 'a visible blob has its full size');
    const get = await c.request('GET', `/v2/${REPO}/blobs/${digest}`);
    assert.equal(get.status, 200);
    assert.equal(sha256(get.body), digest, 'a visible blob has the right bytes');
    return 'visible';
  }

  /**
   * The upload's state after a restart: its size (a Range no larger than what was sent), or
   * 'unknown' with BLOB_UPLOAD_UNKNOWN.
   */
  async function uploadState(c: RegistryClient, location: string, maxBytes: number): Promise<number | 'unknown'> {
    const status = await c.request('GET', location);
    if (status.status === 404) {
      const codes = ociErrorCodes(status);
      assert.ok(codes?.includes('BLOB_UPLOAD_UNKNOWN'), `404 without BLOB_UPLOAD_UNKNOWN: ${describeResponse(status)}`);
      return 'unknown';
    }
    assert.equal(status.status, 204, `upload status: ${describeResponse(status)}`);
    const size = uploadedBytes(header(status, 'range'));
    assert.ok(size !== undefined, `Range header ${header(status, 'range')}`);
    assert.ok(size <= maxBytes, `Range ${header(status, 'range')} claims more than the ${maxBytes} bytes sent`);
    return size;
  }

  /** PATCHes the rest of the blob from offset; returns the new Location. */
  async function patchRest(c: RegistryClient, location: string, offset: number): Promise<string> {
    const patch = await c.request('PATCH', location, {
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${SIZE - 1}` },
      body: blob.subarray(offset),
    });
    assert.equal(patch.status, 202, `PATCH from ${offset}: ${describeResponse(patch)}`);
    assert.equal(header(patch, 'range'), `0-${SIZE - 1}`);
    return header(patch, 'location') ?? location;
  }

  async function complete(c: RegistryClient, location: string): Promise<HttpResponse> {
    return c.request('PUT', locationWith(c.baseUrl, location, { digest }));
  }

  async function startUpload(c: RegistryClient, repo = REPO): Promise<string> {
    const post = await c.request('POST', `/v2/${repo}/blobs/uploads/`);
    assert.equal(post.status, 202, describeResponse(post));
    const location = header(post, 'location');
    assert.ok(location);
    return location;
  }

  async function assertBlobComplete(c: RegistryClient): Promise<void> {
    assert.equal(await assertNotVisibleWithWrongBytes(c), 'visible');
  }

  let resumable: { location: string; size: number } | undefined;

  it('kill during a slow 30 MiB PATCH: the upload resumes from a consistent Range or is unknown', async () => {
    let c = await start();
    const location = await startUpload(c);
    const killAt = randomInt(Math.floor(SIZE * 0.15), Math.floor(SIZE * 0.85));
    const headers = { 'content-type': 'application/octet-stream', 'content-range': `0-${SIZE - 1}` };
    const patch = slowRequest(c.baseUrl, 'PATCH', location, headers, blob, PACING);
    await sendUntil(patch, killAt);
    await kill();
    assert.ok((await settled(patch.outcome)) instanceof Error, 'the PATCH was cut off by the kill');
    const sent = patch.sent();

    c = await start();
    assert.equal(await assertNotVisibleWithWrongBytes(c), 'absent', 'a blob whose upload was cut off is not visible');
    const state = await uploadState(c, location, sent);
    console.log(`PATCH killed after ${sent} of ${SIZE} bytes were sent; after restart the upload ${describeState(state)}`);
    if (state === 'unknown') {
      resumable = { location: await startUpload(c), size: 0 };
    } else {
      resumable = { location, size: state };
    }
    // Resume, but leave completion (and its digest check) to the next kill point.
    resumable.location = await patchRest(c, resumable.location, resumable.size);
    resumable.size = SIZE;
  });

  it('kill during the PUT that verifies the resumed upload: the blob is complete and right, or the upload can still finish', async () => {
    assert.ok(resumable, 'needs the previous test');
    let c = client;
    assert.ok(c);
    // Berth has no running hash for this upload (its bytes arrived in two processes), so the PUT
    // re-reads all 30 MiB: kill it at growing delays until one PUT gets through.
    let location = resumable.location;
    let visible: 'visible' | 'absent' = 'absent';
    for (const [low, high] of [
      [0, 60],
      [60, 250],
      [250, 700],
      [700, 2000],
    ] as const) {
      const put = complete(c, location).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
      const delay = randomInt(low, high);
      await sleep(delay);
      await kill();
      const answer = await settled(put);

      c = await start();
      visible = await assertNotVisibleWithWrongBytes(c);
      const state = await uploadState(c, location, SIZE);
      const answered = answer instanceof Error ? 'no answer' : `answer ${answer.status}`;
      console.log(`PUT killed after ${delay} ms (${answered}); after restart the blob is ${visible}, the upload ${describeState(state)}`);
      if (!(answer instanceof Error)) {
        assert.equal(answer.status, 201, `the PUT answered ${describeResponse(answer)}`);
        assert.equal(visible, 'visible', 'an acknowledged blob survives the kill');
      }
      if (visible === 'visible') break;
      if (state === 'unknown') {
        // The upload is gone and the blob did not appear: the push is lost, and must work again.
        location = await patchRest(c, await startUpload(c), 0);
      } else if (state < SIZE) {
        location = await patchRest(c, location, state);
      }
    }
    if (visible === 'absent') {
      const done = await complete(c, location);
      assert.equal(done.status, 201, `completing after the restarts: ${describeResponse(done)}`);
    }
    await assertBlobComplete(c);
  });

  it('kill during a slow monolithic PUT with a 30 MiB body: the blob is never visible with wrong bytes', async () => {
    let c = await start();
    const repo = `${REPO}-monolithic`;
    const location = await startUpload(c, repo);
    const killAt = randomInt(Math.floor(SIZE * 0.15), Math.floor(SIZE * 0.85));
    const target = locationWith(c.baseUrl, location, { digest });
    const put = slowRequest(c.baseUrl, 'PUT', target, { 'content-type': 'application/octet-stream' }, blob, PACING);
    await sendUntil(put, killAt);
    await kill();
    assert.ok((await settled(put.outcome)) instanceof Error, 'the PUT was cut off by the kill');
    const sent = put.sent();

    c = await start();
    const head = await c.request('HEAD', `/v2/${repo}/blobs/${digest}`);
    assert.equal(head.status, 404, 'a blob whose body was cut off is not visible in the repository');
    const state = await uploadState(c, location, sent);
    console.log(`monolithic PUT killed after ${sent} of ${SIZE} bytes; after restart the upload ${describeState(state)}`);
    const finishAt = state === 'unknown' ? await patchRest(c, await startUpload(c, repo), 0) : await patchRest(c, location, state);
    const done = await complete(c, finishAt);
    assert.equal(done.status, 201, `completing after the restart: ${describeResponse(done)}`);
    const get = await c.request('GET', `/v2/${repo}/blobs/${digest}`);
    assert.equal(get.status, 200);
    assert.equal(sha256(get.body), digest);
  });
});

function describeState(state: number | 'unknown'): string {
  return state === 'unknown' ? 'is unknown' : `holds ${state} bytes`;
}

/** Waits until the slow request has sent at least `bytes`; fails if it ends first or stalls. */
async function sendUntil(request: SlowRequest, bytes: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (request.sent() < bytes) {
    const early = await Promise.race([request.outcome, sleep(5).then(() => undefined)]);
    assert.equal(early, undefined, `the request ended after ${request.sent()} bytes, before the kill`);
    assert.ok(Date.now() < deadline, `the request stalled at ${request.sent()} bytes`);
  }
}

/** The outcome of a request whose server was killed, with a bound on the wait. */
async function settled(outcome: Promise<HttpResponse | Error>): Promise<HttpResponse | Error> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), 30_000);
  });
  const result = await Promise.race([outcome, timeout]);
  clearTimeout(timer);
  assert.notEqual(result, 'timeout', 'the request was still open 30 s after the kill');
  return result === 'timeout' ? new Error('timeout') : result;
}
