// HTTP conformance for content management (OCI distribution v1.1 "Content Management"): DELETE
// of manifests by digest (with every tag pointing at them) and by tag, DELETE of blobs (refused
// while a manifest in the repository references them), unknown and invalid references (a
// reference that is not a valid tag is unknown: 404, as in Distribution), deletes
// that only unlink (other repositories keep their content), manifests an index still lists
// (refused until the index is deleted; referrers do not hold their subject), and deletes
// disabled by config.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import {
  assertBlobReads,
  assertOciError,
  descriptorOf,
  fetchManifest,
  listTagsOf,
  manifestOf,
  MEDIA,
  ociArtifactManifest,
  ociIndex,
  ociManifest,
  pushBlob,
  pushImageBlobs,
  pushManifest,
  putManifest,
  randomBlob,
  sha256,
  uniqueRepo,
  type BuiltManifest,
  type Descriptor,
} from './support.js';

const berthOnly = (what: string): string | false => testTarget === 'reference' && `Berth-only: ${what}`;

/** A digest whose hex part is one character short: well-formed enough to route, invalid to parse. */
const MALFORMED_DIGEST = `sha256:${randomBytes(32).toString('hex').slice(1)}`;

async function send(url: string, method: string): Promise<{ response: Response; text: string }> {
  const response = await fetch(url, { method });
  return { response, text: await response.text() };
}

/** Asserts a 202 answer to a DELETE. */
async function assertAccepted(url: string): Promise<void> {
  const { response, text } = await send(url, 'DELETE');
  assert.equal(response.status, 202, `DELETE ${url}: ${text}`);
}

async function headStatus(url: string): Promise<number> {
  const response = await fetch(url, { method: 'HEAD' });
  await response.arrayBuffer();
  return response.status;
}

interface PushedImage {
  readonly manifest: BuiltManifest;
  readonly config: Descriptor;
  readonly layers: Descriptor[];
}

/** Pushes an OCI image's blobs and its manifest under each of the given tags (or by digest). */
async function pushTaggedImage(baseUrl: string, repo: string, tags: readonly string[]): Promise<PushedImage> {
  const { config, layers } = await pushImageBlobs(baseUrl, repo, 'oci');
  const manifest = ociManifest(config, layers);
  if (tags.length === 0) await pushManifest(baseUrl, repo, manifest.digest, manifest);
  for (const tag of tags) await pushManifest(baseUrl, repo, tag, manifest);
  return { manifest, config, layers };
}

async function assertManifestReads(baseUrl: string, repo: string, reference: string, manifest: BuiltManifest): Promise<void> {
  const got = await fetchManifest(baseUrl, repo, reference);
  assert.equal(got.status, 200, `GET ${repo}:${reference}: ${got.body.toString()}`);
  assert.equal(got.digest, manifest.digest);
  assert.ok(got.body.equals(manifest.bytes), `bytes of ${repo}:${reference}`);
}

