// HTTP conformance for pushing blobs: upload sessions (POST), monolithic and single-POST uploads,
// chunked PATCH uploads with and without Content-Range, status (GET), cancel (DELETE), digest
// mismatch, cross-repository mounts, and an upload continued after a registry restart.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { assertOciError, pushBlob, randomBlob, resolveLocation, sha256, startUpload, uniqueRepo, withQuery } from './support.js';

/** PATCH one chunk; returns the response with its body read. */
async function patchChunk(upload: URL, chunk: Uint8Array, contentRange?: string): Promise<{ response: Response; text: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  if (contentRange !== undefined) headers['content-range'] = contentRange;
  const response = await fetch(upload, { method: 'PATCH', headers, body: chunk });
  return { response, text: await response.text() };
}

/** Fetches a blob and asserts its bytes and digest header. */
async function assertBlob(baseUrl: string, repo: string, digest: string, data: Uint8Array): Promise<void> {
  const response = await fetch(`${baseUrl}/v2/${repo}/blobs/${digest}`);
  const body = Buffer.from(await response.arrayBuffer());
  assert.equal(response.status, 200, `GET blob ${digest}`);
  assert.equal(response.headers.get('docker-content-digest'), digest);
  assert.equal(sha256(body), sha256(data));
  assert.equal(body.length, data.length);
}

/** Every file below a directory, as paths relative to it. */
async function filesBelow(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(directory.length + 1));
}

async function headStatus(url: string): Promise<number> {
  const response = await fetch(url, { method: 'HEAD' });
  await response.arrayBuffer();
  return response.status;
}

