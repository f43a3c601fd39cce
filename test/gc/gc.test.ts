// Garbage collection end to end on the embedded default (SQLite + filesystem): `berth gc` and
// `berth garbage-collect` run as separate processes while the server serves the same storage
// and database. What they delete and keep is checked in the store's files and through the API.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { childEnv, startRegistry, type TestRegistry } from '../helpers/registry.js';
import {
  deleteReference,
  imageIndex,
  imageManifest,
  manifestDigest,
  newImage,
  pullAndVerify,
  pushBlob,
  pushImage,
  putManifest,
  randomBlob,
  sha256,
  storedBlobFiles,
} from './support.js';

const run = promisify(execFile);
const projectRoot = resolve(import.meta.dirname, '..', '..');

interface GcJson {
  dryRun: boolean;
  stats: {
    manifestsDeleted: number;
    linksRemoved: number;
    blobsDeleted: number;
    orphansDeleted: number;
    bytesFreed: number;
    uploadFoldersRemoved: number;
  };
  deleted: { manifests: string[]; links: string[]; blobs: { digest: string; size: number }[] };
}

async function berth(args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', join(projectRoot, 'src/cli/main.ts'), ...args], { cwd: projectRoot, env: childEnv() });
}

async function gc(registry: TestRegistry, ...flags: string[]): Promise<GcJson> {
  const { stdout } = await berth(['gc', '--config', join(registry.dataDir, 'berth-test-config.yml'), '--json', ...flags]);
  return JSON.parse(stdout) as GcJson;
}

