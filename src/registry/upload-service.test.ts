// UploadService against real components: the filesystem storage driver in a temporary folder and
// a SQLite metadata database. Covers how often upload activity is recorded, purging idle uploads,
// the one-request push straight to the content address (its digest claimed while the body arrives
// and before the bytes land there, and what a failure there leaves behind), concurrent pushes of
// the same blob, status() waiting for a chunk in flight, and a failed first chunk keeping the
// bytes that arrived. Time is a test clock handed to the service: the activity
// and purge tests step it past an interval instead of sleeping.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { RegistryError } from '../errors/index.js';
import { MetadataStore, openSqlite } from '../metadata/index.js';
import { Digest, parseRepositoryName, type RepositoryName } from '../oci/index.js';
import { FilesystemDriver } from '../storage/filesystem/filesystem-driver.js';
import { UploadService } from './upload-service.js';

const KiB = 1024;
const MiB = 1024 * KiB;

interface Fixture {
  readonly base: string;
  /** The storage driver's root directory (the metadata database lives beside it, not in it). */
  readonly root: string;
  readonly storage: FilesystemDriver;
  readonly metadata: MetadataStore;
}

async function openFixture(): Promise<Fixture> {
  const base = await mkdtemp(join(tmpdir(), 'berth-upload-service-'));
  const root = join(base, 'storage');
  const storage = new FilesystemDriver({ rootDirectory: root });
  const metadata = new MetadataStore(openSqlite(join(base, 'metadata.db')));
  await metadata.migrate();
  return { base, root, storage, metadata };
}

async function closeFixture(fixture: Fixture): Promise<void> {
  await fixture.metadata.close();
  await rm(fixture.base, { recursive: true, force: true });
}

/** Every file (not directory) below dir, as paths relative to it; [] when dir does not exist. */
async function filesUnder(dir: string, prefix = ''): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const files: string[] = [];
  for (const entry of entries) {
    const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) files.push(...(await filesUnder(join(dir, entry.name), relative)));
    else files.push(relative);
  }
  return files;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** Temporary files of the filesystem driver have a '~' in their name. */
async function tildeFiles(root: string): Promise<string[]> {
  return (await filesUnder(root)).filter((path) => path.split('/').some((name) => name.includes('~')));
}

function blobFolder(root: string, digest: Digest): string {
  return join(root, 'blobs', digest.algorithm, digest.hex.slice(0, 2), digest.hex);
}

function blobPath(root: string, digest: Digest): string {
  return join(blobFolder(root, digest), 'data');
}

async function* pieces(content: Uint8Array, size = 256 * KiB): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < content.length; offset += size) {
    yield content.subarray(offset, offset + size);
  }
}

async function updatedAt(metadata: MetadataStore, id: string): Promise<string> {
  const row = await metadata.findUpload(id);
  assert.ok(row, `upload ${id} exists`);
  return row.updatedAt;
}

/** A clock the tests step forward instead of sleeping (UploadService's `now` option). */
class Clock {
  ms = Date.parse('2030-01-01T00:00:00.000Z');
  readonly now = (): number => this.ms;
}

function isRegistryError(name: string): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof RegistryError, `expected a RegistryError, got ${String(error)}`);
    assert.equal(error.errorName, name);
    return true;
  };
}