describe('blob uploads', { timeout: 120_000 }, () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry();
  });
  after(async () => {
    await registry.stop();
  });

  it('POST starts a session: 202 with Location and Docker-Upload-UUID', async () => {
    const repo = uniqueRepo('uploads');
    const response = await fetch(`${registry.url}/v2/${repo}/blobs/uploads/`, {
      method: 'POST',
      headers: { 'content-length': '0' },
    });
    await response.arrayBuffer();
    assert.equal(response.status, 202);
    const location = resolveLocation(registry.url, response.headers.get('location'));
    assert.ok(location.pathname.startsWith(`/v2/${repo}/blobs/uploads/`), location.pathname);
    const uuid = response.headers.get('docker-upload-uuid');
    assert.ok(uuid, 'Docker-Upload-UUID');
    assert.ok(location.pathname.includes(uuid), 'the Location names the upload id');
  });

  it('two sessions get different upload ids', async () => {
    const repo = uniqueRepo('uploads');
    const first = await startUpload(registry.url, repo);
    const second = await startUpload(registry.url, repo);
    assert.notEqual(first.pathname, second.pathname);
  });

  it('monolithic POST then PUT ?digest= answers 201 with Location and Docker-Content-Digest', async () => {
    const repo = uniqueRepo('uploads');
    const data = randomBlob(10_000);
    const digest = sha256(data);
    const upload = await startUpload(registry.url, repo);
    const response = await fetch(withQuery(upload, { digest }), {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
    });
    await response.arrayBuffer();
    assert.equal(response.status, 201);
    assert.equal(response.headers.get('docker-content-digest'), digest);
    const location = resolveLocation(registry.url, response.headers.get('location'));
    assert.equal(location.pathname, `/v2/${repo}/blobs/${digest}`);
    const pulled = await fetch(location);
    assert.deepEqual(Buffer.from(await pulled.arrayBuffer()), data);
  });

  it('a single POST ?digest= with the body answers 201', {
    skip: testTarget === 'reference' && 'Distribution 2.8 answers 202 (single-POST upload unsupported)',
  }, async () => {
    const repo = uniqueRepo('uploads');
    const data = randomBlob(3000);
    const digest = sha256(data);
    const response = await fetch(`${registry.url}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
    });
    await response.arrayBuffer();
    assert.equal(response.status, 201);
    assert.equal(response.headers.get('docker-content-digest'), digest);
    const location = resolveLocation(registry.url, response.headers.get('location'));
    assert.equal(location.pathname, `/v2/${repo}/blobs/${digest}`);
    await assertBlob(registry.url, repo, digest, data);
  });

  it('chunked: PATCH with Content-Range answers 202 with Location and Range 0-end; PUT completes', async () => {
    const repo = uniqueRepo('uploads');
    const data = randomBlob(3 * 1024 + 17);
    const digest = sha256(data);
    let upload = await startUpload(registry.url, repo);
    const cuts = [0, 1024, 2048, data.length];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const start = cuts[i] ?? 0;
      const end = (cuts[i + 1] ?? 0) - 1;
      const { response, text } = await patchChunk(upload, data.subarray(start, end + 1), `${start}-${end}`);
      assert.equal(response.status, 202, text);
      assert.equal(response.headers.get('range'), `0-${end}`);
      upload = resolveLocation(registry.url, response.headers.get('location'));
      assert.ok(upload.pathname.startsWith(`/v2/${repo}/blobs/uploads/`));
    }
    const status = await fetch(upload);
    await status.arrayBuffer();
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), `0-${data.length - 1}`);
    assert.ok(status.headers.get('location'), 'GET upload has a Location');
    upload = resolveLocation(registry.url, status.headers.get('location'));

    const done = await fetch(withQuery(upload, { digest }), { method: 'PUT' });
    await done.arrayBuffer();
    assert.equal(done.status, 201);
    assert.equal(done.headers.get('docker-content-digest'), digest);
    assert.equal(resolveLocation(registry.url, done.headers.get('location')).pathname, `/v2/${repo}/blobs/${digest}`);
    await assertBlob(registry.url, repo, digest, data);
  });

  it('chunked: the closing PUT may carry the last chunk', async () => {
    const repo = uniqueRepo('uploads');
    const data = randomBlob(5000);
    const digest = sha256(data);
    let upload = await startUpload(registry.url, repo);
    const { response, text } = await patchChunk(upload, data.subarray(0, 4000), '0-3999');
    assert.equal(response.status, 202, text);
    upload = resolveLocation(registry.url, response.headers.get('location'));
    const done = await fetch(withQuery(upload, { digest }), {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-range': '4000-4999' },
      body: data.subarray(4000),
    });
    const doneText = await done.text();
    assert.equal(done.status, 201, doneText);
    assert.equal(done.headers.get('docker-content-digest'), digest);
    await assertBlob(registry.url, repo, digest, data);
  });

  it('a PATCH without Content-Range (streamed) appends', async () => {
    const repo = uniqueRepo('uploads');
    const data = randomBlob(6000);
    const digest = sha256(data);
    let upload = await startUpload(registry.url, repo);
    for (const [start, end] of [
      [0, 2500],
      [2500, 6000],
    ] as const) {
      const { response, text } = await patchChunk(upload, data.subarray(start, end));
      assert.equal(response.status, 202, text);
      assert.equal(response.headers.get('range'), `0-${end - 1}`);
      upload = resolveLocation(registry.url, response.headers.get('location'));
    }
    const done = await fetch(withQuery(upload, { digest }), { method: 'PUT' });
    await done.arrayBuffer();
    assert.equal(done.status, 201);
    await assertBlob(registry.url, repo, digest, data);
  });

  it('an out-of-order chunk answers 416 and the upload can still be completed', {
    skip: testTarget === 'reference' && 'Distribution 2.8 ignores Content-Range and appends (202)',
  }, async () => {
    const repo = uniqueRepo('uploads');
    const data = randomBlob(3000);
    const digest = sha256(data);
    let upload = await startUpload(registry.url, repo);
    const first = await patchChunk(upload, data.subarray(0, 1000), '0-999');
    assert.equal(first.response.status, 202, first.text);
    upload = resolveLocation(registry.url, first.response.headers.get('location'));

    // Skips bytes 1000-1999, then overlaps the first chunk.
    for (const [start, end] of [
      [2000, 2999],
      [500, 1499],
    ] as const) {
      const { response, text } = await patchChunk(upload, data.subarray(start, end + 1), `${start}-${end}`);
      assert.equal(response.status, 416, `chunk ${start}-${end}: ${text}`);
    }

    const status = await fetch(upload);
    await status.arrayBuffer();
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-999', 'the refused chunks left the upload unchanged');
    upload = resolveLocation(registry.url, status.headers.get('location'));

    const rest = await patchChunk(upload, data.subarray(1000), `1000-${data.length - 1}`);
    assert.equal(rest.response.status, 202, rest.text);
    upload = resolveLocation(registry.url, rest.response.headers.get('location'));
    const done = await fetch(withQuery(upload, { digest }), { method: 'PUT' });
    await done.arrayBuffer();
    assert.equal(done.status, 201);
    await assertBlob(registry.url, repo, digest, data);
  });

  it('an out-of-order chunk gets an OCI error body (RANGE_INVALID)', {
    skip: testTarget === 'reference' && 'Berth-only: the 416 body and code',
  }, async () => {
    const repo = uniqueRepo('uploads');
    let upload = await startUpload(registry.url, repo);
    const first = await patchChunk(upload, randomBlob(100), '0-99');
    assert.equal(first.response.status, 202);
    upload = resolveLocation(registry.url, first.response.headers.get('location'));
    const response = await fetch(upload, {
      method: 'PATCH',
      headers: { 'content-type': 'application/octet-stream', 'content-range': '200-299' },
      body: randomBlob(100),
    });
    await assertOciError(response, 416, 'RANGE_INVALID');
  });

  it('PUT with the wrong digest answers 400 DIGEST_INVALID; nothing becomes available', async () => {
    const repo = uniqueRepo('uploads');
    const data = randomBlob(2048);
    const claimed = sha256(randomBlob(2048));
    const upload = await startUpload(registry.url, repo);
    const response = await fetch(withQuery(upload, { digest: claimed }), {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
    });
    await assertOciError(response, 400, 'DIGEST_INVALID');
    assert.equal(await headStatus(`${registry.url}/v2/${repo}/blobs/${claimed}`), 404);
    assert.equal(await headStatus(`${registry.url}/v2/${repo}/blobs/${sha256(data)}`), 404);
  });

  it('after a failed digest check the upload is gone', {
    skip: testTarget === 'reference' && 'Distribution 2.8 keeps the upload (GET answers 204)',
  }, async () => {
    const repo = uniqueRepo('uploads');
    const data = randomBlob(512);
    let upload = await startUpload(registry.url, repo);
    const chunk = await patchChunk(upload, data, `0-${data.length - 1}`);
    assert.equal(chunk.response.status, 202);
    upload = resolveLocation(registry.url, chunk.response.headers.get('location'));
    const response = await fetch(withQuery(upload, { digest: sha256('something else') }), { method: 'PUT' });
    await assertOciError(response, 400, 'DIGEST_INVALID');
    await assertOciError(await fetch(upload), 404, 'BLOB_UPLOAD_UNKNOWN');
    assert.equal(await headStatus(`${registry.url}/v2/${repo}/blobs/${sha256(data)}`), 404);
  });

  it('DELETE cancels an upload: 204, then the upload is unknown', async () => {
    const repo = uniqueRepo('uploads');
    let upload = await startUpload(registry.url, repo);
    const chunk = await patchChunk(upload, randomBlob(100), '0-99');
    assert.equal(chunk.response.status, 202);
    upload = resolveLocation(registry.url, chunk.response.headers.get('location'));
    const response = await fetch(upload, { method: 'DELETE' });
    await response.arrayBuffer();
    assert.equal(response.status, 204);
    await assertOciError(await fetch(upload), 404, 'BLOB_UPLOAD_UNKNOWN');
    const patch = await fetch(upload, {
      method: 'PATCH',
      headers: { 'content-type': 'application/octet-stream', 'content-range': '100-199' },
      body: randomBlob(100),
    });
    await assertOciError(patch, 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('an unknown upload id answers 404 BLOB_UPLOAD_UNKNOWN', async () => {
    // Distribution 2.8 answers 404 with BLOB_UPLOAD_INVALID for an id without its _state token;
    // there the test checks the status and the body's shape only.
    const code = testTarget === 'reference' ? undefined : 'BLOB_UPLOAD_UNKNOWN';
    const repo = uniqueRepo('uploads');
    await pushBlob(registry.url, repo, randomBlob(10));
    const url = `${registry.url}/v2/${repo}/blobs/uploads/6f1a2b3c-0d4e-4f5a-8b6c-7d8e9f0a1b2c`;
    await assertOciError(await fetch(url), 404, code);
    await assertOciError(
      await fetch(url, {
        method: 'PATCH',
        headers: { 'content-type': 'application/octet-stream' },
        body: randomBlob(10),
      }),
      404,
      code,
    );
    await assertOciError(await fetch(`${url}?digest=${sha256('x')}`, { method: 'PUT', body: 'x' }), 404, code);
    await assertOciError(await fetch(url, { method: 'DELETE' }), 404, code);
  });

  it('an upload started in one repository is unknown in another', async () => {
    const repo = uniqueRepo('uploads');
    const other = uniqueRepo('uploads');
    await pushBlob(registry.url, other, randomBlob(10));
    const upload = await startUpload(registry.url, repo);
    const elsewhere = new URL(upload);
    elsewhere.pathname = elsewhere.pathname.replace(`/v2/${repo}/`, `/v2/${other}/`);
    const data = randomBlob(10);
    const response = await fetch(withQuery(elsewhere, { digest: sha256(data) }), {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
    });
    // Distribution 2.8 answers BLOB_UPLOAD_INVALID (its upload state names the other repository).
    await assertOciError(response, 404, testTarget === 'reference' ? undefined : 'BLOB_UPLOAD_UNKNOWN');
    assert.equal(await headStatus(`${registry.url}/v2/${other}/blobs/${sha256(data)}`), 404);
  });

  describe('cross-repository mount', () => {
    it('mounting a blob that exists in from answers 201 with Location and Docker-Content-Digest', async () => {
      const source = uniqueRepo('mount');
      const target = uniqueRepo('mount');
      const data = randomBlob(1500);
      const digest = await pushBlob(registry.url, source, data);
      const response = await fetch(`${registry.url}/v2/${target}/blobs/uploads/?mount=${digest}&from=${source}`, {
        method: 'POST',
        headers: { 'content-length': '0' },
      });
      await response.arrayBuffer();
      assert.equal(response.status, 201);
      assert.equal(response.headers.get('docker-content-digest'), digest);
      const location = resolveLocation(registry.url, response.headers.get('location'));
      assert.equal(location.pathname, `/v2/${target}/blobs/${digest}`);
      await assertBlob(registry.url, target, digest, data);
    });

    it('mounting a blob that is not in from answers 202 with a new upload session', async () => {
      const source = uniqueRepo('mount');
      const target = uniqueRepo('mount');
      await pushBlob(registry.url, source, randomBlob(10));
      const data = randomBlob(700);
      const digest = sha256(data);
      const response = await fetch(`${registry.url}/v2/${target}/blobs/uploads/?mount=${digest}&from=${source}`, {
        method: 'POST',
        headers: { 'content-length': '0' },
      });
      await response.arrayBuffer();
      assert.equal(response.status, 202);
      const upload = resolveLocation(registry.url, response.headers.get('location'));
      assert.ok(upload.pathname.startsWith(`/v2/${target}/blobs/uploads/`), upload.pathname);
      assert.equal(await headStatus(`${registry.url}/v2/${target}/blobs/${digest}`), 404);

      const done = await fetch(withQuery(upload, { digest }), {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: data,
      });
      await done.arrayBuffer();
      assert.equal(done.status, 201);
      await assertBlob(registry.url, target, digest, data);
    });

    it('mounting from a repository that does not exist answers 202', async () => {
      const target = uniqueRepo('mount');
      const digest = sha256(randomBlob(10));
      const response = await fetch(`${registry.url}/v2/${target}/blobs/uploads/?mount=${digest}&from=${uniqueRepo('never')}`, {
        method: 'POST',
        headers: { 'content-length': '0' },
      });
      await response.arrayBuffer();
      assert.equal(response.status, 202);
      assert.ok(response.headers.get('location'));
    });
  });

  it('a blob pushed in one request lands at its content address and leaves no upload or temporary file behind', {
    skip: testTarget === 'reference' && "Berth-only: inspects Berth's storage layout",
  }, async () => {
    const repo = uniqueRepo('one-request');
    const good = randomBlob(300_000);
    const goodUpload = await startUpload(registry.url, repo);
    const goodId = goodUpload.pathname.split('/').pop() ?? '';
    const done = await fetch(withQuery(goodUpload, { digest: sha256(good) }), { method: 'PUT', body: good });
    await done.arrayBuffer();
    assert.equal(done.status, 201);
    await assertBlob(registry.url, repo, sha256(good), good);

    // Wrong digest: nothing stored under either digest, and the upload is gone.
    const wrong = await startUpload(registry.url, repo);
    const claimed = sha256(randomBlob(64));
    await assertOciError(
      await fetch(withQuery(wrong, { digest: claimed }), { method: 'PUT', body: randomBlob(5000) }),
      400,
      'DIGEST_INVALID',
    );
    await assertOciError(await fetch(wrong), 404, 'BLOB_UPLOAD_UNKNOWN');

    // A client that hangs up halfway: nothing is kept, and the upload can still be completed.
    const cut = await startUpload(registry.url, repo);
    const cutData = randomBlob(200_000);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(new URL(registry.url).port), '127.0.0.1', () => {
        const target = `${cut.pathname}?digest=${encodeURIComponent(sha256(cutData))}`;
        socket.write(`PUT ${target} HTTP/1.1\r\nHost: x\r\nContent-Length: ${cutData.length}\r\n\r\n`);
        socket.write(cutData.subarray(0, 100_000), () => setTimeout(() => socket.destroy(), 200));
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    const cutId = cut.pathname.split('/').pop() ?? '';
    const leftovers = async (): Promise<string[]> =>
      (await filesBelow(registry.dataDir)).filter((f) => f.includes(cutId) || f.includes('~'));
    for (let i = 0; i < 50 && (await leftovers()).length > 0; i++) await sleep(100);
    assert.deepEqual(await leftovers(), [], 'no upload data and no temporary file remains');
    const status = await fetch(cut);
    await status.arrayBuffer();
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-0');
    const retried = await fetch(withQuery(cut, { digest: sha256(cutData) }), { method: 'PUT', body: cutData });
    await retried.arrayBuffer();
    assert.equal(retried.status, 201);
    await assertBlob(registry.url, repo, sha256(cutData), cutData);

    const blobs = (await filesBelow(registry.dataDir)).filter((f) => f.startsWith('blobs'));
    for (const digest of [sha256(good), sha256(cutData)]) {
      const hex = digest.slice('sha256:'.length);
      assert.ok(blobs.includes(join('blobs', 'sha256', hex.slice(0, 2), hex, 'data')), `${digest} at its content address`);
    }
    assert.ok(!blobs.some((f) => f.includes(claimed.slice('sha256:'.length))), 'nothing under the claimed digest');
    assert.ok(!(await filesBelow(registry.dataDir)).some((f) => f.includes(goodId)), 'no trace of the finished upload');
  });

  it('an upload continues after a restart of the registry', {
    skip:
      testTarget === 'reference' && 'Berth-only: Distribution 2.8 without http.secret signs upload state per process (404 after restart)',
  }, async () => {
    const first = await startRegistry();
    const dataDir = first.dataDir;
    let second: TestRegistry | undefined;
    try {
      const repo = uniqueRepo('restart');
      const data = randomBlob(8000);
      const digest = sha256(data);
      let upload = await startUpload(first.url, repo);
      const chunk = await patchChunk(upload, data.subarray(0, 5000), '0-4999');
      assert.equal(chunk.response.status, 202, chunk.text);
      upload = resolveLocation(first.url, chunk.response.headers.get('location'));
      await first.stop({ keepData: true });

      second = await startRegistry({ dataDir });
      // Same path and query on the new registry (its port differs).
      const resumed = new URL(`${upload.pathname}${upload.search}`, second.url);
      const status = await fetch(resumed);
      await status.arrayBuffer();
      assert.equal(status.status, 204);
      assert.equal(status.headers.get('range'), '0-4999');

      const rest = await patchChunk(resumed, data.subarray(5000), `5000-${data.length - 1}`);
      assert.equal(rest.response.status, 202, rest.text);
      const next = resolveLocation(second.url, rest.response.headers.get('location'));
      const done = await fetch(withQuery(next, { digest }), { method: 'PUT' });
      await done.arrayBuffer();
      assert.equal(done.status, 201);
      await assertBlob(second.url, repo, digest, data);
    } finally {
      if (second) await second.stop();
      // first owns the data directory: stopping it (again) removes the directory.
      await first.stop();
    }
  });
});
