// The pull-through cache against real upstreams: other Berth processes on loopback (content
// pushed over HTTP, requests counted in their access logs) and a tiny node:http registry that
// serves tampered bytes. The local side is a real Registry over a temporary filesystem store and
// SQLite. Time is a test clock handed to the cache, so TTL tests step past a TTL instead of
// sleeping, and nothing asserts on wall-clock time.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { RegistryError } from '../../src/errors/index.js';
import { Digest, MediaType, type ByteRange, type RepositoryName } from '../../src/oci/index.js';
import type { BlobContent, RequestScope } from '../../src/registry/index.js';
import { localRegistry, type LocalRegistry } from '../../src/registry/testing/local-registry.js';
import { PullThroughCache, type Upstream } from '../../src/proxy/index.js';
import {
  countRequests,
  imageManifest,
  memoryLogger,
  name,
  pushBlob,
  pushImage,
  pushManifest,
  readAll,
  sha256,
  testUpstream,
  upstream,
  type TestUpstream,
} from '../../src/proxy/testing/fixtures.js';

const anyNs: RequestScope = {};
const tagRef = (tag: string) => ({ kind: 'tag', tag }) as const;
const digestRef = (digest: Digest) => ({ kind: 'digest', digest }) as const;

function isError(name: string): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof RegistryError, `expected RegistryError ${name}, got ${String(error)}`);
    assert.equal(error.errorName, name);
    return true;
  };
}

/** A blob read through the cache as a GET makes it (a Range picked once the size is known); these registries never redirect. */
async function openBlob(
  cache: PullThroughCache,
  repository: RepositoryName,
  digest: Digest,
  range: ByteRange | undefined,
  scope: RequestScope,
): Promise<BlobContent> {
  const content = await cache.blobs.open(repository, digest, range ? { range: () => range } : undefined, scope);
  assert.ok(!('location' in content), 'a redirect without storage.redirect');
  return content;
}

class Clock {
  ms = Date.parse('2030-01-01T00:00:00.000Z');
  readonly now = (): number => this.ms;
}

