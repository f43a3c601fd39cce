// The registry as a process: abandoned uploads are purged, SIGTERM lets in-flight requests
// finish, log lines carry the request id, and a bad configuration stops start-up with a
// message naming the key. Berth-only (the reference has different knobs and messages).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { childEnv, startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { assertOciError, pushBlob, randomBlob, sha256, startUpload, uniqueRepo } from './support.js';

const skip = testTarget === 'reference' && 'Berth process behaviour';
const projectRoot = resolve(import.meta.dirname, '..', '..');
const run = promisify(execFile);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('abandoned uploads are purged', { skip, concurrency: false, timeout: 60_000 }, () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({
      env: {
        REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE: '1s',
        REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_INTERVAL: '300ms',
      },
    });
  });
  after(() => registry?.stop());

  it('an upload idle for longer than the age is removed with its bytes; blobs stay', async () => {
    const repo = uniqueRepo('purge');
    const blob = randomBlob(100);
    const digest = await pushBlob(registry.url, repo, blob);
    const upload = await startUpload(registry.url, repo);
    const patch = await fetch(upload, { method: 'PATCH', body: randomBlob(1000), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(patch.status, 202);
    assert.deepEqual(await readdir(join(registry.dataDir, 'uploads')), [upload.pathname.split('/').at(-1)]);

    await pause(2500);
    await assertOciError(await fetch(upload), 404, 'BLOB_UPLOAD_UNKNOWN');
    assert.deepEqual(await readdir(join(registry.dataDir, 'uploads')), []);
    const blobResponse = await fetch(`${registry.url}/v2/${repo}/blobs/${digest}`);
    assert.equal(blobResponse.status, 200);
    assert.equal(sha256(Buffer.from(await blobResponse.arrayBuffer())), digest);
  });
});

describe('graceful shutdown', { skip, concurrency: false, timeout: 60_000 }, () => {
  it('SIGTERM lets an upload in flight finish, then the process exits 0', async () => {
    const registry = await startRegistry();
    try {
      const repo = uniqueRepo('shutdown');
      const upload = await startUpload(registry.url, repo);
      const first = randomBlob(64 * 1024);
      const second = randomBlob(64 * 1024);
      const response = new Promise<{ status: number; range: string | undefined }>((resolveResponse, reject) => {
        const req = httpRequest(
          {
            host: upload.hostname,
            port: Number(upload.port),
            method: 'PATCH',
            path: upload.pathname,
            headers: { 'content-type': 'application/octet-stream', 'content-length': String(first.length + second.length) },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolveResponse({ status: res.statusCode ?? 0, range: res.headers.range }));
          },
        );
        req.on('error', reject);
        req.write(first);
        // The signal arrives while the body is still coming in.
        setTimeout(() => {
          process.kill(registry.pid, 'SIGTERM');
          setTimeout(() => req.end(second), 500);
        }, 300);
      });
      const { status, range } = await response;
      assert.equal(status, 202);
      assert.equal(range, `0-${first.length + second.length - 1}`);
      assert.equal(await registry.exited(), 0);
      assert.match(registry.output(), /"msg":"stopped"/);
      await assert.rejects(fetch(`${registry.url}/v2/`), 'no longer accepting connections');
    } finally {
      await registry.stop();
    }
  });
});

describe('logs', { skip, timeout: 60_000 }, () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry();
  });
  after(() => registry?.stop());

  it('every request logs one JSON line with its request id, returned as X-Request-Id', async () => {
    const response = await fetch(`${registry.url}/v2/no-such/manifests/latest`);
    await response.arrayBuffer();
    const requestId = response.headers.get('x-request-id');
    assert.ok(requestId);
    await pause(200);
    const lines = registry
      .output()
      .split('\n')
      .filter((line) => line.includes(requestId))
      .map((line) => JSON.parse(line) as { reqId: string; status?: number; msg: string });
    assert.ok(lines.length >= 1);
    assert.ok(lines.every((line) => line.reqId === requestId));
    assert.ok(lines.some((line) => line.msg === 'request' && line.status === 404));
  });
});

describe('configuration at start-up', { skip, timeout: 60_000 }, () => {
  const cli = (args: string[], env: Record<string, string> = {}) =>
    run(process.execPath, ['--import', 'tsx', join(projectRoot, 'src/cli/main.ts'), ...args], {
      cwd: projectRoot,
      env: childEnv(env),
    });

  it('a bad value in the environment stops serve with a message naming the key', async () => {
    const failure = await cli(['serve'], { REGISTRY_HTTP_ADDR: 'not-an-address' }).then(
      () => assert.fail('serve should not start'),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(failure.code, 2);
    assert.match(failure.stderr, /http\.addr/);
    assert.match(failure.stderr, /REGISTRY_HTTP_ADDR/);
  });

  it('config check accepts the examples and rejects a misspelled key', async () => {
    const ok = await cli(['config', 'check', 'examples/config.yml']);
    assert.match(ok.stdout, /valid/);
    const failure = await cli(['config', 'check', 'test/fixtures/misspelled-config.yml']).then(
      () => assert.fail('check should fail'),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(failure.code, 2);
    assert.match(failure.stderr, /storage\.filesytem/);
  });
});
