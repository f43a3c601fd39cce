// The pull-through cache row (issue "pull-through cache"): a cold pull of a large blob through a
// caching Berth and through the reference registry in proxy mode, both caching one plain Berth
// upstream, against pulling the blob from that upstream directly (the limit row). Every
// repetition pushes a new blob (a new digest) to the upstream, untimed, so each pull through a
// cache is a miss; a second GET through each cache then measures the warm pull. The client
// hashes the body as it reads it, so a wrong byte fails the run.
import { createHash } from 'node:crypto';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { MiB, blobChunks, blobDigest } from './blob-data.js';
import { HttpClient } from './http-client.js';
import type { BenchOptions } from './options.js';
import type { ProcessTree } from './proc-stats.js';
import { RawConnection, buildRequest } from './raw-http.js';
import { pushBlobStream } from './registry-ops.js';
import { startBerth, startReference, type ReferenceRegistry, type ServerProcess, type TargetName } from './servers.js';
import { Meter, type Metrics, type Target, type Workload } from './workload.js';
import { formatSize } from './workloads.js';

/** The repository on the upstream; the caches are asked for the same name (root namespace). */
const REPO = 'bench/proxy';
/** Seeds of the blobs: one per repetition, and a small one to prime each cache's code path. */
const SEED_BASE = 5000;
const PRIME_SEED = 4999;
const PRIME_BYTES = MiB;
const MB = 1e6;
const GB = 1e9;
/** As the blob pull: 1 MiB reads cost the client far less CPU than 64 KiB. */
const DOWNLOAD_BUFFER = MiB;

/** The servers of the proxy row: the upstream, and the caching Berth and reference as targets. */
export interface ProxyTargets {
  readonly upstream: ServerProcess;
  /** For pushing each repetition's blob to the upstream. */
  readonly upstreamClient: HttpClient;
  readonly targets: readonly Target[];
  /**
   * Resolves once the cache `name` has stored and linked the blob (throws after `timeoutMs`). The
   * reference stores a miss in the background, after the client's response: its repository link
   * file appears when it is done. Berth needs no wait: a GET while its fill is being committed
   * joins the fill (single flight) rather than asking the upstream again.
   */
  untilStored(name: TargetName, digest: string, timeoutMs: number): Promise<void>;
}

interface Pulled {
  readonly ttfbMs: number;
  readonly totalMs: number;
}

/**
 * GET of a blob on a connection opened beforehand, hashed as it is read; throws unless the status
 * is 200 and the body has exactly `size` bytes with the expected digest. `meters` bracket the request.
 */
async function pullVerified(server: ServerProcess, digest: string, size: number, meters: readonly Meter[]): Promise<Pulled> {
  const path = `/v2/${REPO}/blobs/${digest}`;
  const connection = new RawConnection('127.0.0.1', server.port, DOWNLOAD_BUFFER);
  try {
    await connection.ready();
    const hash = createHash('sha256');
    const request = buildRequest('GET', path, `127.0.0.1:${server.port}`);
    for (const meter of meters) meter.begin();
    const got = await connection.request(request, false, (chunk) => void hash.update(chunk));
    for (const meter of meters) meter.end();
    if (got.status !== 200) throw new Error(`GET ${path} on ${server.name}: expected HTTP 200, got ${got.status}`);
    if (got.bodyBytes !== size) throw new Error(`GET ${path} on ${server.name}: ${got.bodyBytes} bytes, expected ${size}`);
    const actual = `sha256:${hash.digest('hex')}`;
    if (actual !== digest) throw new Error(`GET ${path} on ${server.name}: the body hashes to ${actual}`);
    return { ttfbMs: got.ttfbMs, totalMs: got.totalMs };
  } finally {
    connection.close();
  }
}

/**
 * Waits (up to `timeoutMs`) until the processes are idle: under 5 % of a core over 200 ms. After
 * a cold pull the caches may still be committing the blob (the reference fetches it a second time
 * in the background to store it), and the warm pull must find it stored.
 */