describe('pull-through cache', { skip: testTarget === 'reference' ? 'needs Berth upstreams (access log)' : false }, () => {
  let up: TestRegistry;
  before(async () => {
    up = await startRegistry();
  });
  after(async () => {
    await up?.stop();
  });

  async function withCache(
    upstreams: (url: string) => Upstream[],
    body: (cache: PullThroughCache, local: LocalRegistry, clock: Clock, logger: ReturnType<typeof memoryLogger>) => Promise<void>,
  ): Promise<void> {
    const local = await localRegistry();
    const clock = new Clock();
    const logger = memoryLogger();
    const cache = new PullThroughCache(local.registry, local.ledger, upstreams(up.url), logger, { now: clock.now });
    try {
      await body(cache, local, clock, logger);
    } finally {
      await cache.close();
      await local.close();
    }
  }

  it('pulls a cold manifest by tag and its blobs byte for byte, then serves them from the cache', async () => {
    const image = await pushImage(up.url, 'cold/app', 'v1');
    await withCache(
      (url) => [upstream(url)],
      async (cache, local, clock) => {
        const repo = name('cold/app');
        const got = await cache.manifests.get(repo, tagRef('v1'), undefined, anyNs);
        assert.deepEqual(got.bytes, image.manifest);
        assert.ok(got.digest.equals(image.digest));
        assert.equal(got.mediaType, MediaType.ociManifest);
        for (const blob of [image.config, ...image.layers]) {
          const digest = Digest.parse(sha256(blob));
          assert.deepEqual(await cache.blobs.stat(repo, digest, anyNs), { size: blob.length });
          const content = await openBlob(cache, repo, digest, undefined, anyNs);
          assert.equal(content.size, blob.length);
          assert.deepEqual(await readAll(content.stream), blob);
          // Then linked in the local repository, complete and verified: the client's last bytes
          // go out once the digest matches, the commit follows.
          assert.deepEqual(await cachedBlob(local, repo, digest), { size: blob.length });
        }
        assert.equal(cache.stats.manifestFetches, 1);
        assert.equal(cache.stats.blobFetches, 2);

        // A second pull, within the TTL: from the cache, no upstream fetch.
        const before = countRequests(up.output(), 'GET', `/v2/cold/app/manifests/v1`);
        const again = await cache.manifests.get(repo, tagRef('v1'), undefined, anyNs);
        assert.deepEqual(again.bytes, image.manifest);
        const layer = image.layers[0]!;
        const range = await openBlob(cache, repo, Digest.parse(sha256(layer)), { start: 10, end: 19 }, anyNs);
        assert.deepEqual(await readAll(range.stream), layer.subarray(10, 20));
        assert.equal(cache.stats.manifestFetches, 1);
        assert.equal(cache.stats.blobFetches, 2);
        assert.equal(countRequests(up.output(), 'GET', `/v2/cold/app/manifests/v1`), before);

        // What garbage collection will need: the cached tag and items with their last pull.
        const tag = await local.registry.metadata.cachedContent.findTag(repo, 'v1');
        assert.equal(tag?.upstream, 'up');
        assert.equal(tag?.manifestDigest, image.digest.toString());
        const item = await local.registry.metadata.cachedContent.findItem(repo, sha256(layer));
        assert.equal(item?.lastPulledAt.getTime(), clock.ms);
        // Pulled again within the minute: no write; a minute later: moved forward.
        clock.ms += 30_000;
        await readAll((await openBlob(cache, repo, Digest.parse(sha256(layer)), undefined, anyNs)).stream);
        assert.equal(
          (await local.registry.metadata.cachedContent.findItem(repo, sha256(layer)))?.lastPulledAt.getTime(),
          clock.ms - 30_000,
        );
        clock.ms += 31_000;
        await readAll((await openBlob(cache, repo, Digest.parse(sha256(layer)), undefined, anyNs)).stream);
        assert.equal((await local.registry.metadata.cachedContent.findItem(repo, sha256(layer)))?.lastPulledAt.getTime(), clock.ms);
        await cache.manifests.get(repo, tagRef('v1'), undefined, anyNs);
        assert.equal(
          (await local.registry.metadata.cachedContent.findItem(repo, image.digest.toString()))?.lastPulledAt.getTime(),
          clock.ms,
        );
        // Cached content is in the catalog and the tags list.
        assert.deepEqual((await local.registry.listings.tags(repo, {})).items, ['v1']);
      },
    );
  });

  it('revalidates a tag after its TTL: the old manifest until then, the moved tag after', async () => {
    const first = await pushImage(up.url, 'moving/app', 'latest');
    await withCache(
      (url) => [upstream(url, { tagTtlMs: 200 })],
      async (cache, _local, clock) => {
        const repo = name('moving/app');
        assert.ok((await cache.manifests.describe(repo, tagRef('latest'), undefined, anyNs)).digest.equals(first.digest));

        // Unchanged upstream after the TTL: a HEAD, no new GET.
        clock.ms += 500;
        const gets = countRequests(up.output(), 'GET', '/v2/moving/app/manifests/latest');
        assert.ok((await cache.manifests.get(repo, tagRef('latest'), undefined, anyNs)).digest.equals(first.digest));
        assert.equal(cache.stats.manifestFetches, 1);
        await until(() => countRequests(up.output(), 'HEAD', '/v2/moving/app/manifests/latest') >= 1);
        assert.equal(countRequests(up.output(), 'GET', '/v2/moving/app/manifests/latest'), gets);

        const second = await pushImage(up.url, 'moving/app', 'latest');
        clock.ms += 100;
        assert.ok(
          (await cache.manifests.get(repo, tagRef('latest'), undefined, anyNs)).digest.equals(first.digest),
          'trusted within the TTL',
        );
        clock.ms += 200;
        const moved = await cache.manifests.get(repo, tagRef('latest'), undefined, anyNs);
        assert.ok(moved.digest.equals(second.digest), 'the moved tag after the TTL');
        assert.deepEqual(moved.bytes, second.manifest);
        // The old manifest stays reachable by digest (content-addressed).
        assert.deepEqual((await cache.manifests.get(repo, digestRef(first.digest), undefined, anyNs)).bytes, first.manifest);

        // The upstream deletes the tag's manifest: after the TTL the cached tag is not served.
        const deleted = await fetch(`${up.url}/v2/moving/app/manifests/${second.digest.toString()}`, { method: 'DELETE' });
        assert.equal(deleted.status, 202);
        clock.ms += 300;
        await assert.rejects(cache.manifests.get(repo, tagRef('latest'), undefined, anyNs), isError('MANIFEST_UNKNOWN'));
      },
    );
  });

  it('resolves index children when asked, and gives old clients the linux/amd64 image', async () => {
    const image = await pushImage(up.url, 'multi/app', 'amd64');
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [
          {
            mediaType: MediaType.ociManifest,
            digest: image.digest.toString(),
            size: image.manifest.length,
            platform: { os: 'linux', architecture: 'amd64' },
          },
        ],
      }),
    );
    const indexDigest = await pushManifest(up.url, 'multi/app', 'latest', index, MediaType.ociIndex);
    await withCache(
      (url) => [upstream(url)],
      async (cache) => {
        const repo = name('multi/app');
        const got = await cache.manifests.get(repo, tagRef('latest'), undefined, anyNs);
        assert.ok(got.digest.equals(indexDigest));
        assert.equal(got.mediaType, MediaType.ociIndex);
        // The child is not fetched with the index; it is when a client asks for it.
        assert.equal(cache.stats.manifestFetches, 1);
        const child = await cache.manifests.get(repo, digestRef(image.digest), undefined, anyNs);
        assert.deepEqual(child.bytes, image.manifest);
        assert.equal(cache.stats.manifestFetches, 2);

        await withCache(
          (url) => [upstream(url)],
          async (fresh) => {
            const old = await fresh.manifests.get(repo, tagRef('latest'), [MediaType.ociManifest], anyNs);
            assert.ok(old.digest.equals(image.digest), 'an image-only Accept gets the linux/amd64 child');
          },
        );
      },
    );
  });

  it('five concurrent first pulls of a 20 MiB blob make exactly one upstream GET, and all get the bytes', async () => {
    const big = randomBytes(20 * 1024 * 1024);
    const digest = Digest.parse(sha256(big));
    await pushBlob(up.url, 'big/app', big);
    await withCache(
      (url) => [upstream(url)],
      async (cache, local) => {
        const repo = name('big/app');
        const results = await Promise.all(
          Array.from({ length: 5 }, async (_, i) => {
            const content = await openBlob(cache, repo, digest, i === 4 ? { start: 1000, end: 1999 } : undefined, anyNs);
            return readAll(content.stream);
          }),
        );
        for (const bytes of results.slice(0, 4)) assert.ok(bytes.equals(big));
        assert.ok(results[4]!.equals(big.subarray(1000, 2000)));
        assert.equal(cache.stats.blobFetches, 1);
        assert.deepEqual(await cachedBlob(local, repo, digest), { size: big.length });
        // A marker request: once its line is logged, every earlier upstream request has been.
        await (await fetch(`${up.url}/v2/marker/manifests/barrier`)).arrayBuffer();
        await until(() => countRequests(up.output(), 'GET', '/v2/marker/manifests/barrier') >= 1);
        assert.equal(countRequests(up.output(), 'GET', `/v2/big/app/blobs/${digest.toString()}`), 1);
      },
    );
  });

  it('a first client that goes away mid-blob does not stop the blob being cached', async () => {
    const blob = randomBytes(4 * 1024 * 1024);
    const digest = Digest.parse(sha256(blob));
    await pushBlob(up.url, 'gone/app', blob);
    await withCache(
      (url) => [upstream(url)],
      async (cache, local) => {
        const repo = name('gone/app');
        const content = await openBlob(cache, repo, digest, undefined, anyNs);
        for await (const _chunk of content.stream) break; // reads one chunk, then destroys the stream
        assert.ok(content.stream.destroyed);
        await untilAsync(async () => (await local.registry.blobs.stat(repo, digest).catch(() => undefined)) !== undefined);
        const again = await openBlob(cache, repo, digest, undefined, anyNs);
        assert.ok((await readAll(again.stream)).equals(blob));
        assert.equal(cache.stats.blobFetches, 1);
      },
    );
  });

  it('hosted content wins over an upstream that has the same name', async () => {
    const upstreamImage = await pushImage(up.url, 'hosted/app', 'latest');
    await withCache(
      (url) => [upstream(url)],
      async (cache, local, clock) => {
        const repo = name('hosted/app');
        const hosted = await pushLocally(local, repo, 'latest');
        const got = await cache.manifests.get(repo, tagRef('latest'), undefined, anyNs);
        assert.ok(got.digest.equals(hosted.digest));
        assert.ok(!got.digest.equals(upstreamImage.digest));
        assert.equal(cache.stats.manifestFetches, 0);
        // A tag pushed over a cached one is hosted from then on, even after the TTL.
        const cachedRepo = name('hosted/app2');
        await pushImage(up.url, 'hosted/app2', 'latest');
        await cache.manifests.get(cachedRepo, tagRef('latest'), undefined, anyNs);
        const pushed = await pushLocally(local, cachedRepo, 'latest');
        clock.ms += 10 * 60_000;
        assert.ok((await cache.manifests.get(cachedRepo, tagRef('latest'), undefined, anyNs)).digest.equals(pushed.digest));
        // A name no upstream has: the registry's own answer.
        await assert.rejects(cache.manifests.get(name('nowhere/app'), tagRef('latest'), undefined, anyNs), isError('MANIFEST_UNKNOWN'));
        await assert.rejects(cache.blobs.stat(name('nowhere/app'), Digest.of(Buffer.from('x')), anyNs), isError('BLOB_UNKNOWN'));
      },
    );
  });

  it('maps a prefix namespace to the upstream name, and ?ns= selects upstreams by host', async () => {
    const image = await pushImage(up.url, 'pt/app', 'v1');
    await withCache(
      (url) => [
        upstream(url, { name: 'mirror', namespace: 'mirror', hosts: ['mirror.example'] }),
        upstream(url, { name: 'first', hosts: ['first.example'] }),
        upstream(url, { name: 'second', hosts: ['second.example'] }),
      ],
      async (cache, local) => {
        assert.equal(cache.isProxiedOnly(name('mirror/pt/app')), true);
        assert.equal(cache.isProxiedOnly(name('mirror')), true);
        assert.equal(cache.isProxiedOnly(name('mirrorx/app')), false);
        assert.equal(cache.isProxiedOnly(name('pt/app')), false, 'root upstreams never make a name proxied-only');

        const prefixed = name('mirror/pt/app');
        const got = await cache.manifests.get(prefixed, tagRef('v1'), undefined, anyNs);
        assert.deepEqual(got.bytes, image.manifest);
        const layer = image.layers[0]!;
        assert.deepEqual(await readAll((await openBlob(cache, prefixed, Digest.parse(sha256(layer)), undefined, anyNs)).stream), layer);
        assert.equal((await local.registry.metadata.cachedContent.findTag(prefixed, 'v1'))?.upstream, 'mirror');

        // Root upstreams, in order; ?ns= narrows them to those whose hosts include it.
        await cache.manifests.get(name('pt/app'), tagRef('v1'), undefined, anyNs);
        assert.equal((await local.registry.metadata.cachedContent.findTag(name('pt/app'), 'v1'))?.upstream, 'first');
        await pushImage(up.url, 'pt/other', 'v1');
        await cache.manifests.get(name('pt/other'), tagRef('v1'), undefined, { namespace: 'second.example' });
        assert.equal((await local.registry.metadata.cachedContent.findTag(name('pt/other'), 'v1'))?.upstream, 'second');
        // No upstream for that host: only hosted content, and there is none.
        await pushImage(up.url, 'pt/third', 'v1');
        await assert.rejects(
          cache.manifests.get(name('pt/third'), tagRef('v1'), undefined, { namespace: 'elsewhere.example' }),
          isError('MANIFEST_UNKNOWN'),
        );
        // Selected by its host, the prefix upstream serves the name as containerd sends it.
        await cache.manifests.get(name('pt/third'), tagRef('v1'), undefined, { namespace: 'mirror.example' });
        assert.equal((await local.registry.metadata.cachedContent.findTag(name('pt/third'), 'v1'))?.upstream, 'mirror');
        // The prefix upstream is not selected by another host.
        await assert.rejects(
          cache.manifests.get(name('mirror/pt/third'), tagRef('v1'), undefined, { namespace: 'first.example' }),
          isError('MANIFEST_UNKNOWN'),
        );
      },
    );
  });
});

