// HTTP conformance for manifests: PUT/GET/HEAD by tag and digest for Docker schema2, Docker
// manifest lists, OCI image manifests, OCI image indexes and OCI artifacts; byte-exact storage;
// validation errors (missing blobs or children, malformed JSON, media type mismatch, digest
// mismatch, size limit); unknown references, including ones that are not valid tags (404 to
// GET and HEAD, as the OCI conformance suite expects); index children the administrator allows
// to be missing (validation.manifests.indexes); Accept negotiation.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import {
  ACCEPT_ALL_MANIFESTS,
  EMPTY_JSON,
  EMPTY_JSON_DIGEST,
  MEDIA,
  assertOciError,
  descriptorOf,
  dockerManifest,
  dockerManifestList,
  ociArtifactManifest,
  ociIndex,
  ociManifest,
  manifestOf,
  pushBlob,
  pushImageBlobs,
  pushManifest,
  putManifest,
  randomBlob,
  resolveLocation,
  sha256,
  uniqueRepo,
  type BuiltManifest,
} from './support.js';

describe('manifests', { timeout: 120_000 }, () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry();
  });
  after(async () => {
    await registry.stop();
  });

  const manifestUrl = (repo: string, reference: string): string => `${registry.url}/v2/${repo}/manifests/${reference}`;

  /** GET a manifest and assert the exact bytes, the content type and the digest header. */
  async function assertManifest(repo: string, reference: string, manifest: BuiltManifest): Promise<void> {
    const response = await fetch(manifestUrl(repo, reference), { headers: { accept: ACCEPT_ALL_MANIFESTS } });
    const body = Buffer.from(await response.arrayBuffer());
    assert.equal(response.status, 200, `GET ${repo}:${reference}: ${body.toString()}`);
    assert.equal(response.headers.get('content-type'), manifest.mediaType);
    assert.equal(response.headers.get('docker-content-digest'), manifest.digest);
    assert.equal(response.headers.get('content-length'), String(manifest.bytes.length));
    assert.equal(sha256(body), manifest.digest);
    assert.deepEqual(body, manifest.bytes);
  }

  /** HEAD a manifest: same headers, no body. */
  async function assertManifestHead(repo: string, reference: string, manifest: BuiltManifest): Promise<void> {
    const response = await fetch(manifestUrl(repo, reference), {
      method: 'HEAD',
      headers: { accept: ACCEPT_ALL_MANIFESTS },
    });
    const body = await response.arrayBuffer();
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), manifest.mediaType);
    assert.equal(response.headers.get('docker-content-digest'), manifest.digest);
    assert.equal(response.headers.get('content-length'), String(manifest.bytes.length));
    assert.equal(body.byteLength, 0);
  }

  /** PUT a manifest by tag and assert 201, Location and Docker-Content-Digest. */
  async function assertPut(repo: string, reference: string, manifest: BuiltManifest): Promise<void> {
    const { response, text } = await putManifest(registry.url, repo, reference, manifest);
    assert.equal(response.status, 201, `PUT ${repo}:${reference}: ${text}`);
    assert.equal(response.headers.get('docker-content-digest'), manifest.digest);
    const location = resolveLocation(registry.url, response.headers.get('location'));
    assert.match(location.pathname, new RegExp(`^/v2/${repo}/manifests/`));
    // The Location must be pullable.
    const pulled = await fetch(location, { headers: { accept: ACCEPT_ALL_MANIFESTS } });
    assert.deepEqual(Buffer.from(await pulled.arrayBuffer()), manifest.bytes);
  }

  /** Pushes images and returns child manifests (by digest) for a list or index. */
  async function pushChildren(repo: string, kind: 'docker' | 'oci', count = 2): Promise<BuiltManifest[]> {
    const children: BuiltManifest[] = [];
    for (let i = 0; i < count; i++) {
      const { config, layers } = await pushImageBlobs(registry.url, repo, kind);
      const child = kind === 'docker' ? dockerManifest(config, layers) : ociManifest(config, layers);
      await pushManifest(registry.url, repo, child.digest, child);
      children.push(child);
    }
    return children;
  }

  const kinds: readonly (readonly [string, (repo: string) => Promise<BuiltManifest>])[] = [
    [
      'Docker schema2 manifest',
      async (repo) => {
        const { config, layers } = await pushImageBlobs(registry.url, repo, 'docker', 2);
        return dockerManifest(config, layers);
      },
    ],
    ['Docker manifest list', async (repo) => dockerManifestList(await pushChildren(repo, 'docker'))],
    [
      'OCI image manifest',
      async (repo) => {
        const { config, layers } = await pushImageBlobs(registry.url, repo, 'oci', 2);
        return ociManifest(config, layers);
      },
    ],
    ['OCI image index', async (repo) => ociIndex(await pushChildren(repo, 'oci'))],
    [
      'OCI artifact manifest',
      async (repo) => {
        await pushBlob(registry.url, repo, EMPTY_JSON);
        return ociArtifactManifest();
      },
    ],
  ];

  for (const [label, build] of kinds) {
    describe(label, () => {
      const repo = uniqueRepo('manifests');
      let manifest: BuiltManifest;
      before(async () => {
        manifest = await build(repo);
      });

      it('PUT by tag answers 201 with Location and the digest of the exact bytes', async () => {
        await assertPut(repo, 'v1', manifest);
      });

      it('GET by tag and by digest returns the exact bytes and the content type', async () => {
        await assertManifest(repo, 'v1', manifest);
        await assertManifest(repo, manifest.digest, manifest);
      });

      it('HEAD by tag and by digest returns headers only', async () => {
        await assertManifestHead(repo, 'v1', manifest);
        await assertManifestHead(repo, manifest.digest, manifest);
      });

      it('PUT by digest answers 201', async () => {
        const other = uniqueRepo('manifests');
        const again = await build(other);
        await assertPut(other, again.digest, again);
        await assertManifest(other, again.digest, again);
      });
    });
  }

  it('the artifact manifest keeps its artifactType and empty config', async () => {
    const repo = uniqueRepo('manifests');
    await pushBlob(registry.url, repo, EMPTY_JSON);
    const manifest = ociArtifactManifest('application/vnd.example.sbom.v1+json');
    await pushManifest(registry.url, repo, 'sbom', manifest);
    const response = await fetch(manifestUrl(repo, 'sbom'), { headers: { accept: MEDIA.ociManifest } });
    const parsed = (await response.json()) as { artifactType?: string; config?: { digest?: string } };
    assert.equal(parsed.artifactType, 'application/vnd.example.sbom.v1+json');
    assert.equal(parsed.config?.digest, EMPTY_JSON_DIGEST);
  });

  it('a manifest is served byte for byte, with unusual whitespace and key order', async () => {
    const repo = uniqueRepo('manifests');
    const { config, layers } = await pushImageBlobs(registry.url, repo, 'oci', 1);
    const layer = layers[0];
    assert.ok(layer);
    const text =
      '{\n\t"layers" :[ {"size":' +
      `${layer.size},  "digest":"${layer.digest}","mediaType":"${layer.mediaType}"}` +
      ' ] ,\r\n  "config":{"size":' +
      `${config.size},"mediaType":"${config.mediaType}",   "digest":"${config.digest}"}` +
      `,"mediaType":"${MEDIA.ociManifest}",\n\n"schemaVersion":2 , "annotations":{"z":"\\u00e9","a":"é"}}\n\n`;
    const bytes = Buffer.from(text);
    const manifest: BuiltManifest = { bytes, mediaType: MEDIA.ociManifest, digest: sha256(bytes) };
    await assertPut(repo, 'odd', manifest);
    await assertManifest(repo, 'odd', manifest);
    await assertManifest(repo, manifest.digest, manifest);
  });

  it('a digest with its colon percent-escaped names the same manifest, as Distribution decodes the path', async () => {
    const repo = uniqueRepo('manifests');
    const { config, layers } = await pushImageBlobs(registry.url, repo, 'oci', 1);
    const manifest = ociManifest(config, layers);
    await assertPut(repo, 'escaped', manifest);
    await assertManifest(repo, manifest.digest.replace(':', '%3A'), manifest);
    await assertManifest(repo.replace('/', '%2F'), 'escaped', manifest);
    await assertOciError(await fetch(`${registry.url}/v2/${repo}/manifests/sha256%zz`), 400, 'BAD_REQUEST');
  });

  it('PUT of a manifest to an existing tag moves the tag', async () => {
    const repo = uniqueRepo('manifests');
    const first = await (async () => {
      const { config, layers } = await pushImageBlobs(registry.url, repo, 'oci');
      return ociManifest(config, layers);
    })();
    const second = await (async () => {
      const { config, layers } = await pushImageBlobs(registry.url, repo, 'oci');
      return ociManifest(config, layers);
    })();
    await pushManifest(registry.url, repo, 'latest', first);
    await pushManifest(registry.url, repo, 'latest', second);
    await assertManifest(repo, 'latest', second);
    // The first manifest stays reachable by digest.
    await assertManifest(repo, first.digest, first);
  });

  describe('validation', () => {
    it('a missing config blob answers 400 MANIFEST_BLOB_UNKNOWN', async () => {
      const repo = uniqueRepo('manifests');
      const { layers } = await pushImageBlobs(registry.url, repo, 'oci');
      const config = { mediaType: MEDIA.ociConfig, digest: sha256(randomBlob(20)), size: 20 };
      const put = await putManifest(registry.url, repo, 'v1', ociManifest(config, layers));
      await assertOciError(put, 400, 'MANIFEST_BLOB_UNKNOWN');
    });

    it('a missing layer answers 400 MANIFEST_BLOB_UNKNOWN, for OCI and Docker manifests', async () => {
      const repo = uniqueRepo('manifests');
      for (const kind of ['oci', 'docker'] as const) {
        const { config, layers } = await pushImageBlobs(registry.url, repo, kind);
        const missing = {
          mediaType: kind === 'oci' ? MEDIA.ociLayer : MEDIA.dockerLayer,
          digest: sha256(randomBlob(30)),
          size: 30,
        };
        const manifest = kind === 'oci' ? ociManifest(config, [...layers, missing]) : dockerManifest(config, [...layers, missing]);
        const put = await putManifest(registry.url, repo, `v-${kind}`, manifest);
        await assertOciError(put, 400, 'MANIFEST_BLOB_UNKNOWN');
      }
      await assertOciError(await fetch(manifestUrl(repo, 'v-oci'), { headers: { accept: ACCEPT_ALL_MANIFESTS } }), 404, 'MANIFEST_UNKNOWN');
    });

    it('a blob present only in another repository counts as missing', async () => {
      const repo = uniqueRepo('manifests');
      const other = uniqueRepo('manifests');
      const { config, layers } = await pushImageBlobs(registry.url, other, 'oci');
      await pushBlob(registry.url, repo, randomBlob(10));
      const put = await putManifest(registry.url, repo, 'v1', ociManifest(config, layers));
      await assertOciError(put, 400, 'MANIFEST_BLOB_UNKNOWN');
    });

    it('an index whose child manifest is missing answers 400 MANIFEST_BLOB_UNKNOWN', async () => {
      const repo = uniqueRepo('manifests');
      const [present] = await pushChildren(repo, 'oci', 1);
      assert.ok(present);
      const { config, layers } = await pushImageBlobs(registry.url, repo, 'oci');
      const absent = ociManifest(config, layers); // blobs pushed, manifest never pushed
      for (const list of [ociIndex([present, absent]), dockerManifestList([absent])]) {
        const put = await putManifest(registry.url, repo, 'multi', list);
        await assertOciError(put, 400, 'MANIFEST_BLOB_UNKNOWN');
      }
    });

    it('malformed JSON answers 400 MANIFEST_INVALID', async () => {
      const repo = uniqueRepo('manifests');
      await pushBlob(registry.url, repo, randomBlob(10));
      for (const text of ['{"schemaVersion": 2, "mediaType": ', 'not json at all', '']) {
        const bytes = Buffer.from(text);
        const put = await putManifest(registry.url, repo, 'bad', {
          bytes,
          mediaType: MEDIA.ociManifest,
          digest: sha256(bytes),
        });
        await assertOciError(put, 400, 'MANIFEST_INVALID');
      }
    });

    it('a mediaType field that disagrees with Content-Type answers 400 MANIFEST_INVALID', async () => {
      const repo = uniqueRepo('manifests');
      const { config, layers } = await pushImageBlobs(registry.url, repo, 'oci');
      const manifest = ociManifest(config, layers);
      const put = await putManifest(registry.url, repo, 'v1', manifest, MEDIA.dockerManifest);
      await assertOciError(put, 400, 'MANIFEST_INVALID');
      await assertOciError(await fetch(manifestUrl(repo, 'v1'), { headers: { accept: ACCEPT_ALL_MANIFESTS } }), 404, 'MANIFEST_UNKNOWN');
    });

    it('PUT by a digest that does not match the bytes answers 400 DIGEST_INVALID', async () => {
      const repo = uniqueRepo('manifests');
      const { config, layers } = await pushImageBlobs(registry.url, repo, 'oci');
      const manifest = ociManifest(config, layers);
      const wrong = sha256(randomBlob(10));
      const put = await putManifest(registry.url, repo, wrong, manifest);
      await assertOciError(put, 400, 'DIGEST_INVALID');
      const get = await fetch(manifestUrl(repo, manifest.digest), { headers: { accept: ACCEPT_ALL_MANIFESTS } });
      await assertOciError(get, 404, 'MANIFEST_UNKNOWN');
    });

    it('a manifest over 4 MiB answers 413', { skip: testTarget === 'reference' && 'Berth-only: manifest size limit' }, async () => {
      const repo = uniqueRepo('manifests');
      const { config, layers } = await pushImageBlobs(registry.url, repo, 'oci');
      const manifest = ociManifest(config, layers, {
        annotations: { padding: 'x'.repeat(4 * 1024 * 1024 + 16) },
      });
      const { response } = await putManifest(registry.url, repo, 'big', manifest);
      assert.equal(response.status, 413);
    });

    it('a manifest just under 4 MiB is accepted', async () => {
      const repo = uniqueRepo('manifests');
      const { config, layers } = await pushImageBlobs(registry.url, repo, 'oci');
      const base = ociManifest(config, layers, { annotations: { padding: '' } }).bytes.length;
      const manifest = ociManifest(config, layers, {
        annotations: { padding: 'x'.repeat(4 * 1024 * 1024 - base - 64) },
      });
      assert.ok(manifest.bytes.length < 4 * 1024 * 1024);
      await assertPut(repo, 'big', manifest);
    });
  });

  describe('unknown references', () => {
    const repo = uniqueRepo('manifests');
    before(async () => {
      const { config, layers } = await pushImageBlobs(registry.url, repo, 'oci');
      await pushManifest(registry.url, repo, 'v1', ociManifest(config, layers));
    });

    it('an unknown tag answers 404 MANIFEST_UNKNOWN (GET) and 404 without body (HEAD)', async () => {
      const url = manifestUrl(repo, 'no-such-tag');
      await assertOciError(await fetch(url, { headers: { accept: ACCEPT_ALL_MANIFESTS } }), 404, 'MANIFEST_UNKNOWN');
      const head = await fetch(url, { method: 'HEAD', headers: { accept: ACCEPT_ALL_MANIFESTS } });
      assert.equal(head.status, 404);
      assert.equal((await head.arrayBuffer()).byteLength, 0);
    });

    it('an unknown digest answers 404 MANIFEST_UNKNOWN', async () => {
      const url = manifestUrl(repo, sha256(randomBlob(10)));
      await assertOciError(await fetch(url, { headers: { accept: ACCEPT_ALL_MANIFESTS } }), 404, 'MANIFEST_UNKNOWN');
    });

    it('a manifest of another repository is unknown here', async () => {
      const other = uniqueRepo('manifests');
      const { config, layers } = await pushImageBlobs(registry.url, other, 'oci');
      const manifest = ociManifest(config, layers);
      await pushManifest(registry.url, other, 'v1', manifest);
      const url = manifestUrl(repo, manifest.digest);
      await assertOciError(await fetch(url, { headers: { accept: ACCEPT_ALL_MANIFESTS } }), 404, 'MANIFEST_UNKNOWN');
    });

    it('a reference that is not a valid tag (.INVALID_MANIFEST_NAME) answers 404 to GET and HEAD; PUT answers 400 TAG_INVALID', async () => {
      // The OCI conformance suite pulls `.INVALID_MANIFEST_NAME` as its nonexistent manifest.
      for (const reference of ['.INVALID_MANIFEST_NAME', '-dash', 'a'.repeat(129)]) {
        const url = manifestUrl(repo, reference);
        const get = await fetch(url, { headers: { accept: ACCEPT_ALL_MANIFESTS } });
        if (testTarget === 'berth') await assertOciError(get, 404, 'MANIFEST_UNKNOWN');
        else assert.equal(get.status, 404, `GET ${reference}: ${await get.text()}`); // a plain-text 404
        const head = await fetch(url, { method: 'HEAD', headers: { accept: ACCEPT_ALL_MANIFESTS } });
        assert.equal(head.status, 404, `HEAD ${reference}`);
        assert.equal((await head.arrayBuffer()).byteLength, 0);
        if (testTarget === 'berth') {
          const { config, layers } = await pushImageBlobs(registry.url, repo, 'oci');
          await assertOciError(await putManifest(registry.url, repo, reference, ociManifest(config, layers)), 400, 'TAG_INVALID');
        }
      }
    });

    it('a manifest in an unknown repository answers 404', async () => {
      const url = manifestUrl(uniqueRepo('never'), 'latest');
      await assertOciError(await fetch(url, { headers: { accept: ACCEPT_ALL_MANIFESTS } }), 404, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
    });
  });

  describe('validation.manifests.indexes: an index may name children the registry does not hold when allowed', {
    skip: testTarget === 'reference' && 'Berth-only: the reference (2.8) has no validation.manifests.indexes',
  }, () => {
    const indexesConfig = (lines: readonly string[]): string =>
      ['validation:', '  manifests:', '    indexes:', ...lines.map((line) => `      ${line}`)].join('\n');
    let none: TestRegistry;
    let list: TestRegistry;
    before(async () => {
      none = await startRegistry({ extraConfig: indexesConfig(['platforms: none']) });
      list = await startRegistry({
        extraConfig: indexesConfig(['platforms: LIST', 'platformlist:', '  - {architecture: amd64, os: linux}']),
      });
    });
    after(async () => {
      await Promise.all([none.stop(), list.stop()]);
    });

    /** An image whose blobs are pushed to the registry and whose manifest is not. */
    async function unpushedImage(target: TestRegistry, repo: string, kind: 'oci' | 'docker' = 'oci'): Promise<BuiltManifest> {
      const { config, layers } = await pushImageBlobs(target.url, repo, kind);
      return kind === 'oci' ? ociManifest(config, layers) : dockerManifest(config, layers);
    }

    async function pushedImage(target: TestRegistry, repo: string, kind: 'oci' | 'docker' = 'oci'): Promise<BuiltManifest> {
      const image = await unpushedImage(target, repo, kind);
      await pushManifest(target.url, repo, image.digest, image);
      return image;
    }

    async function assertServed(target: TestRegistry, repo: string, reference: string, manifest: BuiltManifest): Promise<void> {
      const response = await fetch(`${target.url}/v2/${repo}/manifests/${reference}`, { headers: { accept: ACCEPT_ALL_MANIFESTS } });
      assert.equal(response.status, 200, `GET ${repo}:${reference}`);
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), manifest.bytes);
    }

    it('none: an index or manifest list whose children are missing is accepted; a missing child is 404', async () => {
      const repo = uniqueRepo('indexes');
      const present = await pushedImage(none, repo);
      const absent = await unpushedImage(none, repo);
      const index = ociIndex([present, absent]); // amd64 present, arm64 absent
      await pushManifest(none.url, repo, 'multi', index);
      await assertServed(none, repo, 'multi', index);
      await assertServed(none, repo, present.digest, present);
      await assertOciError(
        await fetch(`${none.url}/v2/${repo}/manifests/${absent.digest}`, { headers: { accept: ACCEPT_ALL_MANIFESTS } }),
        404,
        'MANIFEST_UNKNOWN',
      );
      const dockerList = dockerManifestList([await unpushedImage(none, repo, 'docker')]);
      await pushManifest(none.url, repo, 'docker-multi', dockerList);
      await assertServed(none, repo, 'docker-multi', dockerList);
      // The children that are there are still held by the index.
      const refused = await fetch(`${none.url}/v2/${repo}/manifests/${present.digest}`, { method: 'DELETE' });
      await assertOciError(refused, 409, 'MANIFEST_REFERENCED');
    });

    it('none: an image manifest still needs its blobs', async () => {
      const repo = uniqueRepo('indexes');
      const { config } = await pushImageBlobs(none.url, repo, 'oci');
      const missing = { mediaType: MEDIA.ociLayer, digest: sha256(randomBlob(40)), size: 40 };
      await assertOciError(await putManifest(none.url, repo, 'v1', ociManifest(config, [missing])), 400, 'MANIFEST_BLOB_UNKNOWN');
    });

    it('list: only children whose platform is listed must exist', async () => {
      const repo = uniqueRepo('indexes');
      const amd64 = await pushedImage(list, repo);
      const arm64 = await unpushedImage(list, repo);
      const withListed = ociIndex([amd64, arm64]); // linux/amd64 present, linux/arm64 absent
      await pushManifest(list.url, repo, 'multi', withListed);
      await assertServed(list, repo, 'multi', withListed);

      const missingAmd64 = await unpushedImage(list, repo);
      const withoutListed = ociIndex([missingAmd64, arm64]);
      const put = await putManifest(list.url, repo, 'broken', withoutListed);
      const body = await assertOciError(put, 400, 'MANIFEST_BLOB_UNKNOWN');
      assert.deepEqual(body.errors[0]?.detail, { digest: missingAmd64.digest });

      // A child with another OS or no platform at all is not required either.
      const windows = await unpushedImage(list, repo);
      const bare = await unpushedImage(list, repo);
      const mixed = manifestOf(MEDIA.ociIndex, {
        schemaVersion: 2,
        mediaType: MEDIA.ociIndex,
        manifests: [
          { ...descriptorOf(amd64), platform: { architecture: 'amd64', os: 'linux', variant: 'v3' } },
          descriptorOf(windows, { platform: { architecture: 'amd64', os: 'windows' } }),
          descriptorOf(bare),
        ],
      });
      await pushManifest(list.url, repo, 'mixed', mixed);
      await assertServed(list, repo, 'mixed', mixed);
    });
  });

  describe('Accept negotiation', () => {
    it('GET by tag of a Docker manifest list with Accept listing the list type returns the list', async () => {
      const repo = uniqueRepo('manifests');
      const list = dockerManifestList(await pushChildren(repo, 'docker'));
      await pushManifest(registry.url, repo, 'multi', list);
      const accept = `${MEDIA.dockerManifest}, ${MEDIA.dockerList}`;
      const response = await fetch(manifestUrl(repo, 'multi'), { headers: { accept } });
      const body = Buffer.from(await response.arrayBuffer());
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), MEDIA.dockerList);
      assert.equal(response.headers.get('docker-content-digest'), list.digest);
      assert.deepEqual(body, list.bytes);
    });

    it('GET by tag of an OCI index with Accept listing the index type returns the index', async () => {
      const repo = uniqueRepo('manifests');
      const index = ociIndex(await pushChildren(repo, 'oci'));
      await pushManifest(registry.url, repo, 'multi', index);
      const accept = `${MEDIA.ociManifest}, ${MEDIA.ociIndex}`;
      const response = await fetch(manifestUrl(repo, 'multi'), { headers: { accept } });
      const body = Buffer.from(await response.arrayBuffer());
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), MEDIA.ociIndex);
      assert.deepEqual(body, index.bytes);
    });

    it('Accept parameters and q-values do not prevent a match', async () => {
      const repo = uniqueRepo('manifests');
      const { config, layers } = await pushImageBlobs(registry.url, repo, 'docker');
      const manifest = dockerManifest(config, layers);
      await pushManifest(registry.url, repo, 'v1', manifest);
      const accept = `${MEDIA.dockerManifest};q=0.9, */*;q=0.1`;
      const response = await fetch(manifestUrl(repo, 'v1'), { headers: { accept } });
      const body = Buffer.from(await response.arrayBuffer());
      assert.equal(response.status, 200);
      assert.deepEqual(body, manifest.bytes);
    });
  });
});