describe('UploadService', () => {
  let fixture: Fixture;
  const repository: RepositoryName = parseRepositoryName('library/upload-test');

  beforeEach(async () => {
    fixture = await openFixture();
  });

  afterEach(async () => {
    await closeFixture(fixture);
  });

  describe('recording upload activity', () => {
    it('rewrites updated_at at most every purge age / 10', async () => {
      const clock = new Clock();
      const service = new UploadService(fixture.storage, fixture.metadata, { uploadPurgeAgeMs: 2000, now: clock.now });
      const { id } = await service.start(repository);
      const created = await updatedAt(fixture.metadata, id);

      await service.append(repository, id, pieces(randomBytes(4 * KiB)));
      assert.equal(await updatedAt(fixture.metadata, id), created, 'a chunk right after the start is not recorded');

      clock.ms += 300; // longer than the 200 ms interval
      const status = await service.append(repository, id, pieces(randomBytes(4 * KiB)));
      assert.equal(status.size, 8 * KiB);
      const touched = await updatedAt(fixture.metadata, id);
      assert.ok(Date.parse(touched) > Date.parse(created), `updated_at moved forward (${created} -> ${touched})`);
      assert.ok(Date.parse(touched) - Date.parse(created) >= 200);

      // And right after that touch, the next chunk does not record again.
      await service.append(repository, id, pieces(randomBytes(4 * KiB)));
      assert.equal(await updatedAt(fixture.metadata, id), touched);
    });

    it('uses a 60 s interval without a purge age', async () => {
      const clock = new Clock();
      const service = new UploadService(fixture.storage, fixture.metadata, { now: clock.now });
      const { id } = await service.start(repository);
      const created = await updatedAt(fixture.metadata, id);
      await service.append(repository, id, pieces(randomBytes(4 * KiB)));
      clock.ms += 50;
      await service.append(repository, id, pieces(randomBytes(4 * KiB)));
      assert.equal(await updatedAt(fixture.metadata, id), created);
      assert.equal((await service.status(repository, id)).size, 8 * KiB);
    });

    it('caps the interval at 60 s for a long purge age', async () => {
      // purge age 1 h: a tenth would be 6 min, the cap is 60 s; either way a quick chunk is not recorded.
      const clock = new Clock();
      const service = new UploadService(fixture.storage, fixture.metadata, { uploadPurgeAgeMs: 3_600_000, now: clock.now });
      const { id } = await service.start(repository);
      const created = await updatedAt(fixture.metadata, id);
      clock.ms += 50;
      await service.append(repository, id, pieces(randomBytes(KiB)));
      await service.append(repository, id, pieces(randomBytes(KiB)));
      assert.equal(await updatedAt(fixture.metadata, id), created);
    });
  });

  describe('purgeIdle', () => {
    it('removes idle uploads with their bytes, keeps one that got a chunk recently, and only lists on a dry run', async () => {
      const clock = new Clock();
      const service = new UploadService(fixture.storage, fixture.metadata, { uploadPurgeAgeMs: 2000, now: clock.now });
      const idle = await service.start(repository);
      const active = await service.start(repository);
      await service.append(repository, idle.id, pieces(randomBytes(16 * KiB)));
      await service.append(repository, active.id, pieces(randomBytes(16 * KiB)));
      const idleFolder = join(fixture.root, 'uploads', idle.id);
      const activeFolder = join(fixture.root, 'uploads', active.id);
      assert.ok(await exists(idleFolder));
      assert.ok(await exists(activeFolder));

      clock.ms += 400; // past the 200 ms activity interval and the 250 ms idle limit below
      await service.append(repository, active.id, pieces(randomBytes(16 * KiB)));

      const listed = await service.purgeIdle(250, true);
      assert.deepEqual(listed, [idle.id]);
      assert.ok(await fixture.metadata.findUpload(idle.id), 'a dry run removes no row');
      assert.ok(await exists(join(idleFolder, 'data')), 'a dry run removes no bytes');
      assert.equal((await service.status(repository, idle.id)).size, 16 * KiB);

      const purged = await service.purgeIdle(250);
      assert.deepEqual(purged, [idle.id]);
      assert.equal(await fixture.metadata.findUpload(idle.id), undefined);
      assert.equal(await exists(idleFolder), false, 'the purged upload folder is gone from disk');
      await assert.rejects(service.status(repository, idle.id), isRegistryError('BLOB_UPLOAD_UNKNOWN'));

      assert.ok(await fixture.metadata.findUpload(active.id));
      assert.ok(await exists(join(activeFolder, 'data')));
      assert.equal((await service.status(repository, active.id)).size, 32 * KiB);

      assert.deepEqual(await service.purgeIdle(250), [], 'nothing else is idle');
    });
  });

  describe('complete() with the whole body in one request', () => {
    it('writes the blob straight to its content address, without an upload folder', async () => {
      const service = new UploadService(fixture.storage, fixture.metadata);
      const content = randomBytes(300 * KiB + 7);
      const digest = Digest.of(content);
      const { id } = await service.start(repository);

      const result = await service.complete(repository, id, digest, pieces(content, 64 * KiB));
      assert.ok(result.digest.equals(digest));
      assert.equal(result.size, content.length);

      assert.deepEqual(await readFile(blobPath(fixture.root, digest)), content);
      // Nothing removes the uploads/ folder itself, so its absence shows no upload folder was ever made.
      assert.equal(await exists(join(fixture.root, 'uploads')), false, 'no uploads/ folder was created');
      assert.deepEqual(await filesUnder(fixture.root), [`blobs/sha256/${digest.hex.slice(0, 2)}/${digest.hex}/data`]);
      assert.equal(await fixture.metadata.findUpload(id), undefined, 'the upload session ended');
      assert.deepEqual(await fixture.metadata.findRepositoryBlob(repository, digest.toString()), { size: content.length });
    });

    it('with a wrong digest throws DIGEST_INVALID, keeps no file and ends the upload', async () => {
      const service = new UploadService(fixture.storage, fixture.metadata);
      const content = randomBytes(2 * MiB + 123);
      const claimed = Digest.of(Buffer.from('something else entirely'));
      const { id } = await service.start(repository);

      await assert.rejects(service.complete(repository, id, claimed, pieces(content)), isRegistryError('DIGEST_INVALID'));

      assert.deepEqual(await filesUnder(blobFolder(fixture.root, claimed)), [], 'no file under the claimed digest');
      assert.equal(await exists(blobFolder(fixture.root, Digest.of(content))), false);
      assert.deepEqual(await tildeFiles(fixture.root), []);
      assert.deepEqual(await filesUnder(fixture.root), [], 'no file anywhere in the store');
      assert.equal(await fixture.metadata.findUpload(id), undefined, 'the upload row is gone');
      assert.equal(await fixture.metadata.findRepositoryBlob(repository, claimed.toString()), undefined);
      await assert.rejects(service.status(repository, id), isRegistryError('BLOB_UPLOAD_UNKNOWN'));
    });

    it('keeps nothing when the body fails midway, and the upload can be completed again', async () => {
      const service = new UploadService(fixture.storage, fixture.metadata);
      const content = randomBytes(1536 * KiB);
      const digest = Digest.of(content);
      const { id } = await service.start(repository);

      const failure = new Error('connection reset');
      async function* broken(): AsyncGenerator<Uint8Array> {
        yield content.subarray(0, 100 * KiB);
        // A piece of 1 MiB or more goes to the file at once, so there is a temporary file to clean up.
        yield content.subarray(100 * KiB, 100 * KiB + MiB);
        throw failure;
      }
      await assert.rejects(service.complete(repository, id, digest, broken()), (error: unknown) => error === failure);

      assert.deepEqual(await filesUnder(blobFolder(fixture.root, digest)), [], 'no file under the blob folder');
      assert.deepEqual(await tildeFiles(fixture.root), []);
      assert.ok(await fixture.metadata.findUpload(id), 'the upload still exists');
      assert.equal((await service.status(repository, id)).size, 0);
      assert.equal(await fixture.metadata.findRepositoryBlob(repository, digest.toString()), undefined);

      const result = await service.complete(repository, id, digest, pieces(content));
      assert.equal(result.size, content.length);
      assert.deepEqual(await readFile(blobPath(fixture.root, digest)), content);
      assert.deepEqual(await tildeFiles(fixture.root), []);
      assert.equal(await fixture.metadata.findUpload(id), undefined);
      assert.deepEqual(await fixture.metadata.findRepositoryBlob(repository, digest.toString()), { size: content.length });
    });

    it('claims the digest while the body arrives, and places the bytes only once the claim is recorded', async () => {
      const metadata = fixture.metadata;
      let claimAsked = false;
      let releaseClaim: () => void = () => undefined;
      const claimHeld = new Promise<void>((resolve) => {
        releaseClaim = resolve;
      });
      const service = new UploadService(fixture.storage, {
        createUpload: (id, name, at) => metadata.createUpload(id, name, at),
        findUpload: (id) => metadata.findUpload(id),
        touchUpload: (...args) => metadata.touchUpload(...args),
        deleteUpload: (id) => metadata.deleteUpload(id),
        listUploadsIdleSince: (cutoff) => metadata.listUploadsIdleSince(cutoff),
        addBlobToRepository: (...args) => metadata.addBlobToRepository(...args),
        unlinkBlob: (...args) => metadata.unlinkBlob(...args),
        claimUploadDigest: async (...args) => {
          claimAsked = true;
          await claimHeld;
          await metadata.claimUploadDigest(...args);
        },
      });
      const content = randomBytes(2 * MiB + 5);
      const digest = Digest.of(content);
      const { id } = await service.start(repository);
      let bodyRead = false;
      async function* body(): AsyncGenerator<Uint8Array> {
        yield* pieces(content);
        bodyRead = true;
      }

      const completed = service.complete(repository, id, digest, body());
      try {
        for (let i = 0; i < 400 && !bodyRead; i += 1) await delay(5);
        assert.equal(bodyRead, true, 'the body was read while the claim was being recorded');
        assert.equal(claimAsked, true);
        // Time for a commit that did not wait for the claim to rename the bytes into place.
        for (let i = 0; i < 50 && !(await exists(blobPath(fixture.root, digest))); i += 1) await delay(10);
        assert.equal(await exists(blobPath(fixture.root, digest)), false, 'no bytes at the address before the claim');
      } finally {
        releaseClaim();
      }

      assert.equal((await completed).size, content.length);
      assert.deepEqual(await readFile(blobPath(fixture.root, digest)), content);
      assert.equal(await fixture.metadata.findUpload(id), undefined);
      assert.deepEqual(await fixture.metadata.findRepositoryBlob(repository, digest.toString()), { size: content.length });
    });

    it('pushes the same blob through two uploads at once', async () => {
      const service = new UploadService(fixture.storage, fixture.metadata);
      const content = randomBytes(3 * MiB);
      const digest = Digest.of(content);
      const first = await service.start(repository);
      const second = await service.start(repository);

      const results = await Promise.all([
        service.complete(repository, first.id, digest, pieces(content, 128 * KiB)),
        service.complete(repository, second.id, digest, pieces(content, 128 * KiB)),
      ]);
      for (const result of results) {
        assert.ok(result.digest.equals(digest));
        assert.equal(result.size, content.length);
      }

      assert.deepEqual(await readFile(blobPath(fixture.root, digest)), content);
      assert.deepEqual(await tildeFiles(fixture.root), []);
      assert.deepEqual(await filesUnder(fixture.root), [`blobs/sha256/${digest.hex.slice(0, 2)}/${digest.hex}/data`]);
      assert.equal(await fixture.metadata.findUpload(first.id), undefined);
      assert.equal(await fixture.metadata.findUpload(second.id), undefined);
      assert.deepEqual(await fixture.metadata.findRepositoryBlob(repository, digest.toString()), { size: content.length });
    });
  });

  describe('status()', () => {
    it('waits for a chunk in flight', async () => {
      const service = new UploadService(fixture.storage, fixture.metadata);
      const { id } = await service.start(repository);

      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let firstPieceTaken: () => void = () => undefined;
      const firstPiece = new Promise<void>((resolve) => {
        firstPieceTaken = resolve;
      });
      async function* body(): AsyncGenerator<Uint8Array> {
        yield Buffer.alloc(64 * KiB, 1);
        firstPieceTaken();
        await held;
        yield Buffer.alloc(64 * KiB, 2);
      }

      const appending = service.append(repository, id, body());
      await firstPiece; // the chunk is being written
      const status = service.status(repository, id);
      const winner = await Promise.race([status.then(() => 'status' as const), delay(100).then(() => 'timer' as const)]);
      assert.equal(winner, 'timer', 'status() did not resolve while the chunk was held');

      release();
      assert.equal((await appending).size, 128 * KiB);
      assert.equal((await status).size, 131072);
    });
  });

  describe('a first chunk that fails midway', () => {
    it('keeps the bytes that arrived', async () => {
      const service = new UploadService(fixture.storage, fixture.metadata);
      const { id } = await service.start(repository);
      const arrived = randomBytes(128 * KiB);
      const failure = new Error('connection reset');
      async function* broken(): AsyncGenerator<Uint8Array> {
        yield arrived.subarray(0, 64 * KiB);
        yield arrived.subarray(64 * KiB);
        throw failure;
      }

      await assert.rejects(service.append(repository, id, broken()), (error: unknown) => error === failure);

      assert.equal((await service.status(repository, id)).size, arrived.length);
      assert.deepEqual(await readFile(join(fixture.root, 'uploads', id, 'data')), arrived);
      assert.deepEqual(await tildeFiles(fixture.root), []);

      // The client resumes from there and completes; the digest covers both parts.
      const rest = randomBytes(40 * KiB);
      const whole = Buffer.concat([arrived, rest]);
      const digest = Digest.of(whole);
      const result = await service.complete(repository, id, digest, pieces(rest));
      assert.equal(result.size, whole.length);
      assert.deepEqual(await readFile(blobPath(fixture.root, digest)), whole);
      assert.equal(await exists(join(fixture.root, 'uploads', id)), false, 'the upload folder is removed');
      assert.equal(await fixture.metadata.findUpload(id), undefined);
    });
  });
});
