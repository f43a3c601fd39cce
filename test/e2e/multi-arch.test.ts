// End to end with real clients: a two-platform image (linux/amd64 and linux/arm64, built from
// scratch by buildah) pushed with `buildah manifest push --all` as an OCI index and as a Docker
// manifest list; skopeo --override-arch and podman pull --arch each get the right variant's files.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ContainerClients,
  dockerRef,
  parseImageIndex,
  readDirImage,
  readDirImageFiles,
  sha256Digest,
  type BuiltImage,
  type ImageIndex,
} from '../helpers/clients.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { assertFiles, filePaths, stopRegistry } from './support.js';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const ARCHES = ['amd64', 'arm64'] as const;
type Arch = (typeof ARCHES)[number];

describe('multi-platform images (manifest list / OCI index)', { concurrency: false }, () => {
  let registry: TestRegistry | undefined;
  let builder: ContainerClients | undefined;
  let puller: ContainerClients | undefined;
  const images = new Map<Arch, BuiltImage>();
  const listName = 'localhost/e2e/multi:list';
  const repo = 'e2e/multi/app';
  let indexDigest = '';

  const env = (): { registry: TestRegistry; builder: ContainerClients; puller: ContainerClients } => {
    assert.ok(registry && builder && puller, 'before() did not finish');
    return { registry, builder, puller };
  };
  const built = (arch: Arch): BuiltImage => {
    const image = images.get(arch);
    assert.ok(image, `no ${arch} image`);
    return image;
  };
  const manifestPush = async (destination: string, format?: 'oci' | 'v2s2'): Promise<string> => {
    const { builder } = env();
    const pushed = await builder.buildahManifestPush(listName, destination, format === undefined ? {} : { format });
    return pushed.digest;
  };
  const platformEntry = (index: ImageIndex, arch: Arch): string => {
    const entry = index.manifests.find((m) => m.platform?.architecture === arch && m.platform.os === 'linux');
    assert.ok(entry, `index has linux/${arch}`);
    return entry.digest;
  };

  before(async () => {
    registry = await startRegistry();
    builder = await ContainerClients.create();
    puller = await ContainerClients.create();
    for (const arch of ARCHES) {
      images.set(
        arch,
        await builder.buildImage({
          name: `localhost/e2e/multi-${arch}:1`,
          arch,
          os: 'linux',
          layers: [[2 * 1024, 256 * 1024]],
        }),
      );
    }
    await builder.buildah(['manifest', 'create', listName]);
    for (const arch of ARCHES) {
      await builder.buildah(['manifest', 'add', listName, builder.storageRef(built(arch).name)]);
    }
  });

  after(async () => {
    await Promise.allSettled([builder?.cleanup(), puller?.cleanup()]);
    await stopRegistry(registry);
  });

  it('buildah manifest push --all stores an index listing both platforms', async () => {
    const { registry, builder } = env();
    indexDigest = await manifestPush(`${registry.hostPort}/${repo}:1`);
    const raw = await builder.rawManifest(dockerRef(registry.hostPort, repo, '1'));
    assert.equal(sha256Digest(raw), indexDigest);
    const index = parseImageIndex(raw);
    assert.equal(index.mediaType, OCI_INDEX);
    assert.equal(index.manifests.length, 2);
    assert.deepEqual(index.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`).sort(), ['linux/amd64', 'linux/arm64']);
    // Each child manifest is in the repository, served by digest with the size the index declares.
    for (const child of index.manifests) {
      const childRaw = await builder.rawManifest(dockerRef(registry.hostPort, repo, child.digest));
      assert.equal(sha256Digest(childRaw), child.digest);
      assert.equal(childRaw.length, child.size);
    }
  });

  for (const arch of ARCHES) {
    it(`skopeo copy --override-arch ${arch} gets the ${arch} variant`, async () => {
      const { registry, builder } = env();
      const reference = dockerRef(registry.hostPort, repo, '1');
      const index = parseImageIndex(await builder.rawManifest(reference));
      const dir = `${await builder.scratchDir(`pull-${arch}`)}/image`;
      await builder.skopeoCopy(reference, `dir:${dir}`, { overrideArch: arch, overrideOs: 'linux' });
      const pulled = await readDirImage(dir);
      assert.equal(sha256Digest(pulled.manifestBytes), platformEntry(index, arch));
      assert.equal(pulled.manifest.config.digest, `sha256:${built(arch).id}`);
      const files = await readDirImageFiles(dir, await builder.scratchDir(`rootfs-${arch}`), filePaths(built(arch).files));
      assertFiles(files, built(arch).files);
      assert.equal(files.get('/e2e/platform.txt')?.toString(), `linux/${arch} ${built(arch).token}\n`);
    });
  }

  it('podman pull --arch arm64 gets the arm64 variant', async () => {
    const { registry, puller } = env();
    const reference = `${registry.hostPort}/${repo}:1`;
    assert.equal(await puller.podmanPull(reference, { arch: 'arm64', os: 'linux' }), built('arm64').id);
    const files = await puller.readImageFiles(reference, filePaths(built('arm64').files));
    assertFiles(files, built('arm64').files);
    const architecture = (await puller.podman(['image', 'inspect', '--format', '{{.Architecture}}', reference])).stdout;
    assert.equal(architecture.trim(), 'arm64');
  });

  it('buildah manifest push --all --format v2s2 stores a Docker manifest list', async () => {
    const { registry, builder } = env();
    const digest = await manifestPush(`${registry.hostPort}/${repo}:docker`, 'v2s2');
    const reference = dockerRef(registry.hostPort, repo, 'docker');
    const raw = await builder.rawManifest(reference);
    assert.equal(sha256Digest(raw), digest);
    const list = parseImageIndex(raw);
    assert.equal(list.mediaType, DOCKER_LIST);
    assert.deepEqual(
      list.manifests.map((m) => m.mediaType),
      [DOCKER_MANIFEST, DOCKER_MANIFEST],
    );

    const dir = `${await builder.scratchDir('pull-docker-amd64')}/image`;
    await builder.skopeoCopy(reference, `dir:${dir}`, { overrideArch: 'amd64', overrideOs: 'linux' });
    assert.equal(sha256Digest((await readDirImage(dir)).manifestBytes), platformEntry(list, 'amd64'));
    const files = await readDirImageFiles(dir, await builder.scratchDir('rootfs-docker-amd64'), filePaths(built('amd64').files));
    assertFiles(files, built('amd64').files);
  });

  it('skopeo copy --all --preserve-digests copies the whole index to another repository', async () => {
    const { registry, builder } = env();
    const copied = await builder.skopeoCopy(dockerRef(registry.hostPort, repo, '1'), dockerRef(registry.hostPort, 'e2e/multi/copy', '1'), {
      all: true,
      preserveDigests: true,
    });
    assert.equal(copied.digest, indexDigest);
    const index = parseImageIndex(await builder.rawManifest(dockerRef(registry.hostPort, 'e2e/multi/copy', '1')));
    for (const arch of ARCHES) {
      const child = platformEntry(index, arch);
      assert.equal(await builder.manifestDigest(dockerRef(registry.hostPort, 'e2e/multi/copy', child)), child);
    }
    assert.deepEqual(await builder.listTags(registry.hostPort, 'e2e/multi/copy'), ['1']);
    assert.deepEqual(await builder.listTags(registry.hostPort, repo), ['1', 'docker']);
  });
});
