// Garbage collection sweeping what S3 writers that died left behind, on Ceph RGW: a Berth on S3
// (and SQLite) holds three unfinished uploads of more than a part each, so each has a multipart
// upload open in the bucket: one still in progress (its session is there), one whose session is
// gone (as after a purge), and one whose writer died mid-write before it ever closed (a
// multipart upload and no object at all, which no listing of the uploads folder finds). Runs
// abort the two dead ones (the second once it is old enough) and keep the live one, which then
// completes with its digest.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import pino from 'pino';
import { parseConfig } from '../../src/config/index.js';
import { buildApp, type BerthApp } from '../../src/server/build-app.js';
import { s3Environment, startS3OrSkip, type TestS3 } from '../helpers/s3.js';

const MiB = 1024 * 1024;

describe('garbage collection of abandoned S3 writes', { timeout: 600_000 }, () => {
  let s3: TestS3 | undefined;
  let skipReason: string | undefined;
  let dir = '';
  let app: BerthApp | undefined;
  let url = '';
  let client: S3Client | undefined;
  const root = `gc-abandoned-${randomUUID()}`;

  before(async () => {
    const started = await startS3OrSkip();
    if (typeof started === 'string') {
      skipReason = started;
      return;
    }
    s3 = started;
    dir = await mkdtemp(join(tmpdir(), 'berth-gc-abandoned-'));
    const env = {
      ...s3Environment(s3, root),
      REGISTRY_STORAGE_S3_CHUNKSIZE: String(5 * MiB),
      BERTH_METADATA_SQLITE_PATH: join(dir, 'berth.db'),
    };
    app = await buildApp(parseConfig('', { cwd: dir, env }), pino({ level: 'silent' }));
    await app.http.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.http.server.address() as AddressInfo).port}`;
    client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey },
    });
  });

  after(async () => {
    await app?.close();
    client?.destroy();
    await s3?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** POST then one PATCH of the bytes: the upload stays open, its writer closed for a later request. */
  async function startUpload(bytes: Buffer): Promise<{ id: string; location: URL }> {
    const started = await fetch(`${url}/v2/team/app/blobs/uploads/`, { method: 'POST' });
    assert.equal(started.status, 202);
    const patched = await fetch(new URL(started.headers.get('location') ?? '', url), {
      method: 'PATCH',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    assert.equal(patched.status, 202, await patched.text());
    const location = new URL(patched.headers.get('location') ?? '', url);
    const id = location.pathname.split('/').pop() ?? '';
    return { id, location };
  }

  /** The storage keys of the multipart uploads open below the Berth's root. */
  async function openUploads(): Promise<string[]> {
    const listed = await (client as S3Client).send(new ListMultipartUploadsCommand({ Bucket: s3?.bucket, Prefix: `${root}/` }));
    return (listed.Uploads ?? []).map((u) => (u.Key ?? '').slice(root.length + 1)).sort();
  }

  async function objects(): Promise<string[]> {
    const listed = await (client as S3Client).send(new ListObjectsV2Command({ Bucket: s3?.bucket, Prefix: `${root}/` }));
    return (listed.Contents ?? []).map((o) => (o.Key ?? '').slice(root.length + 1)).sort();
  }

  it('aborts the multipart uploads of dead writers and keeps the one a session still claims', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const registry = (app as BerthApp).registry;
    const liveBytes = randomBytes(6 * MiB);
    const live = await startUpload(liveBytes);
    const purged = await startUpload(randomBytes(6 * MiB));
    await registry.metadata.deleteUpload(purged.id);
    // A writer that died before it closed: a part uploaded, no tail, no session.
    const diedId = randomUUID();
    const died = await registry.storage.writer(`uploads/${diedId}/data`, { append: false });
    await died.write(randomBytes(6 * MiB));
    const expected = [`uploads/${diedId}/data`, `uploads/${live.id}/data`, `uploads/${purged.id}/data`].sort();
    assert.deepEqual(await openUploads(), expected);

    // No age for unfinished writes either (by default they wait an hour at least).
    const plan = await registry.gc.run({ trigger: 'api', graceMs: 0, abandonedWriteAgeMs: 0, dryRun: true });
    assert.ok(plan.stats.abandonedWrites >= 1, JSON.stringify(plan.stats));
    assert.deepEqual(await openUploads(), expected, 'a dry run aborts nothing');

    const first = await registry.gc.run({ trigger: 'api', graceMs: 0 });
    assert.equal(first.stats.uploadFoldersRemoved, 1, 'the folder of the purged session');
    assert.equal(first.stats.abandonedWrites, 0, 'the writer that died is not an hour old');
    assert.deepEqual(
      await openUploads(),
      [`uploads/${diedId}/data`, `uploads/${live.id}/data`].sort(),
      'the purged one went with its folder',
    );
    const report = await registry.gc.run({ trigger: 'api', graceMs: 0, abandonedWriteAgeMs: 0 });
    assert.equal(report.stats.abandonedWrites, 1, 'the writer that died without a trace in the folder listing');
    assert.ok(report.stats.bytesFreed >= 5 * MiB, `freed ${report.stats.bytesFreed}`);
    assert.deepEqual(await openUploads(), [`uploads/${live.id}/data`]);
    assert.deepEqual(await objects(), [`uploads/${live.id}/data~tail`], 'only the live upload keeps its tail');
    await died.cancel();

    // The live upload completes as if nothing had happened.
    const digest = `sha256:${createHash('sha256').update(liveBytes).digest('hex')}`;
    live.location.searchParams.set('digest', digest);
    const put = await fetch(live.location, { method: 'PUT' });
    assert.equal(put.status, 201, await put.text());
    const pulled = Buffer.from(await (await fetch(`${url}/v2/team/app/blobs/${digest}`)).arrayBuffer());
    assert.equal(`sha256:${createHash('sha256').update(pulled).digest('hex')}`, digest);
    assert.deepEqual(await openUploads(), []);
  });
});
