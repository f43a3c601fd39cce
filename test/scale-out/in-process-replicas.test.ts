// Two Berth apps ("replicas") in one process, sharing blobs in S3 (Ceph RGW) and the index in
// PostgreSQL, both real servers started for the test: an upload started on one replica
// continues and completes on the other, manifests and tags pushed through one are served by
// the other, and storage.redirect sends blob GETs to a pre-signed S3 URL. Fails when Ceph
// cannot be started, unless BERTH_SKIP_S3=1.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { s3Environment, startS3OrSkip, type TestS3 } from '../helpers/s3.js';
import { parseConfig } from '../../src/config/index.js';
import { buildApp, type BerthApp } from '../../src/server/build-app.js';

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

describe('replicas on S3 and PostgreSQL', { timeout: 300_000 }, () => {
  let s3: TestS3 | undefined;
  let postgres: TestPostgres | undefined;
  let dir: string;
  const replicas: BerthApp[] = [];
  let redirecting: BerthApp;
  let skipReason: string | undefined;

  before(async () => {
    const started = await startS3OrSkip();
    if (typeof started === 'string') {
      skipReason = started;
      return;
    }
    s3 = started;
    postgres = await startPostgres();
    const database = await postgres.createDatabase();
    dir = await mkdtemp(join(tmpdir(), 'berth-scale-'));
    const storage = s3Environment(s3, `scale-out-${randomUUID()}`);
    const env = (redirect: boolean): NodeJS.ProcessEnv => ({
      ...storage,
      REGISTRY_STORAGE_REDIRECT_DISABLE: String(!redirect),
      BERTH_METADATA_POSTGRES_URL: database,
    });
    const silent = pino({ level: 'silent' });
    for (let i = 0; i < 2; i++) replicas.push(await buildApp(parseConfig('', { cwd: dir, env: env(false) }), silent));
    redirecting = await buildApp(parseConfig('', { cwd: dir, env: env(true) }), silent);
  });

  after(async () => {
    for (const app of [...replicas, redirecting]) await app?.close().catch(() => undefined);
    await postgres?.stop();
    await s3?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const one = (): BerthApp => replicas[0]!;
  const two = (): BerthApp => replicas[1]!;

  it('an upload started on one replica is continued and completed on the other', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const blob = randomBytes(7 * 1024 * 1024 + 123);
    const digest = sha256(blob);
    const started = await one().http.inject({ method: 'POST', url: '/v2/team/app/blobs/uploads/' });
    assert.equal(started.statusCode, 202);
    const location = String(started.headers.location);
    const half = 6 * 1024 * 1024;
    const first = await two().http.inject({
      method: 'PATCH',
      url: location,
      headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${half - 1}` },
      payload: blob.subarray(0, half),
    });
    assert.equal(first.statusCode, 202, first.body);
    const status = await one().http.inject({ method: 'GET', url: location });
    assert.equal(status.headers.range, `0-${half - 1}`);
    const done = await one().http.inject({
      method: 'PUT',
      url: `${location}?digest=${digest}`,
      headers: { 'content-type': 'application/octet-stream' },
      payload: blob.subarray(half),
    });
    assert.equal(done.statusCode, 201, done.body);
    for (const replica of replicas) {
      const got = await replica.http.inject({ method: 'GET', url: `/v2/team/app/blobs/${digest}` });
      assert.equal(got.statusCode, 200);
      assert.equal(sha256(got.rawPayload), digest);
    }
  });

  it('a manifest and tag pushed through one replica are served by the other', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const config = Buffer.from('{}');
    const layer = randomBytes(1000);
    for (const [i, bytes] of [config, layer].entries()) {
      const pushed = await replicas[i % 2]!.http.inject({
        method: 'POST',
        url: `/v2/team/web/blobs/uploads/?digest=${sha256(bytes)}`,
        payload: bytes,
        headers: { 'content-type': 'application/octet-stream' },
      });
      assert.equal(pushed.statusCode, 201, pushed.body);
    }
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
      }),
    );
    const put = await one().http.inject({
      method: 'PUT',
      url: '/v2/team/web/manifests/v1',
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      payload: manifest,
    });
    assert.equal(put.statusCode, 201, put.body);
    const got = await two().http.inject({ method: 'GET', url: '/v2/team/web/manifests/v1' });
    assert.equal(got.statusCode, 200);
    assert.deepEqual(got.rawPayload, manifest);
    const tags = await two().http.inject({ method: 'GET', url: '/v2/team/web/tags/list' });
    assert.deepEqual(JSON.parse(tags.body), { name: 'team/web', tags: ['v1'] });
    const ready = await two().http.inject('/readyz');
    assert.deepEqual(JSON.parse(ready.body), { status: 'ok', checks: { storage: 'ok', metadata: 'ok' } });
  });

  it('with storage.redirect, a blob GET is a 307 to a pre-signed URL that serves the bytes', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const blob = randomBytes(4096);
    const digest = sha256(blob);
    const pushed = await one().http.inject({
      method: 'POST',
      url: `/v2/team/redirect/blobs/uploads/?digest=${digest}`,
      payload: blob,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(pushed.statusCode, 201);
    const response = await redirecting.http.inject({ method: 'GET', url: `/v2/team/redirect/blobs/${digest}` });
    assert.equal(response.statusCode, 307);
    assert.equal(response.headers['docker-content-digest'], digest);
    const target = String(response.headers.location);
    assert.ok(target.startsWith(s3!.endpoint), target);
    const fetched = Buffer.from(await (await fetch(target)).arrayBuffer());
    assert.equal(sha256(fetched), digest);
    // A blob the repository does not have is still 404, never a redirect.
    const missing = await redirecting.http.inject({ method: 'GET', url: `/v2/team/other/blobs/${digest}` });
    assert.equal(missing.statusCode, 404);
  });
});
