// HTTP conformance: the API version check (GET /v2/), HEAD requests never carrying a body on the
// wire, and unknown paths under /v2/ answered with an OCI error body.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { ACCEPT_ALL_MANIFESTS, assertOciError, headWireBytes, pushBlob, pushImage, randomBlob, sha256, uniqueRepo } from './support.js';

describe('base API', { timeout: 120_000 }, () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry();
  });
  after(async () => {
    await registry.stop();
  });

  it('GET /v2/ answers 200 with the API version header and {}', async () => {
    const response = await fetch(`${registry.url}/v2/`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.match(response.headers.get('content-type') ?? '', /^application\/json\b/);
    assert.deepEqual(await response.json(), {});
  });

  it('HEAD /v2/ answers 200 with headers and no body bytes', async () => {
    const { head, after } = await headWireBytes(registry.url, '/v2/');
    assert.match(head, /^HTTP\/1\.1 200 /);
    assert.match(head, /docker-distribution-api-version: registry\/2\.0/i);
    assert.equal(after.length, 0);
  });

  it('HEAD on an existing blob sends no body', async () => {
    const repo = uniqueRepo('base');
    const data = randomBlob(300);
    const digest = await pushBlob(registry.url, repo, data);
    const { head, after } = await headWireBytes(registry.url, `/v2/${repo}/blobs/${digest}`);
    assert.match(head, /^HTTP\/1\.1 200 /);
    assert.match(head, /content-length: 300\r?$/im);
    assert.equal(after.length, 0);
  });

  it('HEAD on an unknown blob answers 404 and sends no body', async () => {
    const repo = uniqueRepo('base');
    await pushBlob(registry.url, repo, randomBlob(10));
    const { head, after } = await headWireBytes(registry.url, `/v2/${repo}/blobs/${sha256(randomBlob(16))}`);
    assert.match(head, /^HTTP\/1\.1 404 /);
    assert.equal(after.length, 0);
  });

  it('HEAD on a manifest sends no body', async () => {
    const repo = uniqueRepo('base');
    const manifest = await pushImage(registry.url, repo, 'v1');
    for (const reference of ['v1', manifest.digest]) {
      const { head, after } = await headWireBytes(registry.url, `/v2/${repo}/manifests/${reference}`, {
        accept: ACCEPT_ALL_MANIFESTS,
      });
      assert.match(head, /^HTTP\/1\.1 200 /);
      assert.match(head, new RegExp(`content-length: ${manifest.bytes.length}\\r?$`, 'im'));
      assert.equal(after.length, 0);
    }
  });

  it('HEAD on an unknown manifest answers 404 and sends no body', async () => {
    const repo = uniqueRepo('base');
    await pushImage(registry.url, repo, 'v1');
    const { head, after } = await headWireBytes(registry.url, `/v2/${repo}/manifests/nope`, {
      accept: ACCEPT_ALL_MANIFESTS,
    });
    assert.match(head, /^HTTP\/1\.1 404 /);
    assert.equal(after.length, 0);
  });

  it('an unknown path under /v2/ answers 404 with an OCI error body', {
    skip: testTarget === 'reference' && 'Distribution answers a plain-text 404 page',
  }, async () => {
    // The spec fixes no code for an unknown route; assert the status and the body's shape.
    for (const path of ['/v2/foo/bar/unknown', '/v2/foo/blobs', '/v2/_nothing']) {
      await assertOciError(await fetch(`${registry.url}${path}`), 404, undefined);
    }
  });
});
