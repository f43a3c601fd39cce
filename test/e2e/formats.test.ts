// End to end with real clients: skopeo copies a local OCI layout to the registry as an OCI
// manifest (digest preserved) and converted to Docker schema 2, buildah pushes with
// --format docker; each is copied back to a dir: layout and compared manifest digest, layer
// bytes and file contents against what went in.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ContainerClients,
  dockerRef,
  parseImageManifest,
  readDirImage,
  readDirImageFiles,
  sha256Digest,
  type BuiltImage,
} from '../helpers/clients.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { assertFiles, assertSameBytes, filePaths, readOciLayout, stopRegistry, type OciLayoutImage } from './support.js';

const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

describe('manifest formats: OCI and Docker schema 2', { concurrency: false }, () => {
  let registry: TestRegistry | undefined;
  let clients: ContainerClients | undefined;
  let image: BuiltImage;
  let layoutPath = '';
  let source: OciLayoutImage;

  const env = (): { registry: TestRegistry; clients: ContainerClients } => {
    assert.ok(registry && clients, 'before() did not finish');
    return { registry, clients };
  };

  /** Copies a registry image back to a dir: layout, checks its manifest digest and returns it. */
  async function pullToDir(reference: string, expectedDigest: string): Promise<string> {
    const { clients } = env();
    const dir = `${await clients.scratchDir('pull')}/image`;
    await clients.skopeoCopy(reference, `dir:${dir}`);
    const pulled = await readDirImage(dir);
    assert.equal(sha256Digest(pulled.manifestBytes), expectedDigest, 'digest of the manifest copied back');
    return dir;
  }

  async function assertDirFiles(dir: string): Promise<void> {
    const { clients } = env();
    const unpacked = await clients.scratchDir('rootfs');
    assertFiles(await readDirImageFiles(dir, unpacked, filePaths(image.files)), image.files);
  }

  before(async () => {
    registry = await startRegistry();
    clients = await ContainerClients.create();
    image = await clients.buildImage({ name: 'localhost/e2e/formats:1' });
    layoutPath = `${await clients.scratchDir('layout')}/oci`;
    // containers-storage -> OCI layout; the oci: destination gzips the layers.
    await clients.skopeoCopy(clients.storageRef(image.name), `oci:${layoutPath}:v1`);
    source = await readOciLayout(layoutPath, 'v1');
    assert.equal(source.manifest.layers.length, 2);
    for (const layer of source.manifest.layers) assert.equal(layer.mediaType, OCI_LAYER);
  });

  after(async () => {
    await clients?.cleanup();
    await stopRegistry(registry);
  });

  it('skopeo copy --format oci --preserve-digests keeps the manifest byte for byte', async () => {
    const { registry, clients } = env();
    const target = dockerRef(registry.hostPort, 'e2e/formats/oci', '1');
    const copied = await clients.skopeoCopy(`oci:${layoutPath}:v1`, target, { format: 'oci', preserveDigests: true });
    assert.equal(copied.digest, source.manifestDigest);
    const raw = await clients.rawManifest(target);
    assert.deepEqual(raw, source.manifestBytes, 'the registry serves the pushed bytes');
    assert.equal(parseImageManifest(raw).mediaType, OCI_MANIFEST);

    const dir = await pullToDir(target, source.manifestDigest);
    const pulled = await readDirImage(dir);
    assertSameBytes(pulled.configBytes, source.blobs.get(source.manifest.config.digest) ?? Buffer.alloc(0), 'config');
    assert.equal(pulled.layers.length, source.manifest.layers.length);
    for (const [i, layer] of pulled.layers.entries()) {
      const expected = source.manifest.layers[i];
      assert.ok(expected);
      assert.equal(layer.digest, expected.digest);
      assertSameBytes(layer.bytes, source.blobs.get(expected.digest) ?? Buffer.alloc(0), `layer ${i}`);
    }
    await assertDirFiles(dir);
  });

  it('skopeo copy --format v2s2 converts to Docker schema 2 with the same blobs', async () => {
    const { registry, clients } = env();
    const target = dockerRef(registry.hostPort, 'e2e/formats/docker', '1');
    const copied = await clients.skopeoCopy(`oci:${layoutPath}:v1`, target, { format: 'v2s2' });
    const raw = await clients.rawManifest(target);
    assert.equal(sha256Digest(raw), copied.digest, 'digest of the served manifest');
    const manifest = parseImageManifest(raw);
    assert.equal(manifest.mediaType, DOCKER_MANIFEST);
    assert.equal(manifest.config.mediaType, DOCKER_CONFIG);
    // Conversion changes media types only: config and (already gzipped) layers are the same blobs.
    assert.equal(manifest.config.digest, source.manifest.config.digest);
    assert.deepEqual(
      manifest.layers.map((layer) => [layer.mediaType, layer.digest, layer.size]),
      source.manifest.layers.map((layer) => [DOCKER_LAYER, layer.digest, layer.size]),
    );

    const dir = await pullToDir(target, copied.digest);
    const pulled = await readDirImage(dir);
    for (const layer of pulled.layers) {
      assertSameBytes(layer.bytes, source.blobs.get(layer.digest) ?? Buffer.alloc(0), layer.digest);
    }
    await assertDirFiles(dir);
  });

  it('buildah push --format docker from containers-storage', async () => {
    const { registry, clients } = env();
    const pushed = await clients.buildahPush(image.name, `${registry.hostPort}/e2e/formats/buildah-docker:1`, {
      format: 'docker',
    });
    const target = dockerRef(registry.hostPort, 'e2e/formats/buildah-docker', '1');
    const raw = await clients.rawManifest(target);
    assert.equal(sha256Digest(raw), pushed.digest);
    const manifest = parseImageManifest(raw);
    assert.equal(manifest.mediaType, DOCKER_MANIFEST);
    assert.equal(manifest.layers.length, 2);
    for (const layer of manifest.layers) assert.equal(layer.mediaType, DOCKER_LAYER);
    await assertDirFiles(await pullToDir(target, pushed.digest));
  });

  it('a Docker schema 2 manifest copies on between repositories with its digest preserved', async () => {
    const { registry, clients } = env();
    const from = dockerRef(registry.hostPort, 'e2e/formats/docker', '1');
    const to = dockerRef(registry.hostPort, 'e2e/formats/docker-copy', 'v1');
    const expected = await clients.manifestDigest(from);
    const copied = await clients.skopeoCopy(from, to, { preserveDigests: true });
    assert.equal(copied.digest, expected);
    assert.equal(await clients.manifestDigest(to), expected);
    assert.equal(await clients.manifestDigest(dockerRef(registry.hostPort, 'e2e/formats/docker-copy', expected)), expected);
  });
});