async function untilIdle(trees: readonly ProcessTree[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const tree of trees) tree.refresh();
  const busy = (): number => trees.reduce((sum, tree) => sum + tree.cpuSeconds(), 0);
  let before = busy();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    const now = busy();
    if (now - before < 0.01) return;
    before = now;
  }
}

/** The rows; `servers` gives the servers of startProxyTargets once they run. */
export function proxyWorkloads(options: BenchOptions, servers: () => ProxyTargets | undefined): Workload[] {
  const size = options.blobBytes;
  const seedOf = (rep: number): number => SEED_BASE + rep;
  const digestOf = (rep: number): string => blobDigest(seedOf(rep), size);
  const running = (): ProxyTargets => {
    const started = servers();
    if (!started) throw new Error('the pull-through cache servers are not running');
    return started;
  };
  const upstreamServer = (): ServerProcess => running().upstream;
  const upstreamClient = (): HttpClient => running().upstreamClient;
  const mbps = (pulled: Pulled): number => size / MB / (pulled.totalMs / 1000);
  return [
    {
      id: 'proxy-cold-pull',
      title: `pull-through cache: cold pull ${formatSize(size)}`,
      metrics: [
        // Issue 20: at least the reference's throughput, no more than its first-byte time, cold and warm.
        { key: 'mbps', label: '', unit: 'MB/s', better: 'higher', goal: { min: 1 } },
        { key: 'ttfbMs', label: ' time to first byte', unit: 'ms', better: 'lower', goal: { max: 1 } },
        { key: 'cpuPerGB', label: ' cache server CPU, whole fill', unit: 'CPU-s/GB', better: 'lower' },
        { key: 'upstreamCpuPerGB', label: ' upstream server CPU, whole fill', unit: 'CPU-s/GB', better: 'lower' },
        { key: 'upstreamBlobs', label: ' upstream bytes written, whole fill', unit: 'x blob', better: 'lower' },
        {
          key: 'warmMbps',
          label: `pull-through cache: warm pull ${formatSize(size)} (second GET, from the cache)`,
          unit: 'MB/s',
          better: 'higher',
          goal: { min: 1 },
        },
        { key: 'warmTtfbMs', label: ' time to first byte', unit: 'ms', better: 'lower', goal: { max: 1 } },
      ],
      async setup(target) {
        // Untimed: one small blob through the cache, so that the first repetition does not
        // measure a fresh process's first upstream request (JIT, the upstream's /v2/ check).
        const digest = blobDigest(PRIME_SEED, PRIME_BYTES);
        const head = await upstreamClient().request('HEAD', `/v2/${REPO}/blobs/${digest}`);
        if (head.status !== 200) await pushBlobStream(upstreamClient(), REPO, blobChunks(PRIME_SEED, PRIME_BYTES), PRIME_BYTES, digest);
        await pullVerified(target.server, digest, PRIME_BYTES, []);
        await untilIdle([target.server.tree, upstreamServer().tree], 10_000);
      },
      async prepare(rep) {
        // Untimed: a blob no cache has seen, on the upstream (whose page cache then holds it).
        await pushBlobStream(upstreamClient(), REPO, blobChunks(seedOf(rep), size), size, digestOf(rep));
      },
      async run(target, rep, meter) {
        const digest = digestOf(rep);
        const upstreamTree = upstreamServer().tree;
        // The CPU of the whole fill, cache and upstream, from the request until both are idle:
        // the caches commit after the last byte, and the reference stores the blob in the background.
        const fill = { cache: new Meter(target.server.tree), upstream: new Meter(upstreamTree) };
        upstreamTree.refresh();
        const fillWritten = upstreamTree.writtenBytes();
        fill.cache.begin();
        fill.upstream.begin();
        const cold = await pullVerified(target.server, digest, size, [meter]);
        await running().untilStored(target.name, digest, 60_000);
        await untilIdle([target.server.tree, upstreamTree], 30_000);
        fill.cache.end();
        fill.upstream.end();
        const fillBytes = upstreamTree.writtenBytes() - fillWritten;
        // The warm pull must come from the cache: the upstream must not write the blob again.
        const warmUpstream = new Meter(upstreamTree);
        const written = upstreamTree.writtenBytes();
        const warm = await pullVerified(target.server, digest, size, [warmUpstream]);
        const upstreamBytes = upstreamTree.writtenBytes() - written;
        if (upstreamBytes >= size / 2) {
          throw new Error(
            `warm pull through ${target.name}: the upstream wrote ${upstreamBytes} bytes meanwhile, so the blob did not come from the cache`,
          );
        }
        return {
          mbps: mbps(cold),
          ttfbMs: cold.ttfbMs,
          cpuPerGB: fill.cache.window.serverCpuSeconds / (size / GB),
          upstreamCpuPerGB: fill.upstream.window.serverCpuSeconds / (size / GB),
          upstreamBlobs: fillBytes / size,
          warmMbps: mbps(warm),
          warmTtfbMs: warm.ttfbMs,
          // In the JSON only: near 0 when the warm pull was served from the cache.
          warmUpstreamCpuSeconds: warmUpstream.window.serverCpuSeconds,
          warmUpstreamBytes: upstreamBytes,
        };
      },
      limit: {
        metrics: [
          { key: 'mbps', label: `direct pull of the same blob from the upstream Berth (no cache)`, unit: 'MB/s', better: 'higher' },
          { key: 'ttfbMs', label: ' time to first byte', unit: 'ms', better: 'lower' },
        ],
        share: { key: 'mbps', of: 'the direct pull' },
        tree: () => servers()?.upstream.tree,
        async run(rep: number, meter: Meter): Promise<Metrics> {
          const pulled = await pullVerified(upstreamServer(), digestOf(rep), size, [meter]);
          return { mbps: mbps(pulled), ttfbMs: pulled.ttfbMs };
        },
      },
    },
  ];
}

