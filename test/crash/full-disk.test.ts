// Full disk: Berth's data directory (blobs, uploads and the SQLite index) on a small filesystem
// (an 8 MiB tmpfs, else a loop-mounted ext4 image, else the tests skip with the reason). An image
// that fits is pushed; a filler file then takes most of the rest, and pushes that do not fit
// must fail with an error status while Berth stays up, keeps serving the stored image byte for
// byte, and shows no failed blob. Once the filler is deleted, the interrupted chunked upload
// resumes and new pushes succeed. Last, the disk is filled to the last byte while only the index
// has to grow (bytes already stored), so SQLite itself fails with SQLITE_FULL: each write must be
// answered 507 INSUFFICIENT_STORAGE and change nothing, and after space is freed the registry
// takes writes again and a restarted process serves the same images. Needs root (mount); CI
// runs as root.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import {
  describeResponse,
  header,
  imageManifest,
  locationWith,
  MEDIA,
  ociErrorCodes,
  RegistryClient,
  sha256,
  uploadedBytes,
  type BuiltManifest,
  type HttpResponse,
} from './support.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const REPO = 'disk/app';
/** Free space left after the filler: the overflowing blobs are bigger than this. */
const HEADROOM = 2.5 * MiB;
const BIG = 4 * MiB;

interface SmallFilesystem {
  readonly kind: string;
  readonly mountPoint: string;
  unmount(): Promise<void>;
}

/** Mounts an 8 MiB tmpfs, else a 16 MiB loop-mounted ext4 image; when neither works, the reasons. */
async function mountSmallFilesystem(base: string): Promise<SmallFilesystem | string> {
  const mountPoint = join(base, 'mnt');
  await run('mkdir', ['-p', mountPoint]);
  const unmountAt = async (): Promise<void> => {
    await run('umount', [mountPoint]).catch(() => run('umount', ['-l', mountPoint]));
  };
  const reasons: string[] = [];
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountPoint]);
    return { kind: 'tmpfs (8 MiB)', mountPoint, unmount: unmountAt };
  } catch (error) {
    reasons.push(`tmpfs: ${firstLine(error)}`);
  }
  const image = join(base, 'disk.img');
  try {
    await run('truncate', ['-s', '16M', image]);
    await run('mkfs.ext4', ['-q', '-F', image]);
    await run('mount', ['-o', 'loop', image, mountPoint]);
    return { kind: 'ext4 loop image (16 MiB)', mountPoint, unmount: unmountAt };
  } catch (error) {
    reasons.push(`loop ext4: ${firstLine(error)}`);
  }
  return `cannot mount a small filesystem (needs root): ${reasons.join('; ')}`;
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? (error as Error & { stderr?: string }).stderr || error.message : String(error);
  return text.trim().split('\n')[0] ?? '';
}

/** Bytes root may still write (root may use blocks reserved for it). */
async function freeBytes(path: string): Promise<number> {
  const info = await statfs(path);
  return info.bfree * info.bsize;
}