describe('pull-through cache: upstream down', { skip: testTarget === 'reference' ? 'needs Berth upstreams' : false }, () => {
  it('serves the cache when the upstream is stopped: stale-if-error when offline, an error when not', async () => {
    const down = await startRegistry();
    const local = await localRegistry();
    const clock = new Clock();
    const logger = memoryLogger();
    const offline = new PullThroughCache(local.registry, local.ledger, [upstream(down.url, { tagTtlMs: 1000 })], logger, {
      now: clock.now,
    });
    const strict = new PullThroughCache(
      local.registry,
      local.ledger,
      [upstream(down.url, { tagTtlMs: 1000, offline: false })],
      memoryLogger(),
      {
        now: clock.now,
      },
    );
    try {
      const repo = name('down/app');
      const image = await pushImage(down.url, 'down/app', 'latest');
      const notCached = randomBytes(100);
      await pushBlob(down.url, 'down/app', notCached);
      await offline.manifests.get(repo, tagRef('latest'), undefined, anyNs);
      for (const blob of [image.config, ...image.layers])
        await readAll((await openBlob(offline, repo, Digest.parse(sha256(blob)), undefined, anyNs)).stream);
      await down.stop();

      // Within the TTL: the cache alone.
      assert.deepEqual((await offline.manifests.get(repo, tagRef('latest'), undefined, anyNs)).bytes, image.manifest);
      for (const blob of [image.config, ...image.layers]) {
        const content = await openBlob(offline, repo, Digest.parse(sha256(blob)), undefined, anyNs);
        assert.deepEqual(await readAll(content.stream), blob);
      }
      assert.deepEqual((await offline.manifests.get(repo, digestRef(image.digest), undefined, anyNs)).bytes, image.manifest);

      // After the TTL the upstream cannot be asked: served stale, with a warning and a count.
      clock.ms += 5000;
      assert.deepEqual((await offline.manifests.get(repo, tagRef('latest'), undefined, anyNs)).bytes, image.manifest);
      assert.equal(offline.stats.staleServes, 1);
      assert.ok(logger.lines.some((l) => l.level === 'info' && /stale-if-error/.test(l.msg)));
      assert.ok(logger.lines.some((l) => l.level === 'warn' && /^upstream unreachable/.test(l.msg)));
      // Not marked offline: an error instead of the stale copy.
      await assert.rejects(strict.manifests.get(repo, tagRef('latest'), undefined, anyNs), isError('UPSTREAM_UNAVAILABLE'));
      // Never cached: nothing to serve.
      await assert.rejects(openBlob(offline, repo, Digest.parse(sha256(notCached)), undefined, anyNs), isError('UPSTREAM_UNAVAILABLE'));
      await assert.rejects(offline.manifests.get(repo, tagRef('other'), undefined, anyNs), isError('UPSTREAM_UNAVAILABLE'));
    } finally {
      await offline.close();
      await strict.close();
      await local.close();
      await down.stop().catch(() => undefined);
    }
  });
});

