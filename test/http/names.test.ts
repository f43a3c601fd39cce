// HTTP conformance for repository names: invalid names (upper case, "..", empty segments, too
// long, leading separators) are refused with 400 NAME_INVALID before anything is created, sent
// over node:http so the path reaches the server unnormalised; valid multi-segment names work.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import {
  ACCEPT_ALL_MANIFESTS,
  MEDIA,
  assertRawOciError,
  getJson,
  ociManifest,
  pushBlob,
  pushImageBlobs,
  pushManifest,
  randomBlob,
  rawRequest,
  sha256,
} from './support.js';

const longName = `${'a'.repeat(100)}/${'b'.repeat(100)}/${'c'.repeat(60)}`; // 262 characters
const maxName = `${'a'.repeat(100)}/${'b'.repeat(100)}/${'c'.repeat(53)}`; // 255 characters

// [label, name, what Distribution 2.8 does instead of 400 NAME_INVALID]
const invalidNames: readonly (readonly [string, string, string])[] = [
  ['upper case', 'Foo/bar', 'accepts it (POST upload 202)'],
  ['dot-dot segment', 'a/../b', 'redirects (301)'],
  ['dot segment', 'a/./b', 'redirects (301)'],
  ['empty segment', 'a//b', 'redirects (301)'],
  ['over 255 characters', longName, 'answers 500 UNKNOWN'],
  ['leading separator', '-a', 'answers a plain 404'],
  ['segment with a leading separator', 'a/-b', 'answers a plain 404'],
  ['trailing separator', 'a-', 'answers a plain 404'],
  ['three underscores', 'a___b', 'answers a plain 404'],
];

describe('repository names', { timeout: 120_000 }, () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry();
  });
  after(async () => {
    await registry.stop();
  });

  async function catalog(): Promise<string[]> {
    const { body } = await getJson<{ repositories: string[] }>(`${registry.url}/v2/_catalog?n=1000`);
    return body.repositories;
  }

  for (const [label, name, reference] of invalidNames) {
    it(`an invalid name (${label}) answers 400 NAME_INVALID and creates nothing`, {
      skip: testTarget === 'reference' && `Berth-only: Distribution 2.8 ${reference}`,
    }, async () => {
      const data = randomBlob(64);
      const digest = sha256(data);
      const before = await catalog();

      const post = await rawRequest(registry.url, 'POST', `/v2/${name}/blobs/uploads/`, {
        'content-length': '0',
      });
      assertRawOciError(post, 400, 'NAME_INVALID');
      const single = await rawRequest(
        registry.url,
        'POST',
        `/v2/${name}/blobs/uploads/?digest=${digest}`,
        { 'content-type': 'application/octet-stream' },
        data,
      );
      assertRawOciError(single, 400, 'NAME_INVALID');
      const manifest = ociManifest({ mediaType: MEDIA.ociConfig, digest, size: data.length }, []);
      const put = await rawRequest(
        registry.url,
        'PUT',
        `/v2/${name}/manifests/latest`,
        { 'content-type': MEDIA.ociManifest },
        manifest.bytes,
      );
      assertRawOciError(put, 400, 'NAME_INVALID');
      for (const path of [`/v2/${name}/tags/list`, `/v2/${name}/manifests/latest`, `/v2/${name}/blobs/${digest}`]) {
        assertRawOciError(await rawRequest(registry.url, 'GET', path), 400, 'NAME_INVALID');
      }
      const head = await rawRequest(registry.url, 'HEAD', `/v2/${name}/blobs/${digest}`);
      assert.equal(head.status, 400);
      assert.equal(head.body.length, 0);

      assert.deepEqual(await catalog(), before);
    });
  }

  it('a/../b does not reach repository b', {
    skip: testTarget === 'reference' && 'Berth-only: Distribution 2.8 redirects (301)',
  }, async () => {
    const data = randomBlob(64);
    const digest = sha256(data);
    await pushBlob(registry.url, 'a', randomBlob(8));
    const response = await rawRequest(
      registry.url,
      'POST',
      `/v2/a/../b/blobs/uploads/?digest=${digest}`,
      { 'content-type': 'application/octet-stream' },
      data,
    );
    assert.equal(response.status, 400);
    const head = await rawRequest(registry.url, 'HEAD', `/v2/b/blobs/${digest}`);
    assert.equal(head.status, 404);
    const tags = await rawRequest(registry.url, 'GET', '/v2/b/tags/list');
    assertRawOciError(tags, 404, 'NAME_UNKNOWN');
  });

  const validNames = ['a/b/c', 'x.y/z_w/v__u/t-s/r--q/p0', maxName, 'single'];
  for (const name of validNames) {
    it(`a valid name works end to end: ${name.length > 40 ? `${name.length} characters` : name}`, async () => {
      const { config, layers } = await pushImageBlobs(registry.url, name, 'oci');
      const manifest = ociManifest(config, layers);
      await pushManifest(registry.url, name, 'v1', manifest);

      const response = await fetch(`${registry.url}/v2/${name}/manifests/v1`, {
        headers: { accept: ACCEPT_ALL_MANIFESTS },
      });
      assert.equal(response.status, 200);
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), manifest.bytes);
      const layer = layers[0];
      assert.ok(layer);
      const blob = await fetch(`${registry.url}/v2/${name}/blobs/${layer.digest}`);
      assert.equal(blob.status, 200);
      assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), layer.digest);
      const { body } = await getJson<{ name: string; tags: string[] }>(`${registry.url}/v2/${name}/tags/list`);
      assert.deepEqual(body, { name, tags: ['v1'] });
      assert.ok((await catalog()).includes(name), 'listed in the catalog');
    });
  }

  it('a repository that is a prefix of another is separate', async () => {
    const { config, layers } = await pushImageBlobs(registry.url, 'prefix/app', 'oci');
    await pushManifest(registry.url, 'prefix/app', 'v1', ociManifest(config, layers));
    const parent = await rawRequest(registry.url, 'GET', '/v2/prefix/tags/list');
    assertRawOciError(parent, 404, 'NAME_UNKNOWN');
  });
});
