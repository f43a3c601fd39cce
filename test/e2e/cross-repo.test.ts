// End to end with real clients: skopeo copies an image between two repositories of the same
// registry, which mounts the layers across repositories instead of uploading them again; podman
// pulls the copy and gets the same files; skopeo list-tags shows the tags of both repositories.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ContainerClients, dockerRef, parseImageManifest, type BuiltImage } from '../helpers/clients.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { assertFiles, blobStatus, filePaths, requestLines, stopRegistry } from './support.js';

describe('copy between repositories (cross-repository blob mount)', { concurrency: false }, () => {
  let registry: TestRegistry | undefined;
  let builder: ContainerClients | undefined;
  let puller: ContainerClients | undefined;
  let image: BuiltImage;
  let sourceDigest = '';
  const repoA = 'e2e/mount/a';
  const repoB = 'e2e/mount/b';

  const env = (): { registry: TestRegistry; builder: ContainerClients; puller: ContainerClients } => {
    assert.ok(registry && builder && puller, 'before() did not finish');
    return { registry, builder, puller };
  };

  before(async () => {
    registry = await startRegistry();
    builder = await ContainerClients.create();
    puller = await ContainerClients.create();
    image = await builder.buildImage({ name: 'localhost/e2e/mount:1' });
    sourceDigest = (await builder.buildahPush(image.name, `${registry.hostPort}/${repoA}:1`)).digest;
  });

  after(async () => {
    await Promise.allSettled([builder?.cleanup(), puller?.cleanup()]);
    await stopRegistry(registry);
  });

  it('skopeo copy R/a:1 -> R/b:1 mounts every layer and keeps the digest', async () => {
    const { registry, builder } = env();
    const from = dockerRef(registry.hostPort, repoA, '1');
    const to = dockerRef(registry.hostPort, repoB, '1');
    const manifest = parseImageManifest(await builder.rawManifest(from));
    for (const layer of manifest.layers) {
      assert.equal(await blobStatus(registry.url, repoB, layer.digest), 404, `${layer.digest} not yet in b`);
    }

    const copied = await builder.skopeoCopy(from, to, { debug: true });
    assert.equal(copied.digest, sourceDigest, 'no conversion: same manifest digest');
    assert.equal(await builder.manifestDigest(to), sourceDigest);

    // Each layer was mounted from a (POST ...?mount=<digest>&from=e2e/mount/a answered 201),
    // none was uploaded: the only upload sessions are for the config, which clients never mount.
    const requests = requestLines(copied.output);
    for (const layer of manifest.layers) {
      const mount = requests.find(
        (line) =>
          line.startsWith(`POST http://${registry.hostPort}/v2/${repoB}/blobs/uploads/?`) &&
          line.includes(`mount=${encodeURIComponent(layer.digest)}`),
      );
      assert.ok(mount, `a mount request for ${layer.digest}; requests:\n${requests.join('\n')}`);
      assert.ok(mount.includes(`from=${encodeURIComponent(repoA)}`), mount);
    }
    const mountsOk = copied.output.split('\n').filter((line) => line.includes('... mount OK')).length;
    assert.equal(mountsOk, manifest.layers.length, 'every layer mount succeeded');
    const patches = requests.filter((line) => line.startsWith('PATCH '));
    assert.ok(patches.length <= 1, `only the config may be uploaded:\n${patches.join('\n')}`);

    for (const blob of [manifest.config, ...manifest.layers]) {
      assert.equal(await blobStatus(registry.url, repoB, blob.digest), 200, `${blob.digest} now in b`);
    }
  });

  it('podman pulls b:1 with the same files', async () => {
    const { registry, puller } = env();
    const reference = `${registry.hostPort}/${repoB}:1`;
    assert.equal(await puller.podmanPull(reference), image.id);
    assertFiles(await puller.readImageFiles(reference, filePaths(image.files)), image.files);
  });

  it('skopeo list-tags lists the tags of both repositories', async () => {
    const { registry, builder } = env();
    // A second tag in a, copied within the repository.
    await builder.skopeoCopy(dockerRef(registry.hostPort, repoA, '1'), dockerRef(registry.hostPort, repoA, 'stable'));
    assert.deepEqual(await builder.listTags(registry.hostPort, repoA), ['1', 'stable']);
    assert.deepEqual(await builder.listTags(registry.hostPort, repoB), ['1']);
    assert.equal(await builder.manifestDigest(dockerRef(registry.hostPort, repoA, 'stable')), sourceDigest);
  });
});