describe('pull-through cache: HEADs while the upstream cannot be reached', () => {
  // An upstream that drops every connection while `down`, else answers 404 except for one tag.
  let server: Server;
  let url: string;
  let down = false;
  let requests = 0;
  const held = imageManifest(Buffer.from('{"architecture":"amd64","os":"linux"}'), [randomBytes(100)]);

  before(async () => {
    server = createServer((request, response) => {
      requests++;
      if (down) {
        request.socket.destroy();
        return;
      }
      const path = (request.url ?? '').split('?')[0] ?? '';
      if (path === '/v2/' || path === '/v2') {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      if (path === '/v2/held/app/manifests/v1') {
        response.writeHead(200, {
          'content-type': MediaType.ociManifest,
          'docker-content-digest': sha256(held),
          'content-length': held.length,
        });
        response.end(request.method === 'HEAD' ? undefined : held);
        return;
      }
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"NOT_FOUND","message":"no"}]}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('answers 404 to HEADs of what Berth does not hold, keeps 502 for reads, and logs the outage once', async () => {
    const local = await localRegistry();
    const clock = new Clock();
    const logger = memoryLogger();
    const cache = new PullThroughCache(local.registry, local.ledger, [upstream(url, { tagTtlMs: 1000, offline: false })], logger, {
      now: clock.now,
    });
    const outageWarnings = (): string[] => logger.lines.filter((l) => l.level === 'warn').map((l) => l.msg);
    try {
      down = false;
      const held = name('held/app');
      await cache.manifests.get(held, tagRef('v1'), undefined, anyNs);
      const repo = name('mine/new');
      const digest = Digest.parse(sha256(randomBytes(64)));
      down = true;

      // A push's checks: a blob HEAD and a manifest HEAD miss (404), they do not fail (502).
      await assert.rejects(cache.blobs.stat(repo, digest, anyNs), isError('BLOB_UNKNOWN'));
      await assert.rejects(cache.manifests.describe(repo, tagRef('1'), undefined, anyNs), isError('MANIFEST_UNKNOWN'));
      await assert.rejects(cache.manifests.describe(repo, digestRef(digest), undefined, anyNs), isError('MANIFEST_UNKNOWN'));
      // Reads that need the bytes say the upstream failed.
      await assert.rejects(openBlob(cache, repo, digest, undefined, anyNs), isError('UPSTREAM_UNAVAILABLE'));
      // (The size a ranged read needs first.)
      await assert.rejects(openBlob(cache, repo, digest, { start: 0, end: 9 }, anyNs), isError('UPSTREAM_UNAVAILABLE'));
      await assert.rejects(cache.manifests.get(repo, tagRef('1'), undefined, anyNs), isError('UPSTREAM_UNAVAILABLE'));
      // A tag Berth holds but cannot revalidate (offline: false) is not a miss.
      clock.ms += 5000;
      await assert.rejects(cache.manifests.describe(held, tagRef('v1'), undefined, anyNs), isError('UPSTREAM_UNAVAILABLE'));

      // One warning for the outage, however many requests failed.
      for (let i = 0; i < 5; i++)
        await assert.rejects(cache.manifests.get(repo, tagRef('1'), undefined, anyNs), isError('UPSTREAM_UNAVAILABLE'));
      assert.deepEqual(outageWarnings().length, 1, JSON.stringify(logger.lines));
      assert.match(outageWarnings()[0]!, /^upstream unreachable/);
      assert.ok(
        logger.lines.every((l) => !('err' in l.obj)),
        'no error objects (stacks) in the log',
      );

      // Just after a failure, HEADs do without the upstream (an upstream dropping packets would
      // hold each for the client's whole timeout); a few seconds later they ask it again.
      const before = requests;
      await assert.rejects(cache.blobs.stat(repo, digest, anyNs), isError('BLOB_UNKNOWN'));
      await assert.rejects(cache.manifests.describe(repo, tagRef('2'), undefined, anyNs), isError('MANIFEST_UNKNOWN'));
      assert.equal(requests, before);
      clock.ms += 61_000;
      await assert.rejects(cache.blobs.stat(repo, digest, anyNs), isError('BLOB_UNKNOWN'));
      assert.ok(requests > before);
      // A minute on, the continuing outage is logged again, with what was left out.
      assert.deepEqual(outageWarnings(), [outageWarnings()[0], 'upstream still unreachable']);
      assert.ok(((logger.lines.at(-1)?.obj as { suppressed?: number } | undefined)?.suppressed ?? 0) >= 5);

      // It answers again: logged once; a later outage is a new one.
      down = false;
      clock.ms += 11_000;
      await assert.rejects(cache.blobs.stat(repo, digest, anyNs), isError('BLOB_UNKNOWN'));
      assert.ok(logger.lines.some((l) => l.level === 'info' && l.msg === 'upstream answering again'));
      down = true;
      await assert.rejects(cache.blobs.stat(repo, digest, anyNs), isError('BLOB_UNKNOWN'));
      assert.equal(outageWarnings().length, 3);
    } finally {
      down = false;
      await cache.close();
      await local.close();
    }
  });

  it('never asks an upstream about a hosted repository (one no upstream maps)', async () => {
    const local = await localRegistry();
    const cache = new PullThroughCache(local.registry, local.ledger, [upstream(url, { namespace: 'mirror.example' })], memoryLogger());
    try {
      down = true;
      const before = requests;
      const repo = name('mine/app');
      const digest = Digest.parse(sha256(randomBytes(64)));
      await assert.rejects(cache.blobs.stat(repo, digest, anyNs), isError('BLOB_UNKNOWN'));
      await assert.rejects(openBlob(cache, repo, digest, undefined, anyNs), isError('BLOB_UNKNOWN'));
      await assert.rejects(cache.manifests.get(repo, tagRef('1'), undefined, anyNs), isError('MANIFEST_UNKNOWN'));
      await assert.rejects(cache.manifests.describe(repo, tagRef('1'), undefined, anyNs), isError('MANIFEST_UNKNOWN'));
      assert.equal(requests, before);
    } finally {
      down = false;
      await cache.close();
      await local.close();
    }
  });
});

describe('pull-through cache: an upstream sending wrong bytes', () => {
  let server: TestUpstream;
  let url: string;
  const good = randomBytes(256 * 1024);
  const digest = Digest.parse(sha256(good));
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const manifest = imageManifest(config, [good]);
  let tampered = true;
  let truncated = false;
  let blobGets = 0;

  before(async () => {
    server = await testUpstream((path, request, response) => {
      if (path === `/v2/evil/app/blobs/${digest.toString()}`) {
        const bytes = Buffer.from(good);
        if (tampered) bytes[bytes.length - 1] = (bytes[bytes.length - 1]! + 1) % 256;
        if (request.method === 'GET') blobGets++;
        response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
        if (truncated && request.method === 'GET') {
          // Half the body, then the connection breaks.
          response.write(bytes.subarray(0, bytes.length / 2), () => response.destroy());
          return true;
        }
        response.end(request.method === 'HEAD' ? undefined : bytes);
        return true;
      }
      if (path === '/v2/evil/app/manifests/latest' || path === `/v2/evil/app/manifests/${sha256(manifest)}`) {
        const bytes = tampered ? Buffer.from(manifest.toString().replace('"schemaVersion":2', '"schemaVersion": 2')) : manifest;
        // The announced digest is the true one; the bytes are not.
        response.writeHead(200, {
          'content-type': MediaType.ociManifest,
          'docker-content-digest': sha256(manifest),
          'content-length': bytes.length,
        });
        response.end(request.method === 'HEAD' ? undefined : bytes);
        return true;
      }
      return false;
    });
    url = server.url;
  });
  after(async () => {
    await server.close();
  });

  it('refuses a tampered blob and manifest, caches nothing, and a later correct fetch works', async () => {
    const local = await localRegistry();
    const cache = new PullThroughCache(local.registry, local.ledger, [upstream(url)], memoryLogger());
    try {
      const repo = name('evil/app');
      const content = await openBlob(cache, repo, digest, undefined, anyNs);
      assert.equal(content.size, good.length);
      // The first client gets an error, never a complete-looking body.
      let received = 0;
      await assert.rejects(
        (async () => {
          for await (const chunk of content.stream as AsyncIterable<Buffer>) received += chunk.length;
        })(),
        isError('UPSTREAM_CONTENT_INVALID'),
      );
      assert.ok(received < good.length, `received ${received} of ${good.length} bytes`);
      assert.equal(cache.stats.verificationFailures, 1);
      await assert.rejects(local.registry.blobs.stat(repo, digest), isError('BLOB_UNKNOWN'));
      assert.equal(await local.ledger.storedBlobSize(digest), undefined);
      // A range request on a miss waits for the fetch, and gets the same refusal.
      await assert.rejects(openBlob(cache, repo, digest, { start: 0, end: 9 }, anyNs), isError('UPSTREAM_CONTENT_INVALID'));

      await assert.rejects(cache.manifests.get(repo, tagRef('latest'), undefined, anyNs), isError('UPSTREAM_CONTENT_INVALID'));
      await assert.rejects(
        cache.manifests.get(repo, digestRef(Digest.of(manifest)), undefined, anyNs),
        isError('UPSTREAM_CONTENT_INVALID'),
      );
      await assert.rejects(local.registry.manifests.describe(repo, tagRef('latest')), isError('MANIFEST_UNKNOWN'));

      // The connection breaks mid-body: the first client gets an error, nothing is cached.
      truncated = true;
      const broken = await openBlob(cache, repo, digest, undefined, anyNs);
      await assert.rejects(readAll(broken.stream), isError('UPSTREAM_UNAVAILABLE'));
      await assert.rejects(local.registry.blobs.stat(repo, digest), isError('BLOB_UNKNOWN'));
      truncated = false;

      tampered = false;
      const fixed = await openBlob(cache, repo, digest, undefined, anyNs);
      assert.ok((await readAll(fixed.stream)).equals(good));
      assert.deepEqual(await cachedBlob(local, repo, digest), { size: good.length });
      assert.deepEqual((await cache.manifests.get(repo, tagRef('latest'), undefined, anyNs)).bytes, manifest);
      assert.equal(blobGets, 4);
      // No upload session is left behind by the failed fetches.
      assert.deepEqual(await local.registry.metadata.listUploadsIdleSince(new Date(Date.now() + 60_000)), []);
    } finally {
      await cache.close();
      await local.close();
    }
  });
});

/** Pushes a one-layer image into the local registry itself (a hosted push). */
async function pushLocally(local: LocalRegistry, repository: ReturnType<typeof name>, tag: string): Promise<{ digest: Digest }> {
  const layer = randomBytes(1000);
  const config = Buffer.from(`{"architecture":"amd64","os":"linux","n":"${randomBytes(4).toString('hex')}"}`);
  for (const blob of [layer, config]) {
    const upload = await local.registry.uploads.start(repository);
    await local.registry.uploads.complete(
      repository,
      upload.id,
      Digest.of(blob),
      (async function* () {
        yield blob;
      })(),
    );
  }
  const bytes = imageManifest(config, [layer]);
  const stored = await local.registry.manifests.put({ repository, reference: tagRef(tag), bytes, contentType: MediaType.ociManifest });
  return { digest: stored.digest };
}

/** Polls a condition that background work makes true. */
/** The blob's size once the fill has committed it to the local registry. */
async function cachedBlob(local: LocalRegistry, repo: RepositoryName, digest: Digest): Promise<{ size: number }> {
  await untilAsync(async () => (await local.registry.blobs.stat(repo, digest).catch(() => undefined)) !== undefined);
  return local.registry.blobs.stat(repo, digest);
}

async function untilAsync(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.fail('condition not met');
}

/** Polls a condition that another process makes true (a log line being written). */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  assert.ok(condition(), 'condition met');
}
