// migrate() end to end: an image pushed through buildApp into filesystem + SQLite is copied to
// a second filesystem + SQLite configuration and served from there byte for byte; a re-run is
// refused by the non-empty index but skips the blobs; a corrupted source blob aborts the copy
// naming its digest. With Ceph RGW and PostgreSQL (test/helpers), the same image is migrated to
// S3 + PostgreSQL; skipped when S3 cannot be started and BERTH_SKIP_S3=1.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { s3Environment, startS3OrSkip, type TestS3 } from '../helpers/s3.js';
import { parseConfig, type Config } from '../../src/config/index.js';
import { COPIED_TABLES } from '../../src/metadata/copy.js';
import { buildApp } from '../../src/server/build-app.js';
import { BlobVerificationError, migrate, type MigrateProgress } from '../../src/server/migrate.js';

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const silent = pino({ level: 'silent' });

interface Image {
  readonly blobs: Buffer[];
  readonly manifest: Buffer;
}

async function pushImage(config: Config, repository: string, tag: string): Promise<Image> {
  const app = await buildApp(config, silent);
  try {
    const blobs = [Buffer.from('{"architecture":"amd64","os":"linux"}'), randomBytes(3 * 1024 * 1024 + 17), randomBytes(999)];
    for (const bytes of blobs) {
      const pushed = await app.http.inject({
        method: 'POST',
        url: `/v2/${repository}/blobs/uploads/?digest=${sha256(bytes)}`,
        payload: bytes,
        headers: { 'content-type': 'application/octet-stream' },
      });
      assert.equal(pushed.statusCode, 201, pushed.body);
    }
    const [config0, ...layers] = blobs;
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config0!), size: config0!.length },
        layers: layers.map((layer) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length })),
      }),
    );
    const put = await app.http.inject({
      method: 'PUT',
      url: `/v2/${repository}/manifests/${tag}`,
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      payload: manifest,
    });
    assert.equal(put.statusCode, 201, put.body);
    return { blobs, manifest };
  } finally {
    await app.close();
  }
}

async function assertServes(config: Config, repository: string, tag: string, image: Image): Promise<void> {
  const app = await buildApp(config, silent);
  try {
    const manifest = await app.http.inject({ method: 'GET', url: `/v2/${repository}/manifests/${tag}` });
    assert.equal(manifest.statusCode, 200, manifest.body);
    assert.deepEqual(manifest.rawPayload, image.manifest);
    assert.equal(manifest.headers['docker-content-digest'], sha256(image.manifest));
    for (const blob of image.blobs) {
      const got = await app.http.inject({ method: 'GET', url: `/v2/${repository}/blobs/${sha256(blob)}` });
      assert.equal(got.statusCode, 200);
      assert.equal(sha256(got.rawPayload), sha256(blob));
      assert.deepEqual(got.rawPayload, blob);
    }
    const tags = await app.http.inject({ method: 'GET', url: `/v2/${repository}/tags/list` });
    assert.deepEqual(JSON.parse(tags.body), { name: repository, tags: [tag] });
  } finally {
    await app.close();
  }
}