async function assertManifestGone(baseUrl: string, repo: string, reference: string): Promise<void> {
  const response = await fetch(`${baseUrl}/v2/${repo}/manifests/${reference}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  await assertOciError(response, 404, 'MANIFEST_UNKNOWN');
  assert.equal(await headStatus(`${baseUrl}/v2/${repo}/manifests/${reference}`), 404, `HEAD ${repo}:${reference}`);
}

describe('deletes', { timeout: 120_000 }, () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry();
  });
  after(async () => {
    await registry.stop();
  });

  const manifestUrl = (repo: string, reference: string): string => `${registry.url}/v2/${repo}/manifests/${reference}`;
  const blobUrl = (repo: string, digest: string): string => `${registry.url}/v2/${repo}/blobs/${digest}`;

  describe('manifests', () => {
    it('DELETE by digest answers 202; the manifest and every tag pointing at it are gone, others stay', async () => {
      const repo = uniqueRepo('deletes');
      const doomed = await pushTaggedImage(registry.url, repo, ['a', 'b']);
      const kept = await pushTaggedImage(registry.url, repo, ['c']);
      assert.deepEqual((await listTagsOf(registry.url, repo)).sort(), ['a', 'b', 'c']);

      await assertAccepted(manifestUrl(repo, doomed.manifest.digest));

      await assertManifestGone(registry.url, repo, doomed.manifest.digest);
      await assertManifestGone(registry.url, repo, 'a');
      await assertManifestGone(registry.url, repo, 'b');
      assert.deepEqual(await listTagsOf(registry.url, repo), ['c']);
      await assertManifestReads(registry.url, repo, 'c', kept.manifest);
      await assertManifestReads(registry.url, repo, kept.manifest.digest, kept.manifest);
    });

    it('a deleted manifest leaves its blobs linked, and a second DELETE answers 404 MANIFEST_UNKNOWN', async () => {
      const repo = uniqueRepo('deletes');
      const image = await pushTaggedImage(registry.url, repo, ['v1']);
      await assertAccepted(manifestUrl(repo, image.manifest.digest));
      await assertOciError(await send(manifestUrl(repo, image.manifest.digest), 'DELETE'), 404, 'MANIFEST_UNKNOWN');
      assert.equal(await headStatus(blobUrl(repo, image.config.digest)), 200);
      for (const layer of image.layers) assert.equal(await headStatus(blobUrl(repo, layer.digest)), 200);
    });

    it('a deleted manifest can be pushed again', async () => {
      const repo = uniqueRepo('deletes');
      const image = await pushTaggedImage(registry.url, repo, ['v1']);
      await assertAccepted(manifestUrl(repo, image.manifest.digest));
      await pushManifest(registry.url, repo, 'v1', image.manifest);
      await assertManifestReads(registry.url, repo, 'v1', image.manifest);
      await assertManifestReads(registry.url, repo, image.manifest.digest, image.manifest);
    });

    it('deleting a manifest in one repository leaves the same manifest in another', async () => {
      const first = uniqueRepo('deletes');
      const second = uniqueRepo('deletes');
      const image = await pushTaggedImage(registry.url, first, ['v1']);
      for (const blob of [image.config, ...image.layers]) {
        const response = await fetch(`${registry.url}/v2/${second}/blobs/uploads/?mount=${blob.digest}&from=${first}`, {
          method: 'POST',
          headers: { 'content-length': '0' },
        });
        await response.arrayBuffer();
        assert.equal(response.status, 201, `mount ${blob.digest}`);
      }
      await pushManifest(registry.url, second, 'v1', image.manifest);

      await assertAccepted(manifestUrl(first, image.manifest.digest));
      await assertManifestGone(registry.url, first, 'v1');
      await assertManifestReads(registry.url, second, 'v1', image.manifest);
      await assertManifestReads(registry.url, second, image.manifest.digest, image.manifest);
    });

    it('DELETE by tag answers 202 and removes only that tag; the manifest and its other tags stay', {
      skip: berthOnly('tag delete (the reference answers 400 DIGEST_INVALID)'),
    }, async () => {
      const repo = uniqueRepo('deletes');
      const image = await pushTaggedImage(registry.url, repo, ['a', 'b']);
      await assertAccepted(manifestUrl(repo, 'a'));
      await assertManifestGone(registry.url, repo, 'a');
      await assertManifestReads(registry.url, repo, 'b', image.manifest);
      await assertManifestReads(registry.url, repo, image.manifest.digest, image.manifest);
      assert.deepEqual(await listTagsOf(registry.url, repo), ['b']);
      // Deleting the last tag leaves the manifest, untagged.
      await assertAccepted(manifestUrl(repo, 'b'));
      await assertManifestReads(registry.url, repo, image.manifest.digest, image.manifest);
      assert.deepEqual(await listTagsOf(registry.url, repo), []);
    });

    it('DELETE of an unknown digest answers 404 MANIFEST_UNKNOWN', async () => {
      const repo = uniqueRepo('deletes');
      await pushTaggedImage(registry.url, repo, ['v1']);
      const unknown = sha256(randomBlob(16));
      await assertOciError(await send(manifestUrl(repo, unknown), 'DELETE'), 404, 'MANIFEST_UNKNOWN');
    });

    it('DELETE of a manifest known only in another repository answers 404 MANIFEST_UNKNOWN', async () => {
      const repo = uniqueRepo('deletes');
      const other = uniqueRepo('deletes');
      await pushTaggedImage(registry.url, repo, ['v1']);
      const elsewhere = await pushTaggedImage(registry.url, other, ['v1']);
      await assertOciError(await send(manifestUrl(repo, elsewhere.manifest.digest), 'DELETE'), 404, 'MANIFEST_UNKNOWN');
      await assertManifestReads(registry.url, other, 'v1', elsewhere.manifest);
    });

    it('DELETE of an unknown tag answers 404 MANIFEST_UNKNOWN', { skip: berthOnly('tag delete') }, async () => {
      const repo = uniqueRepo('deletes');
      await pushTaggedImage(registry.url, repo, ['v1']);
      await assertOciError(await send(manifestUrl(repo, 'nope'), 'DELETE'), 404, 'MANIFEST_UNKNOWN');
      assert.deepEqual(await listTagsOf(registry.url, repo), ['v1']);
    });

    it('DELETE in a repository that does not exist answers 404', async () => {
      const repo = uniqueRepo('never');
      await assertOciError(await send(manifestUrl(repo, sha256(randomBlob(8))), 'DELETE'), 404, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
    });

    it('DELETE with an invalid digest answers 400 DIGEST_INVALID', async () => {
      const repo = uniqueRepo('deletes');
      const image = await pushTaggedImage(registry.url, repo, ['v1']);
      await assertOciError(await send(manifestUrl(repo, MALFORMED_DIGEST), 'DELETE'), 400, 'DIGEST_INVALID');
      if (testTarget === 'berth') {
        for (const digest of ['sha256:abc', `sha256:${'Z'.repeat(64)}`, `md5:${'a'.repeat(32)}`]) {
          await assertOciError(await send(manifestUrl(repo, digest), 'DELETE'), 400, 'DIGEST_INVALID');
        }
      }
      await assertManifestReads(registry.url, repo, 'v1', image.manifest);
    });

    it('DELETE of a manifest an index lists answers 409 MANIFEST_REFERENCED naming the index, until the index is deleted', {
      skip: berthOnly('MANIFEST_REFERENCED (the reference deletes children an index still lists)'),
    }, async () => {
      const repo = uniqueRepo('deletes');
      const amd64 = await pushTaggedImage(registry.url, repo, ['amd64']);
      const arm64 = await pushTaggedImage(registry.url, repo, []);
      const index = ociIndex([amd64.manifest, arm64.manifest]);
      await pushManifest(registry.url, repo, 'multi', index);

      for (const child of [amd64, arm64]) {
        const body = await assertOciError(await send(manifestUrl(repo, child.manifest.digest), 'DELETE'), 409, 'MANIFEST_REFERENCED');
        assert.deepEqual(body.errors[0]?.detail, { digest: child.manifest.digest, index: index.digest });
        assert.match(body.errors[0]?.message ?? '', new RegExp(index.digest));
        await assertManifestReads(registry.url, repo, child.manifest.digest, child.manifest);
      }
      // Nothing changed: the index and its children are served, and its bytes push again.
      await assertManifestReads(registry.url, repo, 'amd64', amd64.manifest);
      await assertManifestReads(registry.url, repo, 'multi', index);
      await pushManifest(registry.url, repo, 'multi', index);
      // A child's tag is not a reference: it can go.
      await assertAccepted(manifestUrl(repo, 'amd64'));

      // Index first, then its children.
      await assertAccepted(manifestUrl(repo, index.digest));
      await assertManifestGone(registry.url, repo, 'multi');
      for (const child of [amd64, arm64]) {
        await assertAccepted(manifestUrl(repo, child.manifest.digest));
        await assertManifestGone(registry.url, repo, child.manifest.digest);
      }
    });

    it('an index in another repository, or a referrer, does not keep a manifest from being deleted', async () => {
      const repo = uniqueRepo('deletes');
      const other = uniqueRepo('deletes');
      const image = await pushTaggedImage(registry.url, repo, ['v1']);
      // The same image in another repository, listed by an index there.
      for (const blob of [image.config, ...image.layers]) {
        const response = await fetch(`${registry.url}/v2/${other}/blobs/uploads/?mount=${blob.digest}&from=${repo}`, {
          method: 'POST',
          headers: { 'content-length': '0' },
        });
        await response.arrayBuffer();
        assert.equal(response.status, 201, `mount ${blob.digest}`);
      }
      await pushManifest(registry.url, other, 'v1', image.manifest);
      const index = ociIndex([image.manifest]);
      await pushManifest(registry.url, other, 'multi', index);
      // A signature whose subject is the image, in its own repository.
      await pushBlob(registry.url, repo, Buffer.from('{}'));
      const signature = ociArtifactManifest();
      const withSubject = manifestOf(MEDIA.ociManifest, {
        ...(JSON.parse(signature.bytes.toString()) as object),
        subject: descriptorOf(image.manifest),
      });
      await pushManifest(registry.url, repo, withSubject.digest, withSubject);

      await assertAccepted(manifestUrl(repo, image.manifest.digest));
      await assertManifestGone(registry.url, repo, image.manifest.digest);
      await assertManifestReads(registry.url, other, 'multi', index);
      await assertManifestReads(registry.url, other, image.manifest.digest, image.manifest);
    });

    it('DELETE with a reference that is not a valid tag answers 404 MANIFEST_UNKNOWN, as Distribution', async () => {
      const repo = uniqueRepo('deletes');
      const image = await pushTaggedImage(registry.url, repo, ['v1']);
      for (const tag of ['.hidden', '-dash', 'a'.repeat(129)]) {
        const answer = await send(manifestUrl(repo, tag), 'DELETE');
        // Distribution's route does not match such a reference: a plain-text 404.
        if (testTarget === 'berth') await assertOciError(answer, 404, 'MANIFEST_UNKNOWN');
        else assert.equal(answer.response.status, 404, `DELETE ${tag}: ${answer.text}`);
      }
      await assertManifestReads(registry.url, repo, 'v1', image.manifest);
    });
  });

  describe('blobs', () => {
    it('DELETE of an unreferenced blob answers 202; then HEAD and GET answer 404', async () => {
      const repo = uniqueRepo('deletes');
      const data = randomBlob(2048);
      const digest = await pushBlob(registry.url, repo, data);
      await assertAccepted(blobUrl(repo, digest));
      assert.equal(await headStatus(blobUrl(repo, digest)), 404);
      await assertOciError(await fetch(blobUrl(repo, digest)), 404, 'BLOB_UNKNOWN');
      // A second delete finds nothing.
      await assertOciError(await send(blobUrl(repo, digest), 'DELETE'), 404, 'BLOB_UNKNOWN');
    });

    it('DELETE of a blob not linked in the repository answers 404 BLOB_UNKNOWN', async () => {
      const repo = uniqueRepo('deletes');
      const other = uniqueRepo('deletes');
      await pushBlob(registry.url, repo, randomBlob(10));
      const elsewhere = randomBlob(100);
      await pushBlob(registry.url, other, elsewhere);
      await assertOciError(await send(blobUrl(repo, sha256(randomBlob(10))), 'DELETE'), 404, 'BLOB_UNKNOWN');
      await assertOciError(await send(blobUrl(repo, sha256(elsewhere)), 'DELETE'), 404, 'BLOB_UNKNOWN');
      await assertBlobReads(registry.url, other, elsewhere);
    });

    it('DELETE of a blob with an invalid digest answers 400 DIGEST_INVALID', async () => {
      const repo = uniqueRepo('deletes');
      await pushBlob(registry.url, repo, randomBlob(10));
      await assertOciError(await send(blobUrl(repo, MALFORMED_DIGEST), 'DELETE'), 400, 'DIGEST_INVALID');
    });

    it('a manifest pushed after a blob delete does not see the blob; pushing the blob again restores it', async () => {
      const repo = uniqueRepo('deletes');
      const { config, layers } = await pushImageBlobs(registry.url, repo, 'oci');
      const layer = layers[0];
      assert.ok(layer);
      const bytes = Buffer.from(await (await fetch(blobUrl(repo, layer.digest))).arrayBuffer());
      await assertAccepted(blobUrl(repo, layer.digest));
      const manifest = ociManifest(config, layers);
      await assertOciError(await putManifest(registry.url, repo, 'v1', manifest), 400, 'MANIFEST_BLOB_UNKNOWN');
      await pushBlob(registry.url, repo, bytes);
      await assertBlobReads(registry.url, repo, bytes);
      await pushManifest(registry.url, repo, 'v1', manifest);
      await assertManifestReads(registry.url, repo, 'v1', manifest);
    });

    it('deleting a blob only unlinks it: the same bytes pushed to another repository still read', async () => {
      const first = uniqueRepo('deletes');
      const second = uniqueRepo('deletes');
      const data = randomBlob(64 * 1024);
      await pushBlob(registry.url, first, data);
      await pushBlob(registry.url, second, data);
      await assertAccepted(blobUrl(first, sha256(data)));
      assert.equal(await headStatus(blobUrl(first, sha256(data))), 404);
      await assertBlobReads(registry.url, second, data);
      // Pushing it again to the first repository works and reads back.
      await pushBlob(registry.url, first, data);
      await assertBlobReads(registry.url, first, data);
    });

    it('deleting a mounted blob in either repository leaves the other one readable', async () => {
      const source = uniqueRepo('deletes');
      const targets = [uniqueRepo('deletes'), uniqueRepo('deletes')] as const;
      const data = randomBlob(32 * 1024);
      const digest = await pushBlob(registry.url, source, data);
      for (const target of targets) {
        const response = await fetch(`${registry.url}/v2/${target}/blobs/uploads/?mount=${digest}&from=${source}`, {
          method: 'POST',
          headers: { 'content-length': '0' },
        });
        await response.arrayBuffer();
        assert.equal(response.status, 201, `mount into ${target}`);
      }
      // Delete in a mount target: the source and the other target keep it.
      await assertAccepted(blobUrl(targets[0], digest));
      assert.equal(await headStatus(blobUrl(targets[0], digest)), 404);
      await assertBlobReads(registry.url, source, data);
      await assertBlobReads(registry.url, targets[1], data);
      // Delete in the source: the remaining target keeps it.
      await assertAccepted(blobUrl(source, digest));
      assert.equal(await headStatus(blobUrl(source, digest)), 404);
      await assertBlobReads(registry.url, targets[1], data);
    });

    it('DELETE of a blob a manifest references answers 400 BLOB_REFERENCED until the manifest is deleted', {
      skip: berthOnly('BLOB_REFERENCED (the reference unlinks referenced blobs)'),
    }, async () => {
      const repo = uniqueRepo('deletes');
      const image = await pushTaggedImage(registry.url, repo, ['v1']);
      const layer = image.layers[0];
      assert.ok(layer);
      for (const blob of [image.config, layer]) {
        await assertOciError(await send(blobUrl(repo, blob.digest), 'DELETE'), 400, 'BLOB_REFERENCED');
        assert.equal(await headStatus(blobUrl(repo, blob.digest)), 200, `${blob.digest} still linked`);
      }
      await assertManifestReads(registry.url, repo, 'v1', image.manifest);

      await assertAccepted(manifestUrl(repo, image.manifest.digest));
      for (const blob of [image.config, layer]) {
        await assertAccepted(blobUrl(repo, blob.digest));
        assert.equal(await headStatus(blobUrl(repo, blob.digest)), 404);
      }
    });

    it('a manifest, readable as a blob, cannot be deleted through the blob endpoint', {
      skip: berthOnly('manifests readable as blobs (the reference answers 404 BLOB_UNKNOWN)'),
    }, async () => {
      const repo = uniqueRepo('deletes');
      const image = await pushTaggedImage(registry.url, repo, ['v1']);
      await assertOciError(await send(blobUrl(repo, image.manifest.digest), 'DELETE'), 400, 'BLOB_REFERENCED');
      await assertManifestReads(registry.url, repo, 'v1', image.manifest);
      await assertManifestReads(registry.url, repo, image.manifest.digest, image.manifest);
    });

    it('a blob shared by two manifests stays referenced until both are deleted', { skip: berthOnly('BLOB_REFERENCED') }, async () => {
      const repo = uniqueRepo('deletes');
      const { config, layers } = await pushImageBlobs(registry.url, repo, 'oci');
      const extra = randomBlob(200);
      const extraDescriptor: Descriptor = {
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: await pushBlob(registry.url, repo, extra),
        size: extra.length,
      };
      const one = ociManifest(config, layers);
      const two = ociManifest(config, [...layers, extraDescriptor]);
      await pushManifest(registry.url, repo, 'one', one);
      await pushManifest(registry.url, repo, 'two', two);

      await assertAccepted(manifestUrl(repo, one.digest));
      await assertOciError(await send(blobUrl(repo, config.digest), 'DELETE'), 400, 'BLOB_REFERENCED');
      await assertAccepted(manifestUrl(repo, two.digest));
      await assertAccepted(blobUrl(repo, config.digest));
    });

    it('a blob referenced by a manifest in another repository can be deleted here', async () => {
      const repo = uniqueRepo('deletes');
      const other = uniqueRepo('deletes');
      const image = await pushTaggedImage(registry.url, other, ['v1']);
      const layer = image.layers[0];
      assert.ok(layer);
      const bytes = await fetch(blobUrl(other, layer.digest)).then(async (r) => Buffer.from(await r.arrayBuffer()));
      await pushBlob(registry.url, repo, bytes);
      await assertAccepted(blobUrl(repo, layer.digest));
      await assertBlobReads(registry.url, other, bytes);
      await assertManifestReads(registry.url, other, 'v1', image.manifest);
    });
  });

  describe('with deletes disabled', () => {
    let disabled: TestRegistry;
    before(async () => {
      disabled = await startRegistry({ deleteEnabled: false });
    });
    after(async () => {
      await disabled.stop();
    });

    it('every DELETE answers 405 UNSUPPORTED and nothing changes', async () => {
      const repo = uniqueRepo('deletes');
      const image = await pushTaggedImage(disabled.url, repo, ['a', 'b']);
      const loose = randomBlob(500);
      await pushBlob(disabled.url, repo, loose);
      const base = `${disabled.url}/v2/${repo}`;
      const layer = image.layers[0];
      assert.ok(layer);
      const attempts = [
        `${base}/manifests/${image.manifest.digest}`,
        `${base}/manifests/a`,
        `${base}/blobs/${sha256(loose)}`,
        `${base}/blobs/${image.config.digest}`,
        `${base}/blobs/${layer.digest}`,
      ];
      for (const url of attempts) {
        await assertOciError(await send(url, 'DELETE'), 405, 'UNSUPPORTED');
      }
      await assertManifestReads(disabled.url, repo, 'a', image.manifest);
      await assertManifestReads(disabled.url, repo, 'b', image.manifest);
      await assertManifestReads(disabled.url, repo, image.manifest.digest, image.manifest);
      assert.deepEqual((await listTagsOf(disabled.url, repo)).sort(), ['a', 'b']);
      await assertBlobReads(disabled.url, repo, loose);
      assert.equal(await headStatus(`${base}/blobs/${image.config.digest}`), 200);
      assert.equal(await headStatus(`${base}/blobs/${layer.digest}`), 200);
    });
  });
});
