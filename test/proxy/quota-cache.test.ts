// Pull-through cache content counts toward the namespace it is cached under: a Berth process
// caches an image of another Berth (a root-namespace upstream, so library/base is cached as
// library/base), the cache fill is never refused, the namespace's usage (read from the cache's
// SQLite file) holds the cached bytes, and a push into a hosted repository of that namespace that
// no longer fits is refused with the quota message.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MetadataStore, openSqlite } from '../../src/metadata/index.js';
import { callRegistry } from '../helpers/call.js';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { MEDIA, ociManifest, sha256 } from '../http/support.js';

describe('quotas and the pull-through cache', { skip: testTarget === 'reference' ? 'Berth-only feature' : false }, () => {
  let upstream: TestRegistry;
  let cache: TestRegistry;
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: randomBytes(8).toString('hex') }));
  const layer = randomBytes(30_000);
  const manifest = ociManifest({ mediaType: MEDIA.ociConfig, digest: sha256(config), size: config.length }, [
    { mediaType: MEDIA.ociLayer, digest: sha256(layer), size: layer.length },
  ]);
  const imageBytes = config.length + layer.length + manifest.bytes.length;

  before(async () => {
    upstream = await startRegistry();
    for (const blob of [config, layer]) {
      const answer = await callRegistry(upstream, 'POST', `/v2/library/base/blobs/uploads/?digest=${sha256(blob)}`, undefined, {
        body: blob,
      });
      assert.equal(answer.status, 201, answer.text);
    }
    const put = await callRegistry(upstream, 'PUT', '/v2/library/base/manifests/1', undefined, {
      body: manifest.bytes,
      headers: { 'content-type': manifest.mediaType },
    });
    assert.equal(put.status, 201, put.text);
    cache = await startRegistry({
      extraConfig: [
        'proxy:',
        `  upstreams: [{name: up, url: ${JSON.stringify(upstream.url)}, allowprivateaddresses: true}]`,
        'quotas:',
        `  - {namespace: library, size: ${imageBytes + 100}}`,
      ].join('\n'),
    });
  });
  after(async () => {
    await cache?.stop();
    await upstream?.stop();
  });

  it('counts cached content toward its namespace, and refuses a hosted push that no longer fits', async () => {
    // A pull through the cache is never refused, however full the namespace.
    const pulled = await callRegistry(cache, 'GET', '/v2/library/base/manifests/1', undefined, { headers: { accept: MEDIA.ociManifest } });
    assert.equal(pulled.status, 200, pulled.text);
    for (const blob of [config, layer]) {
      const answer = await callRegistry(cache, 'GET', `/v2/library/base/blobs/${sha256(blob)}`, undefined);
      assert.equal(answer.status, 200);
    }
    // The cache stores a blob as it relays it, and links it once every byte is in: wait for that.
    const store = new MetadataStore(openSqlite(join(cache.dataDir, 'berth.db')));
    try {
      let usage = await store.usage.namespaceUsage('library');
      for (let tries = 0; usage.bytes < imageBytes && tries < 100; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        usage = await store.usage.namespaceUsage('library');
      }
      assert.deepEqual(usage, { namespace: 'library', bytes: imageBytes, repositories: 1 });
    } finally {
      await store.close();
    }
    const extra = randomBytes(200);
    const refused = await callRegistry(cache, 'POST', `/v2/library/mine/blobs/uploads/?digest=${sha256(extra)}`, undefined, {
      body: extra,
    });
    assert.equal(refused.status, 403, refused.text);
    assert.match(refused.text, /quota exceeded: library uses 29\.\d KiB of 29\.\d KiB, and this upload is 200 B/);
    const fits = randomBytes(50);
    assert.equal(
      (await callRegistry(cache, 'POST', `/v2/library/mine/blobs/uploads/?digest=${sha256(fits)}`, undefined, { body: fits })).status,
      201,
    );
  });
});