describe('migrate between filesystem + SQLite configurations', () => {
  let dir: string;
  let source: Config;
  let image: Image;
  const configIn = (name: string): Config => parseConfig('', { cwd: join(dir, name), env: {} });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-migrate-'));
    source = configIn('source');
    image = await pushImage(source, 'team/app', '1.0');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('copies blobs and index; the target serves the image byte for byte', async () => {
    const target = configIn('target');
    const events: MigrateProgress[] = [];
    const summary = await migrate(source, target, { verify: true, onProgress: (p) => events.push(p) });
    // Three blobs and the manifest (stored as a blob too).
    assert.equal(summary.blobsCopied, 4);
    assert.equal(summary.blobsSkipped, 0);
    assert.equal(
      summary.bytesCopied,
      image.blobs.reduce((sum, b) => sum + b.length, image.manifest.length),
    );
    // Every copied table is counted; only the image's rows are there (a table added later counts
    // 0), and whatever the audit log recorded of the push, copied with the rest.
    assert.deepEqual(summary.rows, {
      ...Object.fromEntries(COPIED_TABLES.map((table) => [table, 0])),
      audit_log: summary.rows.audit_log,
      repositories: 1,
      blobs: 4,
      repository_blobs: 4,
      manifests: 1,
      manifest_references: 3,
      tags: 1,
    });
    const lastBlobs = events.filter((e) => e.phase === 'blobs').at(-1);
    assert.deepEqual(lastBlobs, { phase: 'blobs', done: 4, total: 4, bytes: summary.bytesCopied, totalBytes: summary.bytesCopied });
    await assertServes(target, 'team/app', '1.0', image);

    // A second run refuses the index it already filled, before copying anything.
    await assert.rejects(
      migrate(source, target, { verify: true }),
      /target metadata database is not empty \(table repositories has rows\)/,
    );
  });

  it('skips blobs already present (an interrupted run) and still copies the index', async () => {
    const first = await migrate(source, configIn('resumed-blobs-only'), { verify: true });
    assert.equal(first.blobsCopied, 4);
    // Pretend an earlier run stopped after the blobs: same storage, fresh index.
    const resumed = parseConfig('', {
      cwd: join(dir, 'resumed-blobs-only'),
      env: { BERTH_METADATA_SQLITE_PATH: join(dir, 'resumed', 'fresh.db') },
    });
    const summary = await migrate(source, resumed, { verify: true });
    assert.equal(summary.blobsCopied, 0);
    assert.equal(summary.blobsSkipped, 4);
    assert.equal(summary.rows.manifests, 1);
    await assertServes(resumed, 'team/app', '1.0', image);
  });

  it('aborts naming the digest when a source blob is corrupt, and keeps no bad bytes', async () => {
    const layer = image.blobs[1]!;
    const digest = sha256(layer);
    const hex = digest.slice('sha256:'.length);
    const file = join(source.storage.filesystem.rootdirectory, 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
    const handle = await open(file, 'r+');
    try {
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, 1000);
      byte[0] = byte[0]! ^ 0xff;
      await handle.write(byte, 0, 1, 1000);
    } finally {
      await handle.close();
    }
    const target = configIn('corrupt-target');
    await assert.rejects(migrate(source, target, { verify: true }), (error: unknown) => {
      assert.ok(error instanceof BlobVerificationError, String(error));
      assert.equal(error.digest, digest);
      assert.ok(error.message.includes(digest), error.message);
      return true;
    });
    const copied = join(target.storage.filesystem.rootdirectory, 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
    await assert.rejects(open(copied), { code: 'ENOENT' });
  });

  it('refuses the same storage or database on both sides', async () => {
    await assert.rejects(migrate(source, source, { verify: true }), /same blob storage/);
  });
});

describe('migrate from filesystem + SQLite to S3 + PostgreSQL', { timeout: 300_000 }, () => {
  let s3: TestS3 | undefined;
  let postgres: TestPostgres | undefined;
  let dir: string | undefined;
  let skipReason: string | undefined;

  before(async () => {
    const started = await startS3OrSkip();
    if (typeof started === 'string') {
      skipReason = started;
      return;
    }
    s3 = started;
    postgres = await startPostgres();
    dir = await mkdtemp(join(tmpdir(), 'berth-migrate-s3-'));
  });
  after(async () => {
    await postgres?.stop();
    await s3?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('copies an image so that S3 + PostgreSQL serve it byte for byte', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const source = parseConfig('', { cwd: join(dir!, 'source'), env: {} });
    const image = await pushImage(source, 'team/app', '1.0');
    const target = parseConfig('', {
      cwd: join(dir!, 'target'),
      env: {
        ...s3Environment(s3!, `migrate-${randomUUID()}`),
        BERTH_METADATA_POSTGRES_URL: await postgres!.createDatabase(),
      },
    });
    const summary = await migrate(source, target, { verify: true });
    assert.equal(summary.blobsCopied, 4);
    assert.equal(summary.rows.manifest_references, 3);
    await assertServes(target, 'team/app', '1.0', image);
    const again = await migrate(source, target, { verify: true }).catch((error: unknown) => error);
    assert.match(String(again), /not empty \(table repositories has rows\)/);
  });
});
