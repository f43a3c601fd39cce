// Limits that protect the registry from greedy or stalled clients: 429 with Retry-After when
// too many requests are in flight, stalled connections closed after the idle timeout (the
// bytes that did arrive stay usable), oversized headers answered 431 with an OCI body, and a
// bound on ?tag= parameters. Berth-only: the reference has no such knobs.
import assert from 'node:assert/strict';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import {
  assertOciError,
  assertRawOciError,
  ociArtifactManifest,
  pushBlob,
  randomBlob,
  rawRequest,
  startUpload,
  uniqueRepo,
} from './support.js';

const skip = testTarget === 'reference' && 'Berth limits';

/** Starts a PATCH that sends `first` and then waits; the caller decides when (or whether) to end it. */
function stalledPatch(upload: URL, first: Buffer, declaredLength: number) {
  let request!: ClientRequest;
  const response = new Promise<{ status: number } | { error: string }>((resolve) => {
    request = httpRequest(
      {
        host: upload.hostname,
        port: Number(upload.port),
        method: 'PATCH',
        path: upload.pathname,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(declaredLength) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      },
    );
    request.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    request.write(first);
  });
  return { request, response };
}

describe('limits', { skip, concurrency: false, timeout: 60_000 }, () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({
      env: {
        BERTH_LIMITS_MAXCONCURRENTREQUESTS: '2',
        BERTH_LIMITS_IDLETIMEOUT: '1500ms',
        BERTH_LIMITS_MAXTAGSPERPUSH: '3',
      },
    });
  });
  after(() => registry?.stop());

  it('beyond maxconcurrentrequests a request gets 429 TOOMANYREQUESTS with Retry-After, and later ones succeed', async () => {
    const repo = uniqueRepo('busy');
    const uploads = [await startUpload(registry.url, repo), await startUpload(registry.url, repo)];
    const held = uploads.map((upload) => stalledPatch(upload, randomBlob(10), 20));
    await new Promise((r) => setTimeout(r, 200));
    const refused = await fetch(`${registry.url}/v2/`);
    assert.equal(refused.headers.get('retry-after'), '1');
    await assertOciError(refused, 429, 'TOOMANYREQUESTS');
    for (const { request } of held) request.end(randomBlob(10));
    for (const { response } of held) assert.deepEqual(await response, { status: 202 });
    assert.equal((await fetch(`${registry.url}/v2/`)).status, 200);
  });

  it('a stalled upload is closed after the idle timeout and keeps the bytes that arrived', async () => {
    const repo = uniqueRepo('stall');
    const upload = await startUpload(registry.url, repo);
    const first = randomBlob(4096);
    const { response } = stalledPatch(upload, first, 8192);
    const outcome = await response;
    assert.ok('error' in outcome || outcome.status >= 400, `the stalled request must not succeed: ${JSON.stringify(outcome)}`);
    const status = await fetch(upload);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), `0-${first.length - 1}`);
  });

  it('an idle keep-alive connection is closed after the idle timeout', async () => {
    const { hostname, port } = new URL(registry.url);
    const socket = connect(Number(port), hostname);
    const closed = new Promise<number>((resolve) => {
      const opened = Date.now();
      socket.on('close', () => resolve(Date.now() - opened));
    });
    socket.on('error', () => undefined);
    socket.resume(); // read (and drop) the response, or the server's close is never seen
    socket.write(`GET /v2/ HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`);
    assert.ok((await closed) < 30_000);
  });

  it('request headers over 16 KiB get 431 with an OCI error body', async () => {
    const response = await rawRequest(registry.url, 'GET', '/v2/', { 'x-padding': 'a'.repeat(20_000) });
    assertRawOciError(response, 431, 'BAD_REQUEST');
  });

  it('more ?tag= parameters than maxtagsperpush get 400 TAG_INVALID and store nothing', async () => {
    const repo = uniqueRepo('tags');
    const artifact = ociArtifactManifest();
    await pushBlob(registry.url, repo, Buffer.from('{}'));
    const tags = ['a', 'b', 'c', 'd'].map((t) => `tag=${t}`).join('&');
    const response = await fetch(`${registry.url}/v2/${repo}/manifests/${artifact.digest}?${tags}`, {
      method: 'PUT',
      headers: { 'content-type': artifact.mediaType },
      body: artifact.bytes,
    });
    await assertOciError(response, 400, 'TAG_INVALID');
    await assertOciError(await fetch(`${registry.url}/v2/${repo}/manifests/a`), 404, 'MANIFEST_UNKNOWN');
  });
});
