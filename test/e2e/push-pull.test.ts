// End to end with real clients: buildah pushes a locally built image, skopeo inspects it,
// podman pulls it into separate storage and the files come back byte for byte; pushing the same
// image again finds every blob already present and yields the same manifest digest.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ContainerClients, dockerRef, parseImageManifest, sha256Digest, type BuiltImage } from '../helpers/clients.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { assertFiles, blobStatus, filePaths, readOciLayout, stopRegistry, uploadRequests } from './support.js';

describe('buildah push, skopeo inspect, podman pull', { concurrency: false }, () => {
  let registry: TestRegistry | undefined;
  let builder: ContainerClients | undefined;
  let puller: ContainerClients | undefined;
  let image: BuiltImage;
  let pushedDigest = '';
  const repo = 'e2e/push-pull';

  const env = (): { registry: TestRegistry; builder: ContainerClients; puller: ContainerClients } => {
    assert.ok(registry && builder && puller, 'before() did not finish');
    return { registry, builder, puller };
  };

  before(async () => {
    registry = await startRegistry();
    builder = await ContainerClients.create();
    puller = await ContainerClients.create();
    image = await builder.buildImage({
      name: 'localhost/e2e/push-pull:1',
      layers: [
        [100, 8 * 1024],
        [32 * 1024, 2 * 1024 * 1024],
      ],
    });
  });

  after(async () => {
    await Promise.allSettled([builder?.cleanup(), puller?.cleanup()]);
    await stopRegistry(registry);
  });

  it('buildah push reports the digest that skopeo inspect shows', async () => {
    const { registry, builder } = env();
    const pushed = await builder.buildahPush(image.name, `${registry.hostPort}/${repo}:1`);
    pushedDigest = pushed.digest;
    assert.match(pushedDigest, /^sha256:[0-9a-f]{64}$/);

    const ref = dockerRef(registry.hostPort, repo, '1');
    const raw = await builder.rawManifest(ref);
    assert.equal(sha256Digest(raw), pushedDigest, 'sha256 of the served manifest bytes');
    assert.equal(await builder.inspectDigest(ref), pushedDigest, 'skopeo inspect Digest');
    // The manifest is also served by digest, byte for byte the same.
    assert.deepEqual(await builder.rawManifest(dockerRef(registry.hostPort, repo, pushedDigest)), raw);

    const manifest = parseImageManifest(raw);
    assert.equal(manifest.layers.length, 2);
    assert.equal(manifest.config.digest, `sha256:${image.id}`, 'config digest is the image ID');
    for (const descriptor of [manifest.config, ...manifest.layers]) {
      assert.equal(await blobStatus(registry.url, repo, descriptor.digest), 200, descriptor.digest);
    }
    assert.deepEqual(await builder.listTags(registry.hostPort, repo), ['1']);
  });

  it('podman pull into separate storage returns the same image and file bytes', async () => {
    const { registry, puller } = env();
    const reference = `${registry.hostPort}/${repo}:1`;
    const imageId = await puller.podmanPull(reference);
    assert.equal(imageId, image.id, 'podman image ID (config digest)');
    const digest = (await puller.podman(['image', 'inspect', '--format', '{{.Digest}}', reference])).stdout.trim();
    assert.equal(digest, pushedDigest, 'podman records the pulled manifest digest');
    assertFiles(await puller.readImageFiles(reference, filePaths(image.files)), image.files);

    const labels = (await puller.podman(['image', 'inspect', '--format', '{{index .Labels "berth.e2e.token"}}', reference])).stdout.trim();
    assert.equal(labels, image.token, 'label set by buildah config');
  });

  it('pushing the same image again yields the same digest', async () => {
    const { registry, builder } = env();
    const again = await builder.buildahPush(image.name, `${registry.hostPort}/${repo}:1`);
    assert.equal(again.digest, pushedDigest);
    assert.equal(await builder.manifestDigest(dockerRef(registry.hostPort, repo, '1')), pushedDigest);
    assert.deepEqual(await builder.listTags(registry.hostPort, repo), ['1']);
  });

  it('re-pushing with skopeo finds every blob already present and uploads nothing', async () => {
    const { registry, builder } = env();
    // A compressed OCI layout as the source, so the client knows the exact layer digests up
    // front and can ask the registry about each one (no recompression, no cache lookups).
    const layout = `${await builder.scratchDir('layout')}/oci`;
    await builder.skopeoCopy(builder.storageRef(image.name), `oci:${layout}:v1`);
    const source = await readOciLayout(layout, 'v1');
    const target = dockerRef(registry.hostPort, 'e2e/repush', '1');

    const first = await builder.skopeoCopy(`oci:${layout}:v1`, target, { preserveDigests: true, debug: true });
    assert.equal(first.digest, source.manifestDigest);
    assert.ok(uploadRequests(first.output).length > 0, 'the first push uploads blobs');

    const second = await builder.skopeoCopy(`oci:${layout}:v1`, target, { preserveDigests: true, debug: true });
    assert.equal(second.digest, source.manifestDigest, 'same manifest digest');
    assert.deepEqual(uploadRequests(second.output), [], 'no blob upload on the second push');
    for (const layer of source.manifest.layers) {
      assert.ok(
        second.output.includes(`Skipping blob ${layer.digest} (already present)`),
        `layer ${layer.digest} reported as already present`,
      );
    }
    assert.equal(await builder.manifestDigest(target), source.manifestDigest);
    assert.deepEqual(await builder.listTags(registry.hostPort, 'e2e/repush'), ['1']);
  });
});
