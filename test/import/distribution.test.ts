// `berth import distribution` on a tree that the reference registry (Debian's docker-registry,
// CNCF Distribution 2.8) wrote itself: an image pushed by buildah in OCI and Docker formats, a
// two-platform index, an untagged manifest pushed by digest, a referrer (subject), a manifest
// deleted through the API, an unfinished upload, and a layer damaged on disk in a repository
// that other repositories nest under. Imported by copying and in place, then served by Berth and
// pulled with skopeo and podman: every digest is the one the reference served.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ContainerClients, dockerRef, readDirImage, sha256Digest, type BuiltImage } from '../helpers/clients.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { getManifest, OCI_MANIFEST, Pusher, runImport, startDistribution, summaryCount } from './support.js';

const ARCHES = ['amd64', 'arm64'] as const;

describe('berth import distribution (filesystem tree written by docker-registry 2.8)', { concurrency: false }, () => {
  let dir = '';
  let distRoot = '';
  let distConfig = '';
  let clients: ContainerClients | undefined;
  const images = new Map<string, BuiltImage>();
  /** repository:reference -> the bytes the reference registry served. */
  const served = new Map<string, Buffer>();
  let indexChildren: string[] = [];
  let deleted = '';
  let referrer = '';
  let corruptLayer = '';
  let brokenManifest = '';
  let uploadId = '';

  const env = (): ContainerClients => {
    assert.ok(clients, 'before() did not finish');
    return clients;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-import-'));
    distRoot = join(dir, 'dist');
    const distribution = await startDistribution(join(dir, 'dist-config'), { root: distRoot });
    distConfig = distribution.configFile;
    try {
      const pusher = new Pusher(distribution.url);
      clients = await ContainerClients.create();
      for (const arch of ARCHES) {
        images.set(arch, await clients.buildImage({ name: `localhost/import/${arch}:1`, arch, layers: [[512, 32 * 1024]] }));
      }
      const host = distribution.hostPort;
      await clients.buildahPush('localhost/import/amd64:1', `${host}/library/app:1`, { format: 'oci' });
      await clients.buildahPush('localhost/import/amd64:1', `${host}/library/app:docker`, { format: 'docker' });
      await clients.buildah(['manifest', 'create', 'localhost/import/list']);
      for (const arch of ARCHES)
        await clients.buildah(['manifest', 'add', 'localhost/import/list', clients.storageRef(`localhost/import/${arch}:1`)]);
      await clients.buildahManifestPush('localhost/import/list', `${host}/library/multi:1`);

      const untagged = await pusher.image('library/app', undefined, 2048, { purpose: 'untagged' });
      const gone = await pusher.image('library/app', 'old', 2048, { purpose: 'deleted' });
      await pusher.deleteManifest('library/app', gone.digest);
      deleted = gone.digest;
      const subject = await pusher.get('library/app', '1');
      assert.ok(subject?.digest);
      const emptyConfig = await pusher.blob('library/app', Buffer.from('{}'));
      const signature = await pusher.manifest('library/app', undefined, {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/vnd.example.signature',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', ...emptyConfig },
        layers: [],
        subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.bytes.length },
      });
      referrer = signature.digest;
      uploadId = await pusher.unfinishedUpload('library/app');
      // A repository that the others nest under, with a layer damaged below.
      const broken = await pusher.image('library', 'broken', 4096);
      corruptLayer = broken.layer.digest;
      brokenManifest = broken.digest;
      await pusher.image('library', 'fine', 1024);

      const multi = await pusher.get('library/multi', '1');
      assert.ok(multi);
      indexChildren = (JSON.parse(multi.bytes.toString()) as { manifests: { digest: string }[] }).manifests.map((m) => m.digest);
      for (const reference of ['library/app:1', 'library/app:docker', 'library/multi:1', 'library:fine']) {
        const [repository = '', tag = ''] = reference.split(':');
        const got = await pusher.get(repository, tag);
        assert.ok(got, reference);
        served.set(reference, got.bytes);
      }
      for (const digest of [untagged.digest, referrer])
        served.set(`library/app@${digest}`, (await pusher.get('library/app', digest))?.bytes ?? Buffer.alloc(0));
      for (const digest of indexChildren)
        served.set(`library/multi@${digest}`, (await pusher.get('library/multi', digest))?.bytes ?? Buffer.alloc(0));
      assert.equal(await pusher.get('library/app', deleted), undefined, 'the reference no longer serves the deleted manifest');
    } finally {
      await distribution.stop();
    }
    // Same size, other bytes: only hashing finds it.
    const hex = corruptLayer.slice('sha256:'.length);
    await writeFile(join(distRoot, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data'), randomBytes(4096));
  });

  after(async () => {
    await clients?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Every manifest the reference served is served by Berth with the same bytes and digest. */
  async function assertServedAsReference(registry: TestRegistry): Promise<void> {
    assert.ok(served.size >= 8);
    for (const [reference, bytes] of served) {
      const at = reference.includes('@') ? reference.indexOf('@') : reference.indexOf(':');
      const got = await getManifest(registry.url, reference.slice(0, at), reference.slice(at + 1));
      assert.ok(got, `${reference} is served`);
      assert.ok(got.bytes.equals(bytes), `${reference}: same bytes`);
      assert.equal(got.digest, sha256Digest(bytes), `${reference}: same digest`);
    }
    assert.equal(await getManifest(registry.url, 'library/app', deleted), undefined, 'the deleted manifest stays deleted');
    assert.equal(await getManifest(registry.url, 'library', 'broken'), undefined, 'the manifest with the corrupt layer is left out');
    const tags = await fetch(`${registry.url}/v2/library/app/tags/list`).then((r) => r.json() as Promise<{ tags: string[] }>);
    assert.deepEqual(tags.tags.sort(), ['1', 'docker']);
    const catalog = await fetch(`${registry.url}/v2/_catalog`).then((r) => r.json() as Promise<{ repositories: string[] }>);
    assert.deepEqual(catalog.repositories, ['library', 'library/app', 'library/multi']);
    const subject = sha256Digest(served.get('library/app:1') ?? Buffer.alloc(0));
    const referrers = await fetch(`${registry.url}/v2/library/app/referrers/${subject}`).then(
      (r) => r.json() as Promise<{ manifests: { digest: string; artifactType?: string }[] }>,
    );
    assert.deepEqual(
      referrers.manifests.map((m) => [m.digest, m.artifactType]),
      [[referrer, 'application/vnd.example.signature']],
    );
    const blob = await fetch(`${registry.url}/v2/library/blobs/${corruptLayer}`);
    await blob.arrayBuffer();
    assert.equal(blob.status, 404, 'the corrupt blob is not served');
  }

  /** skopeo and podman pull what the reference served, with the same digests and files. */
  async function assertPulls(registry: TestRegistry, label: string): Promise<void> {
    const c = env();
    const appDigest = sha256Digest(served.get('library/app:1') ?? Buffer.alloc(0));
    const target = `${await c.scratchDir(`${label}-app`)}/image`;
    const copied = await c.skopeoCopy(dockerRef(registry.hostPort, 'library/app', '1'), `dir:${target}`);
    assert.equal(copied.digest, appDigest);
    assert.equal(sha256Digest((await readDirImage(target)).manifestBytes), appDigest);
    const indexDigest = sha256Digest(served.get('library/multi:1') ?? Buffer.alloc(0));
    const layout = await c.scratchDir(`${label}-multi`);
    const all = await c.skopeoCopy(dockerRef(registry.hostPort, 'library/multi', '1'), `oci:${layout}:multi`, {
      all: true,
      preserveDigests: true,
    });
    assert.equal(all.digest, indexDigest);
    const podman = await ContainerClients.create();
    try {
      assert.equal(await podman.podmanPull(`${registry.hostPort}/library/app:1`), images.get('amd64')?.id);
      assert.equal(
        await podman.podmanPull(`${registry.hostPort}/library/multi:1`, { arch: 'arm64', os: 'linux' }),
        images.get('arm64')?.id,
      );
    } finally {
      await podman.cleanup();
    }
  }

  it('copies the tree into Berth, reports the corrupt blob by name and imports the rest', async () => {
    const data = join(dir, 'berth-copy');
    const config = join(dir, 'copy.yml');
    await writeFile(config, `storage:\n  filesystem:\n    rootdirectory: ${JSON.stringify(data)}\n`);
    const run = await runImport([distRoot, '--config', config]);
    assert.equal(run.code, 3, `exit status 3 (finished with problems)\n${run.stdout}\n${run.stderr}`);
    assert.equal(summaryCount(run.stdout, 'repositories'), 3);
    assert.equal(summaryCount(run.stdout, 'tags'), 4, run.stdout);
    // app:1, app:docker, the untagged one, the referrer; the index and its two children; library:fine.
    assert.equal(summaryCount(run.stdout, 'manifests'), 8, run.stdout);
    assert.equal(summaryCount(run.stdout, 'unfinished uploads skipped'), 1);
    assert.match(run.stdout, new RegExp(`upload library/app ${uploadId}`));
    assert.equal(summaryCount(run.stdout, 'problems'), 3, run.stdout);
    assert.match(
      run.stdout,
      new RegExp(`blob ${corruptLayer} \\(linked in library\\): its bytes hash to sha256:[0-9a-f]{64} \\(corrupt\\)`),
    );
    assert.match(run.stdout, new RegExp(`manifest library@${brokenManifest}: needs ${corruptLayer}`));
    assert.match(run.stdout, /tag library:broken -> sha256:[0-9a-f]{64}: that manifest was not imported/);

    const again = await runImport([distRoot, '--config', config]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /repositories: 0 \(and 3 finished by an earlier run\)/);

    const registry = await startRegistry({ dataDir: data });
    try {
      await assertServedAsReference(registry);
      await assertPulls(registry, 'copy');
    } finally {
      await registry.stop();
    }
  });

  it('indexes the tree in place (Berth reads Distribution’s blobs), verifying every digest', async () => {
    const v2 = join(distRoot, 'docker/registry/v2');
    const config = join(dir, 'in-place.yml');
    await writeFile(config, `storage:\n  filesystem:\n    rootdirectory: ${JSON.stringify(v2)}\n`);

    const refused = await runImport([distConfig, '--in-place', '--config', join(dir, 'copy.yml')]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /--in-place needs Berth's storage.filesystem.rootdirectory to be .*docker\/registry\/v2/);

    const run = await runImport([distConfig, '--in-place', '--verify', '--config', config]);
    assert.equal(run.code, 3, run.stdout + run.stderr);
    assert.equal(summaryCount(run.stdout, 'manifests'), 8, run.stdout);
    assert.equal(summaryCount(run.stdout, 'problems'), 3, run.stdout);
    assert.match(run.stdout, new RegExp(`blob ${corruptLayer} \\(linked in library\\): its bytes hash to`));
    assert.doesNotMatch(run.stdout, /MiB copied/);

    const registry = await startRegistry({ dataDir: v2 });
    try {
      await assertServedAsReference(registry);
      await assertPulls(registry, 'in-place');
      // Berth's own pushes land beside Distribution's tree without touching it.
      await env().skopeoCopy(dockerRef(registry.hostPort, 'library/app', '1'), dockerRef(registry.hostPort, 'berth/new', '1'));
    } finally {
      await registry.stop();
    }
    // Distribution still serves its tree as before.
    const distribution = await startDistribution(join(dir, 'dist-config'), { root: distRoot });
    try {
      for (const [reference, bytes] of served) {
        const at = reference.includes('@') ? reference.indexOf('@') : reference.indexOf(':');
        const got = await getManifest(distribution.url, reference.slice(0, at), reference.slice(at + 1));
        assert.ok(got?.bytes.equals(bytes), `Distribution still serves ${reference}`);
      }
    } finally {
      await distribution.stop();
    }
  });
});