describe('full disk: pushes that do not fit fail cleanly and Berth recovers', { timeout: 180_000 }, () => {
  let base = '';
  let filesystem: SmallFilesystem | undefined;
  let skipReason: string | undefined;
  let registry: TestRegistry | undefined;
  /** A new connection per request, so that one stuck connection cannot stall the checks. */
  let client: RegistryClient | undefined;
  let filler = '';

  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = randomBytes(MiB);
  let stored: BuiltManifest | undefined;
  /** The overflowing pushes: what was sent, and what Berth answered. */
  const failures: { what: string; response: HttpResponse }[] = [];
  let chunked: { location: string; blob: Buffer } | undefined;
  const overflowBlobs: Buffer[] = [];
  let reusedConnection: string | undefined;

  before(async () => {
    if (testTarget !== 'berth') {
      skipReason = 'checks Berth only';
      return;
    }
    base = await mkdtemp(join(tmpdir(), 'berth-full-disk-'));
    const mounted = await mountSmallFilesystem(base);
    if (typeof mounted === 'string') {
      skipReason = mounted;
      return;
    }
    filesystem = mounted;
    filler = join(mounted.mountPoint, 'filler');
    registry = await startRegistry({ dataDir: mounted.mountPoint });
    client = new RegistryClient(registry.url, { keepAlive: false });
  });

  after(async () => {
    client?.close();
    await registry?.stop({ keepData: true }).catch(() => undefined);
    await filesystem?.unmount().catch(() => undefined);
    if (base) await rm(base, { recursive: true, force: true });
    if (failures.length > 0) {
      const answers = failures.map((f) => `${f.what} -> ${describeResponse(f.response)}`);
      console.log(`full disk (${filesystem?.kind}): ${answers.join('; ')}`);
    }
    if (reusedConnection) console.log(`full disk: ${reusedConnection}`);
  });

  function api(): RegistryClient {
    assert.ok(client, 'the registry did not start');
    return client;
  }

  async function startUpload(): Promise<string> {
    const post = await api().request('POST', `/v2/${REPO}/blobs/uploads/`);
    assert.equal(post.status, 202, `POST upload: ${describeResponse(post)}`);
    const location = header(post, 'location');
    assert.ok(location);
    return location;
  }

  async function pushBlob(bytes: Buffer): Promise<void> {
    const location = await startUpload();
    const put = await api().request('PUT', locationWith(api().baseUrl, location, { digest: sha256(bytes) }), { body: bytes });
    assert.equal(put.status, 201, `PUT blob: ${describeResponse(put)}`);
  }

  async function pushManifest(tag: string, manifest: BuiltManifest): Promise<HttpResponse> {
    return api().request('PUT', `/v2/${REPO}/manifests/${tag}`, {
      headers: { 'content-type': manifest.mediaType },
      body: manifest.bytes,
    });
  }

  async function assertServed(tag: string, manifest: BuiltManifest, blobs: readonly Buffer[]): Promise<void> {
    const got = await api().request('GET', `/v2/${REPO}/manifests/${tag}`, { headers: { accept: manifest.mediaType } });
    assert.equal(got.status, 200, `GET ${tag}: ${describeResponse(got)}`);
    assert.ok(got.body.equals(manifest.bytes), 'the manifest is served byte for byte');
    for (const blob of blobs) {
      const response = await api().request('GET', `/v2/${REPO}/blobs/${sha256(blob)}`);
      assert.equal(response.status, 200);
      assert.ok(response.body.equals(blob), `blob ${sha256(blob)} is served byte for byte`);
    }
  }

  async function assertUp(): Promise<void> {
    assert.equal(registry?.output().includes('"msg":"stopped"'), false, 'Berth stopped');
    const exited = await Promise.race([registry?.exited(), new Promise((r) => setTimeout(() => r('running'), 50))]);
    assert.equal(exited, 'running', 'Berth is still running');
    const base = await api().request('GET', '/v2/');
    assert.equal(base.status, 200, 'Berth still answers');
  }

  it('an image that fits is pushed', async (t) => {
    if (skipReason) return t.skip(skipReason);
    await pushBlob(config);
    await pushBlob(layer);
    stored = imageManifest('oci', { mediaType: MEDIA.ociConfig, digest: sha256(config), size: config.length }, [
      { mediaType: MEDIA.ociLayer, digest: sha256(layer), size: layer.length },
    ]);
    const put = await pushManifest('fits', stored);
    assert.equal(put.status, 201, describeResponse(put));
    await assertServed('fits', stored, [config, layer]);
  });

  it('pushes that do not fit fail with an error status, Berth stays up, and no failed blob is visible', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const mountPoint = filesystem?.mountPoint ?? '';
    await writeFile(filler, Buffer.alloc(Math.max(0, (await freeBytes(mountPoint)) - HEADROOM)));

    // Chunked: POST, then one PATCH bigger than the space left.
    const blob = randomBytes(BIG);
    overflowBlobs.push(blob);
    const location = await startUpload();
    // Sent on a keep-alive connection, which is then reused, as Docker, containerd and every Go
    // client do: the failure must not leave that connection stuck.
    const reusing = new RegistryClient(api().baseUrl);
    try {
      const patch = await reusing.request('PATCH', location, {
        headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${BIG - 1}` },
        body: blob,
      });
      failures.push({ what: `PATCH of ${BIG} bytes with ${HEADROOM} free`, response: patch });
      const next = await reusing.request('GET', '/v2/', { timeoutMs: 5_000 }).then(
        (response) => `answered ${response.status}`,
        (error: unknown) => `no answer (${error instanceof Error ? error.message : String(error)})`,
      );
      reusedConnection = `the PATCH answered ${patch.status}; the next request on the same keep-alive connection: ${next}`;
    } finally {
      reusing.close();
    }
    chunked = { location, blob };

    // Monolithic: a single POST ?digest=, then POST + PUT with the body.
    const single = randomBytes(BIG);
    overflowBlobs.push(single);
    failures.push({
      what: 'POST ?digest= (single request) on a full disk',
      response: await api().request('POST', `/v2/${REPO}/blobs/uploads/?digest=${sha256(single)}`, {
        headers: { 'content-type': 'application/octet-stream' },
        body: single,
      }),
    });
    const monolithic = randomBytes(BIG);
    overflowBlobs.push(monolithic);
    const post = await api().request('POST', `/v2/${REPO}/blobs/uploads/`);
    const response =
      post.status === 202
        ? await api().request('PUT', locationWith(api().baseUrl, header(post, 'location') ?? '', { digest: sha256(monolithic) }), {
            headers: { 'content-type': 'application/octet-stream' },
            body: monolithic,
          })
        : post;
    failures.push({ what: `${post.status === 202 ? 'PUT with body' : 'POST (upload start)'} on a full disk`, response });

    // A manifest over blobs that exist, with a new tag.
    const manifest = imageManifest('docker', { mediaType: MEDIA.dockerConfig, digest: sha256(config), size: config.length }, [
      { mediaType: MEDIA.dockerLayer, digest: sha256(layer), size: layer.length },
    ]);
    const manifestPut = await pushManifest('full', manifest);
    if (manifestPut.status !== 201) failures.push({ what: 'manifest PUT on a full disk', response: manifestPut });

    for (const failure of failures) {
      assert.ok(failure.response.status >= 400, `${failure.what} must fail: ${describeResponse(failure.response)}`);
    }
    await assertUp();
    for (const bytes of overflowBlobs) {
      const head = await api().request('HEAD', `/v2/${REPO}/blobs/${sha256(bytes)}`);
      assert.equal(head.status, 404, 'a blob whose push failed is not visible');
    }
    // A tag either resolves to the intact manifest or does not exist.
    const full = await api().request('GET', `/v2/${REPO}/manifests/full`, { headers: { accept: manifest.mediaType } });
    assert.ok(full.status === 404 || (full.status === 200 && full.body.equals(manifest.bytes)), describeResponse(full));
  });

  it('the image stored before the disk filled up is still served byte for byte', async (t) => {
    if (skipReason) return t.skip(skipReason);
    assert.ok(stored, 'needs the first test');
    await assertServed('fits', stored, [config, layer]);
  });

  it('the failure is reported clearly: 507 Insufficient Storage, or an OCI error code other than UNKNOWN', (t) => {
    if (skipReason) return t.skip(skipReason);
    assert.ok(failures.length > 0, 'needs the overflow test');
    for (const { what, response } of failures) {
      const codes = ociErrorCodes(response);
      assert.ok(codes, `${what}: not an OCI error body: ${describeResponse(response)}`);
      assert.ok(
        response.status === 507 || !codes.includes('UNKNOWN'),
        `${what}: expected 507 or a specific error, got ${describeResponse(response)}`,
      );
    }
  });

  it('a keep-alive connection whose push failed for lack of space is closed or still answers', (t) => {
    if (skipReason) return t.skip(skipReason);
    assert.ok(reusedConnection, 'needs the overflow test');
    assert.match(reusedConnection, /next request on the same keep-alive connection: answered 200$/);
  });

  it('after space is freed, the interrupted chunked upload resumes and new pushes succeed', async (t) => {
    if (skipReason) return t.skip(skipReason);
    assert.ok(chunked && stored, 'needs the earlier tests');
    await rm(filler);

    // The chunked upload kept what it wrote (or is gone): resume it from its Range.
    const status = await api().request('GET', chunked.location);
    let location: string;
    let offset: number;
    if (status.status === 404) {
      assert.ok(ociErrorCodes(status)?.includes('BLOB_UPLOAD_UNKNOWN'), describeResponse(status));
      location = await startUpload();
      offset = 0;
    } else {
      assert.equal(status.status, 204, describeResponse(status));
      offset = uploadedBytes(header(status, 'range')) ?? -1;
      assert.ok(offset >= 0 && offset <= BIG, `Range ${header(status, 'range')}`);
      location = header(status, 'location') ?? chunked.location;
    }
    const patch = await api().request('PATCH', location, {
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${BIG - 1}` },
      body: chunked.blob.subarray(offset),
    });
    assert.equal(patch.status, 202, `resuming at ${offset}: ${describeResponse(patch)}`);
    const completion = locationWith(api().baseUrl, header(patch, 'location') ?? location, { digest: sha256(chunked.blob) });
    const put = await api().request('PUT', completion);
    assert.equal(put.status, 201, `completing the resumed upload: ${describeResponse(put)}`);

    // A new image, with a blob that failed before.
    const newConfig = Buffer.from(JSON.stringify({ architecture: 'arm64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const newLayer = randomBytes(MiB / 2);
    await pushBlob(newConfig);
    await pushBlob(newLayer);
    const manifest = imageManifest('oci', { mediaType: MEDIA.ociConfig, digest: sha256(newConfig), size: newConfig.length }, [
      { mediaType: MEDIA.ociLayer, digest: sha256(newLayer), size: newLayer.length },
      { mediaType: MEDIA.ociLayer, digest: sha256(chunked.blob), size: BIG },
    ]);
    const manifestPut = await pushManifest('after', manifest);
    assert.equal(manifestPut.status, 201, describeResponse(manifestPut));
    await assertServed('after', manifest, [newConfig, newLayer, chunked.blob]);
    await assertServed('fits', stored, [config, layer]);
    await assertUp();
  });

  it('a failed single-request push (POST ?digest=) gives its space back', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const mountPoint = filesystem?.mountPoint ?? '';
    const secondFiller = join(mountPoint, 'filler-2');
    await writeFile(secondFiller, Buffer.alloc(Math.max(0, (await freeBytes(mountPoint)) - HEADROOM)));
    try {
      const before = await freeBytes(mountPoint);
      const bytes = randomBytes(BIG);
      const response = await api().request('POST', `/v2/${REPO}/blobs/uploads/?digest=${sha256(bytes)}`, {
        headers: { 'content-type': 'application/octet-stream' },
        body: bytes,
      });
      const afterwards = await freeBytes(mountPoint);
      assert.ok(response.status >= 400, describeResponse(response));
      assert.equal((await api().request('HEAD', `/v2/${REPO}/blobs/${sha256(bytes)}`)).status, 404);
      // The client got no upload id, so it can neither resume nor cancel: nothing may stay.
      assert.ok(
        afterwards >= before - 512 * 1024,
        `the failed single POST still holds ${before - afterwards} bytes (${afterwards} bytes free)`,
      );
    } finally {
      await rm(secondFiller, { force: true });
    }
  });

  // Above, the blob bytes hit the full disk first. Here the bytes are already stored and only
  // the index must grow: SQLite itself runs out of space (SQLITE_FULL) while appending to its WAL.
  const indexFull: { what: string; response: HttpResponse }[] = [];
  let doomed: BuiltManifest | undefined;
  let pending: { location: string; blob: Buffer } | undefined;
  const indexFiller = (): string => join(filesystem?.mountPoint ?? '', 'filler-index');

  it('when the index itself has no room left, writes answer 507 INSUFFICIENT_STORAGE', async (t) => {
    if (skipReason) return t.skip(skipReason);
    assert.ok(stored, 'needs the first test');
    // Before the disk fills: an image to delete, and an upload whose bytes are all in.
    const doomedLayer = randomBytes(64 * 1024);
    await pushBlob(doomedLayer);
    doomed = imageManifest('oci', { mediaType: MEDIA.ociConfig, digest: sha256(config), size: config.length }, [
      { mediaType: MEDIA.ociLayer, digest: sha256(doomedLayer), size: doomedLayer.length },
    ]);
    assert.equal((await pushManifest('doomed', doomed)).status, 201);
    const blob = randomBytes(64 * 1024);
    const location = await startUpload();
    const patch = await api().request('PATCH', location, {
      headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${blob.length - 1}` },
      body: blob,
    });
    assert.equal(patch.status, 202, describeResponse(patch));
    pending = { location: header(patch, 'location') ?? location, blob };

    await fillCompletely(indexFiller());
    indexFull.push({
      what: 'upload completion (bytes stored, index full)',
      response: await api().request('PUT', locationWith(api().baseUrl, pending.location, { digest: sha256(blob) })),
    });
    indexFull.push({
      what: 'manifest DELETE by digest',
      response: await api().request('DELETE', `/v2/${REPO}/manifests/${doomed.digest}`),
    });
    // The manifest's bytes are stored already: only the new tag needs room in the index.
    indexFull.push({ what: 'manifest PUT of stored bytes under a new tag', response: await pushManifest('again', stored) });
    indexFull.push({ what: 'tag DELETE', response: await api().request('DELETE', `/v2/${REPO}/manifests/doomed`) });
    const unclear = indexFull.filter(
      ({ response }) => response.status !== 507 || ociErrorCodes(response)?.join() !== 'INSUFFICIENT_STORAGE',
    );
    assert.deepEqual(
      unclear.map(({ what, response }) => `${what}: ${describeResponse(response)}`),
      [],
    );
    await assertUp();
    // Nothing changed: every image is served as before, the failed writes left no trace.
    await assertServed('fits', stored, [config, layer]);
    await assertServed('doomed', doomed, [config, doomedLayer]);
    assert.equal((await api().request('GET', `/v2/${REPO}/manifests/${doomed.digest}`)).status, 200);
    assert.equal((await api().request('GET', `/v2/${REPO}/manifests/again`)).status, 404);
    assert.equal((await api().request('HEAD', `/v2/${REPO}/blobs/${sha256(blob)}`)).status, 404);
  });

  it('once space is freed, the index takes writes again and nothing stored was lost, also after a restart', async (t) => {
    if (skipReason) return t.skip(skipReason);
    assert.ok(stored && doomed && pending && registry, 'needs the earlier tests');
    await rm(indexFiller());
    assert.equal((await api().request('DELETE', `/v2/${REPO}/manifests/doomed`)).status, 202);
    assert.equal((await api().request('DELETE', `/v2/${REPO}/manifests/${doomed.digest}`)).status, 202);
    assert.equal((await api().request('GET', `/v2/${REPO}/manifests/${doomed.digest}`)).status, 404);
    assert.equal((await pushManifest('again', stored)).status, 201);
    // The failed completion moved no visible bytes; the client starts over, as clients do.
    await pushBlob(pending.blob);
    assert.equal((await api().request('HEAD', `/v2/${REPO}/blobs/${sha256(pending.blob)}`)).status, 200);
    await assertServed('fits', stored, [config, layer]);
    await assertServed('again', stored, [config, layer]);

    // A fresh process reads the same index: SQLite's files were left consistent.
    client?.close();
    await registry.stop({ keepData: true });
    registry = await startRegistry({ dataDir: filesystem?.mountPoint ?? '' });
    client = new RegistryClient(registry.url, { keepAlive: false });
    await assertServed('fits', stored, [config, layer]);
    await assertServed('again', stored, [config, layer]);
    assert.equal((await api().request('GET', `/v2/${REPO}/manifests/doomed`)).status, 404);
    const blob = await api().request('GET', `/v2/${REPO}/blobs/${sha256(pending.blob)}`);
    assert.ok(blob.status === 200 && blob.body.equals(pending.blob), describeResponse(blob));
  });
});

/** Takes every byte left on the filesystem (root's reserved blocks too) with one file. */
async function fillCompletely(path: string): Promise<void> {
  const file = await open(path, 'w');
  try {
    await file.write(Buffer.alloc(await freeBytes(dirname(path)))).catch(ignoreNoSpace);
    // Whatever statfs did not count (a partly used block): smaller writes until none fits.
    for (const size of [64 * 1024, 4096, 512, 1]) {
      for (;;) {
        const written = await file.write(Buffer.alloc(size)).then(({ bytesWritten }) => bytesWritten, ignoreNoSpace);
        if (written < size) break;
      }
    }
  } finally {
    await file.close();
  }
}

function ignoreNoSpace(error: unknown): number {
  if ((error as NodeJS.ErrnoException).code === 'ENOSPC') return 0;
  throw error;
}