/**
 * Starts the upstream (a plain, open Berth), then a caching Berth and a caching reference of it
 * at once, each with an empty data folder; `track` receives each server (and the upstream's
 * client) as soon as it exists, so the caller stops them even when another fails to start.
 */
export async function startProxyTargets(
  dir: string,
  options: BenchOptions,
  references: readonly ReferenceRegistry[],
  track: (server: ServerProcess, client: HttpClient) => void,
): Promise<ProxyTargets> {
  const upstream = await startBerth(join(dir, 'upstream'), options);
  const upstreamClient = new HttpClient(upstream.url);
  track(upstream, upstreamClient);
  const proxy = { upstreamUrl: upstream.url };
  const target = async (name: Target['name'], start: Promise<ServerProcess>): Promise<Target> => {
    const server = await start;
    const client = new HttpClient(server.url);
    track(server, client);
    return { name, server, client };
  };
  const referenceDir = (name: TargetName): string => join(dir, `${name}-cache`);
  const settled = await Promise.allSettled([
    target('berth', startBerth(join(dir, 'berth-cache'), options, {}, { mode: 'none' }, proxy)),
    ...references.map((reference) =>
      target(reference.name, startReference(referenceDir(reference.name), reference, { mode: 'none' }, proxy)),
    ),
  ]);
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed?.status === 'rejected') throw failed.reason;
  const untilStored = async (name: TargetName, digest: string, timeoutMs: number): Promise<void> => {
    if (name === 'berth') return;
    // Distribution's filesystem layout: the repository's link to the blob, written after the blob's data.
    const [algorithm = 'sha256', hex = ''] = digest.split(':');
    const link = join(
      referenceDir(name),
      'data',
      'docker',
      'registry',
      'v2',
      'repositories',
      ...REPO.split('/'),
      '_layers',
      algorithm,
      hex,
      'link',
    );
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (
        await access(link).then(
          () => true,
          () => false,
        )
      )
        return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the reference did not store ${digest} within ${timeoutMs / 1000} s (no ${link})`);
  };
  return { upstream, upstreamClient, targets: settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : [])), untilStored };
}