describe('garbage collection on SQLite and the filesystem', () => {
  let registry: TestRegistry;

  before(async () => {
    registry = await startRegistry();
  });

  after(async () => {
    await registry.stop();
  });

  it('keeps everything tagged, deletes untagged images only when asked, and frees their unique bytes', async () => {
    const shared = randomBlob(4000);
    const kept = newImage([shared, randomBlob()]);
    const dropped = newImage([shared, randomBlob(3001)]);
    assert.equal(await pushImage(registry, 'gc/app', 'kept', kept), 201);
    assert.equal(await pushImage(registry, 'gc/app', 'dropped', dropped), 201);
    // A signature of the kept image (a referrer, untagged) and a two-platform index.
    const signature = imageManifest(kept.config, [], { digest: kept.manifest.digest, size: kept.manifest.bytes.length });
    assert.equal(await putManifest(registry, 'gc/app', signature.digest, signature), 201);
    const children = [newImage(), newImage()];
    for (const child of children) {
      for (const blob of [child.config, ...child.layers]) assert.equal(await pushBlob(registry, 'gc/multi', blob, 'chunked'), 201);
      assert.equal(await putManifest(registry, 'gc/multi', child.manifest.digest, child.manifest), 201);
    }
    const index = imageIndex(children.map((c) => c.manifest));
    assert.equal(await putManifest(registry, 'gc/multi', 'latest', index), 201);

    assert.equal(await deleteReference(registry, 'gc/app', 'dropped'), 202);
    const before = await storedBlobFiles(registry.dataDir);

    // Without --delete-untagged an untagged manifest is still an image someone may pull by digest.
    const plain = await gc(registry, '--grace', '0s');
    assert.equal(plain.stats.manifestsDeleted, 0);
    assert.equal(plain.stats.blobsDeleted, 0);
    assert.deepEqual(await storedBlobFiles(registry.dataDir), before);

    const dry = await gc(registry, '--grace', '0s', '--delete-untagged', '--dry-run');
    assert.equal(dry.dryRun, true);
    assert.deepEqual(dry.deleted.manifests, [`gc/app@${dropped.manifest.digest}`]);
    const expectedBlobs = [dropped.manifest, dropped.config, dropped.layers[1]!].map((b) => b.digest).sort();
    assert.deepEqual(dry.deleted.blobs.map((b) => b.digest).sort(), expectedBlobs);
    assert.equal(
      dry.stats.bytesFreed,
      [dropped.manifest, dropped.config, dropped.layers[1]!].reduce((sum, b) => sum + b.bytes.length, 0),
    );
    assert.deepEqual(await storedBlobFiles(registry.dataDir), before, 'a dry run deletes nothing');

    const real = await gc(registry, '--grace', '0s', '--delete-untagged');
    assert.deepEqual(real.deleted.manifests, dry.deleted.manifests);
    assert.deepEqual(real.deleted.blobs.map((b) => b.digest).sort(), expectedBlobs);
    assert.equal(real.stats.bytesFreed, dry.stats.bytesFreed);
    const afterRun = await storedBlobFiles(registry.dataDir);
    assert.equal(afterRun.length, before.length - expectedBlobs.length);
    for (const digest of expectedBlobs) assert.ok(!afterRun.some((file) => file.includes(digest.slice(7))), `${digest} deleted`);

    assert.equal(await manifestDigest(registry, 'gc/app', dropped.manifest.digest), undefined);
    await pullAndVerify(registry, 'gc/app', 'kept');
    await pullAndVerify(registry, 'gc/app', signature.digest);
    await pullAndVerify(registry, 'gc/multi', 'latest');
  });

  it('keeps what the grace period protects, then reclaims everything once every tag is gone', async () => {
    const image = newImage();
    assert.equal(await pushImage(registry, 'gc/grace', 'v1', image), 201);
    for (const repository of ['gc/app', 'gc/multi', 'gc/grace']) {
      const tags = (await (await fetch(new URL(`/v2/${repository}/tags/list`, registry.url))).json()) as { tags: string[] | null };
      for (const tag of tags.tags ?? []) assert.equal(await deleteReference(registry, repository, tag), 202);
    }
    const protectedRun = await gc(registry, '--grace', '1h', '--delete-untagged');
    assert.equal(protectedRun.stats.manifestsDeleted, 0, 'everything is younger than an hour');
    assert.equal(protectedRun.stats.blobsDeleted, 0);
    assert.ok((await storedBlobFiles(registry.dataDir)).length > 0);

    const reclaim = await gc(registry, '--grace', '0s', '--delete-untagged');
    assert.ok(reclaim.stats.manifestsDeleted >= 5);
    assert.deepEqual(await storedBlobFiles(registry.dataDir), [], 'no bytes left once nothing is tagged');
  });

  it('removes bytes without a record and upload folders without a session, once older than the grace period', async () => {
    const orphan = randomBlob();
    const hex = orphan.digest.slice('sha256:'.length);
    const folder = join(registry.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex);
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'data'), orphan.bytes);
    const upload = join(registry.dataDir, 'uploads', '0f0e0d0c-0b0a-4908-8706-050403020100');
    await mkdir(upload, { recursive: true });
    await writeFile(join(upload, 'data'), 'half an upload');

    const fresh = await gc(registry, '--grace', '1h');
    assert.equal(fresh.stats.orphansDeleted, 0);
    assert.equal(fresh.stats.uploadFoldersRemoved, 0);
    await stat(join(folder, 'data'));

    const old = new Date(Date.now() - 2 * 3_600_000);
    await utimes(join(folder, 'data'), old, old);
    await utimes(join(upload, 'data'), old, old);
    const collected = await gc(registry, '--grace', '1h');
    assert.equal(collected.stats.orphansDeleted, 1);
    assert.equal(collected.stats.bytesFreed, orphan.bytes.length);
    assert.equal(collected.stats.uploadFoldersRemoved, 1);
    await assert.rejects(stat(folder), { code: 'ENOENT' });
    await assert.rejects(stat(upload), { code: 'ENOENT' });
    assert.equal(sha256(orphan.bytes), orphan.digest);
  });

  it("answers Distribution's command line, keeping nothing back as Distribution does, and refuses a bad grace period in one line", async () => {
    const config = join(registry.dataDir, 'berth-test-config.yml');
    const image = newImage();
    assert.equal(await pushImage(registry, 'gc/distribution', 'v1', image), 201);
    assert.equal(await deleteReference(registry, 'gc/distribution', 'v1'), 202);
    const dry = await berth(['garbage-collect', config, '--dry-run', '--delete-untagged']);
    assert.match(dry.stdout, /^gc dry run [0-9a-f-]+: \d+ repositories; would delete 1 manifests/m);
    const { stdout } = await berth(['garbage-collect', config, '-m']);
    assert.match(stdout, /^gc run [0-9a-f-]+: \d+ repositories; deleted 1 manifests, \d+ blob links, 4 blobs/m);
    assert.equal(await manifestDigest(registry, 'gc/distribution', image.manifest.digest), undefined);
    await assert.rejects(berth(['gc', '--config', config, '--grace', 'soon']), (error: { stderr: string; code: number }) => {
      assert.equal(error.code, 1);
      assert.match(error.stderr, /^berth gc: invalid --grace: /);
      return true;
    });
  });
});
