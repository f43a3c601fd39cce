// The workloads of issue 7, each a function of the options: large-blob pull and pushes, small
// requests at fixed concurrency, an image-shaped push and pull, and paginated listings. Their
// goals (ratios Berth/reference) are issue 20's, set against Distribution 3.0.0, where it sets
// one, and issue 7's otherwise.
// Data is made deterministically (blob-data.ts) so both registries get exactly the same bytes.
import { performance } from 'node:perf_hooks';
import { MiB, blobBytes, blobChunks, blobDigest } from './blob-data.js';
import { expectStatus, header, runPool, type HttpClient } from './http-client.js';
import { runLoad, type LoadOptions } from './load-client.js';
import { RawConnection, buildRequest } from './raw-http.js';
import type { BenchOptions } from './options.js';
import {
  MANIFEST_ACCEPT,
  blob,
  makeImage,
  miniImage,
  mountBlob,
  pushBlob,
  pushBlobStream,
  pushImage,
  putManifest,
  smallImage,
  startUpload,
  walkPages,
  withDigest,
  type Blob,
  type Image,
} from './registry-ops.js';
import type { ServerProcess } from './servers.js';
import type { Meter, Metrics, Target, Window, Workload } from './workload.js';

export const SMALL_REPO = 'bench/small';
const LARGE_REPO = 'bench/large';
/** Seed of the large blob, also written as nginx's file. */
export const LARGE_SEED = 7;
export const NGINX_FILE = 'blob.bin';
const SMALL_TAGS = 10;

const GB = 1e9;
const MB = 1e6;
/** Read buffer of the download client: 1 MiB reads cost the client far less CPU than 64 KiB. */
const DOWNLOAD_BUFFER = MiB;

/** Both registries get the small image once, before any workload that reads it. */
const seeded = new WeakSet<HttpClient>();
async function seedSmall(client: HttpClient): Promise<void> {
  if (seeded.has(client)) return;
  await pushImage(client, SMALL_REPO, 'latest', smallImage);
  // The mini image's config too, so that seeding can mount everything the mini image needs.
  await pushBlob(client, SMALL_REPO, miniImage.config.bytes, miniImage.config.digest);
  for (let i = 0; i < SMALL_TAGS; i++) await putManifest(client, SMALL_REPO, `t${String(i).padStart(3, '0')}`, smallImage);
  seeded.add(client);
}

function mbps(bytes: number, seconds: number): number {
  return bytes / MB / seconds;
}

/** Splits a stream of chunks into consecutive pieces of exactly `size` bytes (the last may be short). */
function* pieces(chunks: Iterable<Buffer>, size: number): Generator<Buffer[]> {
  let piece: Buffer[] = [];
  let filled = 0;
  for (let chunk of chunks) {
    while (chunk.length > 0) {
      const take = Math.min(size - filled, chunk.length);
      piece.push(chunk.subarray(0, take));
      filled += take;
      chunk = chunk.subarray(take);
      if (filled === size) {
        yield piece;
        piece = [];
        filled = 0;
      }
    }
  }
  if (filled > 0) yield piece;
}

export function blobPull(options: BenchOptions, nginx: () => ServerProcess | undefined): Workload {
  const size = options.blobBytes;
  const digest = (): string => blobDigest(LARGE_SEED, size);
  const pull = async (server: ServerProcess, path: string, meter: Meter): Promise<Metrics> => {
    const connection = new RawConnection('127.0.0.1', server.port, DOWNLOAD_BUFFER);
    try {
      await connection.ready();
      const request = buildRequest('GET', path, `127.0.0.1:${server.port}`);
      meter.begin();
      const got = await connection.request(request);
      const window = meter.end();
      if (got.status !== 200) throw new Error(`GET ${path}: expected HTTP 200, got ${got.status}`);
      if (got.bodyBytes !== size) throw new Error(`GET ${path}: ${got.bodyBytes} bytes, expected ${size}`);
      return { mbps: mbps(size, got.totalMs / 1000), ttfbMs: got.ttfbMs, cpuPerGB: window.serverCpuSeconds / (size / GB) };
    } finally {
      connection.close();
    }
  };
  const limitServer = (): ServerProcess => {
    const server = nginx();
    if (!server) throw new Error('nginx is not running');
    return server;
  };
  return {
    id: 'blob-pull',
    title: `blob pull ${formatSize(size)}`,
    metrics: [
      { key: 'mbps', label: '', unit: 'MB/s', better: 'higher', goal: { min: 1 } },
      { key: 'ttfbMs', label: ' time to first byte', unit: 'ms', better: 'lower' },
      { key: 'cpuPerGB', label: ' server CPU', unit: 'CPU-s/GB', better: 'lower' },
    ],
    async setup(target) {
      await pushBlobStream(target.client, LARGE_REPO, blobChunks(LARGE_SEED, size), size, digest());
    },
    run: (target, _rep, meter) => pull(target.server, `/v2/${LARGE_REPO}/blobs/${digest()}`, meter),
    ...(options.nginx
      ? {
          limit: {
            metrics: [
              { key: 'mbps', label: 'nginx (sendfile) pull of the same file', unit: 'MB/s', better: 'higher' },
              { key: 'ttfbMs', label: ' time to first byte', unit: 'ms', better: 'lower' },
            ],
            share: { key: 'mbps', of: 'nginx', berthGoalPercent: 80 },
            tree: () => nginx()?.tree,
            run: (_rep: number, meter: Meter) => pull(limitServer(), `/${NGINX_FILE}`, meter),
          },
        }
      : {}),
  };
}

export function blobPush(options: BenchOptions, mode: 'monolithic' | 'chunked'): Workload {
  const size = options.blobBytes;
  // A new blob every repetition (same for both targets), so no run finds its blob already stored.
  const seedOf = (rep: number): number => (mode === 'monolithic' ? 1000 : 2000) + rep;
  const repo = `bench/push-${mode}`;
  return {
    id: `blob-push-${mode}`,
    title:
      mode === 'monolithic'
        ? `blob push ${formatSize(size)} monolithic`
        : `blob push ${formatSize(size)} chunked ${formatSize(options.chunkBytes)}`,
    metrics: [
      { key: 'mbps', label: '', unit: 'MB/s', better: 'higher', goal: { min: 1.5 } },
      { key: 'cpuPerGB', label: ' server CPU', unit: 'CPU-s/GB', better: 'lower', goal: { max: 1 } },
    ],
    prepare(rep) {
      blobDigest(seedOf(rep), size);
    },
    async run(target, rep, meter) {
      const seed = seedOf(rep);
      const digest = blobDigest(seed, size);
      const client = target.client;
      meter.begin();
      if (mode === 'monolithic') {
        await pushBlobStream(client, repo, blobChunks(seed, size), size, digest);
      } else {
        let location = await startUpload(client, repo);
        let offset = 0;
        for (const piece of pieces(blobChunks(seed, size), options.chunkBytes)) {
          const length = piece.reduce((sum, b) => sum + b.length, 0);
          const patched = await client.upload(
            'PATCH',
            location,
            { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + length - 1}` },
            piece,
            length,
          );
          expectStatus(patched, 202, `PATCH ${repo} at ${offset}`);
          location = client.resolve(header(patched.headers, 'location'));
          offset += length;
        }
        const done = await client.request('PUT', withDigest(location, digest), { 'content-length': 0 });
        expectStatus(done, 201, `PUT ${repo} ${digest}`);
      }
      const window = meter.end();
      return { mbps: mbps(size, window.wallSeconds), cpuPerGB: window.serverCpuSeconds / (size / GB) };
    },
  };
}

/** What a small-request workload sends, and how its target is prepared. */
export interface SmallRequestSpec {
  readonly id: string;
  readonly title: string;
  readonly method: 'GET' | 'HEAD';
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly concurrency: number;
  /** Untimed preparation of a target; by default the small image is seeded. */
  readonly setup?: (target: Target) => Promise<void>;
  /** Headers fetched before each run, untimed (e.g. a fresh Bearer token). */
  readonly runHeaders?: (target: Target) => Promise<Record<string, string>>;
  /** Rows run against Berth alone have no ratio, hence no goal. */
  readonly berthOnly?: boolean;
  /** For servers that answer in slow rounds: see LoadOptions.minRequests. */
  readonly minRequests?: number;
  /**
   * After setup, the row's own request for this long, untimed: for servers no earlier row has
   * warmed up (fresh processes), so that the first repetition does not measure a cold JIT.
   */
  readonly primeMs?: number;
}

/** Issue 20's goal for every small-request row, auth off and on: 2.5x the rate at 0.25x the CPU. */
const SMALL_REQUEST_GOALS = { rate: { min: 2.5 }, cpuPerRequest: { max: 0.25 } } as const;

/** Small requests from the raw-socket load client at a fixed concurrency. */
export function smallRequests(options: BenchOptions, spec: SmallRequestSpec): Workload {
  const compared = spec.berthOnly !== true;
  /** The connection and request of a run (headers fetched now, untimed). */
  const loadOf = async (
    target: Target,
  ): Promise<Pick<LoadOptions, 'host' | 'port' | 'concurrency' | 'request' | 'head' | 'expectStatus'>> => {
    const headers = { ...spec.headers, ...(await spec.runHeaders?.(target)) };
    return {
      host: '127.0.0.1',
      port: target.server.port,
      concurrency: spec.concurrency,
      request: buildRequest(spec.method, spec.path, `127.0.0.1:${target.server.port}`, headers),
      head: spec.method === 'HEAD',
      expectStatus: 200,
    };
  };
  return {
    id: spec.id,
    title: spec.title,
    metrics: [
      { key: 'rps', label: '', unit: 'requests/s', better: 'higher', ...(compared ? { goal: SMALL_REQUEST_GOALS.rate } : {}) },
      { key: 'p50Ms', label: ' p50 latency', unit: 'ms', better: 'lower' },
      { key: 'p99Ms', label: ' p99 latency', unit: 'ms', better: 'lower' },
      {
        key: 'cpuMsPerRequest',
        label: ' server CPU per request',
        unit: 'ms',
        better: 'lower',
        ...(compared ? { goal: SMALL_REQUEST_GOALS.cpuPerRequest } : {}),
      },
    ],
    async setup(target) {
      await (spec.setup ?? ((t: Target) => seedSmall(t.client)))(target);
      if (spec.primeMs === undefined) return;
      const primed = await runLoad({ ...(await loadOf(target)), warmupMs: 0, durationMs: spec.primeMs });
      if (primed.errors > 0)
        throw new Error(`${spec.title} on ${target.name}: ${primed.errors} failed requests (first: ${primed.firstError ?? '?'})`);
    },
    async run(target, _rep, meter) {
      const result = await runLoad({
        ...(await loadOf(target)),
        warmupMs: options.warmupMs,
        durationMs: options.durationMs,
        onWindowStart: () => meter.begin(),
        onWindowEnd: () => meter.end(),
        ...(spec.minRequests === undefined ? {} : { minRequests: spec.minRequests }),
      });
      if (result.errors > 0)
        throw new Error(`${spec.title} on ${target.name}: ${result.errors} failed requests (first: ${result.firstError ?? '?'})`);
      if (result.requests === 0) throw new Error(`${spec.title} on ${target.name}: no request completed in the measured window`);
      const window = meter.window;
      return {
        rps: result.requestsPerSecond,
        p50Ms: result.p50Ms,
        p99Ms: result.p99Ms,
        cpuMsPerRequest: (window.serverCpuSeconds * 1000) / result.requests,
        requests: result.requests,
      };
    },
  };
}

export function smallRequestWorkloads(options: BenchOptions): Workload[] {
  const manifest = (c: number, by: 'tag' | 'digest'): Workload =>
    smallRequests(options, {
      id: by === 'tag' ? `manifest-get-c${c}` : `manifest-get-digest-c${c}`,
      title: `manifest GET by ${by}, c=${c}`,
      method: 'GET',
      path: `/v2/${SMALL_REPO}/manifests/${by === 'tag' ? 'latest' : smallImage.manifestDigest}`,
      headers: { Accept: MANIFEST_ACCEPT },
      concurrency: c,
    });
  return [
    manifest(1, 'tag'),
    manifest(16, 'tag'),
    manifest(64, 'tag'),
    manifest(1, 'digest'),
    manifest(16, 'digest'),
    manifest(64, 'digest'),
    smallRequests(options, {
      id: 'blob-head-c64',
      title: 'blob HEAD, c=64',
      method: 'HEAD',
      path: `/v2/${SMALL_REPO}/blobs/${smallImage.config.digest}`,
      concurrency: 64,
    }),
    smallRequests(options, {
      id: 'tags-list-c16',
      title: `tags list (${SMALL_TAGS + 1} tags), c=16`,
      method: 'GET',
      path: `/v2/${SMALL_REPO}/tags/list`,
      concurrency: 16,
    }),
  ];
}

/** Layer sizes spread evenly on a log scale from 4 KiB to 1 MiB, in a fixed shuffled order. */
function layerSizes(count: number): number[] {
  let state = 42;
  const random = (): number => {
    // mulberry32
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const low = Math.log(4096);
  const high = Math.log(MiB);
  return Array.from({ length: count }, () => Math.round(Math.exp(low + random() * (high - low))));
}

function shapedImage(options: BenchOptions, rep: number): Image {
  const sizes = layerSizes(options.layers);
  const layers: Blob[] = sizes.map((size, i) => blob(blobBytes(100_000 + rep * 1000 + i, size)));
  return makeImage(layers, `shaped-${rep}`);
}

function imageBytes(image: Image): number {
  return image.layers.reduce((sum, l) => sum + l.bytes.length, image.config.bytes.length + image.manifest.length);
}

export function imageWorkloads(options: BenchOptions): Workload[] {
  const concurrency = options.imageConcurrency;
  let current: { rep: number; image: Image } | undefined;
  const imageFor = (rep: number): Image => {
    if (current?.rep !== rep) current = { rep, image: shapedImage(options, rep) };
    return current.image;
  };
  const pushAll = async (client: HttpClient, repo: string, image: Image): Promise<void> => {
    // As docker and containerd do: HEAD each blob, upload what is missing, then the manifest.
    const upload = async (b: Blob): Promise<void> => {
      const head = await client.request('HEAD', `/v2/${repo}/blobs/${b.digest}`);
      if (head.status === 200) return;
      expectStatus(head, 404, `HEAD ${repo} ${b.digest}`);
      const location = await startUpload(client, repo);
      const done = await client.request('PUT', withDigest(location, b.digest), { 'content-type': 'application/octet-stream' }, b.bytes);
      expectStatus(done, 201, `PUT ${repo} ${b.digest}`);
    };
    await runPool([...image.layers, image.config], concurrency, upload);
    await putManifest(client, repo, 'v1', image);
  };
  const title = `image of ${options.layers} layers (4 KiB-1 MiB), c=${concurrency}`;
  const pullRepo = 'bench/image-pull';
  const pulledImage = shapedImage(options, 999);
  /** As a puller does: the manifest by tag, then config and layers over `concurrency` connections. */
  const pullImage = async (target: Target, connections: readonly RawConnection[], meter: Meter): Promise<Metrics> => {
    const client = target.client;
    const hostPort = `127.0.0.1:${target.server.port}`;
    meter.begin();
    const got = await client.request('GET', `/v2/${pullRepo}/manifests/v1`, { accept: MANIFEST_ACCEPT });
    expectStatus(got, 200, `GET ${pullRepo}:v1`);
    const manifest = JSON.parse(got.body.toString('utf8')) as { config: { digest: string }; layers: { digest: string }[] };
    let bytes = got.body.length;
    const idle = [...connections];
    await runPool([manifest.config, ...manifest.layers], concurrency, async (d) => {
      const connection = idle.pop();
      if (!connection) throw new Error('image pull: no idle connection');
      const path = `/v2/${pullRepo}/blobs/${d.digest}`;
      const pulled = await connection.request(buildRequest('GET', path, hostPort));
      idle.push(connection);
      if (pulled.status !== 200) throw new Error(`GET ${path}: expected HTTP 200, got ${pulled.status}`);
      bytes += pulled.bodyBytes;
    });
    const window = meter.end();
    if (bytes !== imageBytes(pulledImage)) throw new Error(`image pull: ${bytes} bytes, expected ${imageBytes(pulledImage)}`);
    return { seconds: window.wallSeconds, cpuSeconds: window.serverCpuSeconds, mbps: mbps(bytes, window.wallSeconds) };
  };
  return [
    {
      id: 'image-push',
      title: `${title}: push`,
      metrics: [
        { key: 'seconds', label: '', unit: 's', better: 'lower', goal: { max: 1 / 1.5 } },
        { key: 'cpuSeconds', label: ' server CPU', unit: 'CPU-s', better: 'lower' },
      ],
      prepare: (rep) => void imageFor(rep),
      async run(target, rep, meter) {
        const image = imageFor(rep);
        meter.begin();
        await pushAll(target.client, `bench/image-push-${rep}`, image);
        const window = meter.end();
        return { seconds: window.wallSeconds, cpuSeconds: window.serverCpuSeconds, mbps: mbps(imageBytes(image), window.wallSeconds) };
      },
    },
    {
      id: 'image-pull',
      title: `${title}: pull`,
      metrics: [
        { key: 'seconds', label: '', unit: 's', better: 'lower', goal: { max: 1 } },
        { key: 'cpuSeconds', label: ' server CPU', unit: 'CPU-s', better: 'lower' },
      ],
      setup: (target) => pushAll(target.client, pullRepo, pulledImage),
      async run(target, _rep, meter) {
        // Connected before the clock starts, as a puller's connections usually are.
        const connections = Array.from({ length: concurrency }, () => new RawConnection('127.0.0.1', target.server.port, DOWNLOAD_BUFFER));
        try {
          await Promise.all(connections.map((c) => c.ready()));
          return await pullImage(target, connections, meter);
        } finally {
          for (const connection of connections) connection.close();
        }
      },
    },
  ];
}

/**
 * A listing walk takes milliseconds, so each run repeats it for a third of the small-request
 * window and reports the mean time per walk.
 */
async function repeatWalk(
  options: BenchOptions,
  meter: Meter,
  walk: () => Promise<{ pages: number; entries: number }>,
): Promise<{ walked: { pages: number; entries: number }; walks: number; window: Window }> {
  const budgetMs = Math.max(1, options.durationMs / 3);
  meter.begin();
  const started = performance.now();
  let walked = await walk();
  let walks = 1;
  while (performance.now() - started < budgetMs) {
    walked = await walk();
    walks++;
  }
  return { walked, walks, window: meter.end() };
}

export function listingWorkloads(options: BenchOptions): Workload[] {
  const catalogPrefix = 'bench-catalog/r';
  const tagsRepo = 'bench/many-tags';
  return [
    {
      id: 'catalog-walk',
      title: `catalog walk, ${options.catalogRepos} repositories, n=100`,
      metrics: [{ key: 'seconds', label: '', unit: 's', better: 'lower', goal: { max: 0.1 } }],
      async setup(target) {
        await seedSmall(target.client);
        const names = Array.from({ length: options.catalogRepos }, (_, i) => `${catalogPrefix}${String(i).padStart(5, '0')}`);
        await runPool(names, 8, async (repo) => {
          for (const b of [miniImage.config, ...miniImage.layers]) await mountBlob(target.client, repo, SMALL_REPO, b.digest);
          await putManifest(target.client, repo, 'v1', miniImage);
        });
      },
      async run(target, _rep, meter) {
        const { walked, walks, window } = await repeatWalk(options, meter, () =>
          walkPages(target.client, '/v2/_catalog?n=100', 'repositories'),
        );
        if (walked.entries < options.catalogRepos)
          throw new Error(`catalog walk: ${walked.entries} repositories, expected at least ${options.catalogRepos}`);
        return { seconds: window.wallSeconds / walks, walks, pages: walked.pages, entries: walked.entries };
      },
    },
    {
      id: 'tags-walk',
      // Without n, as skopeo list-tags asks (the reference ignores n on tag lists); any Link is followed.
      title: `tags list of a repository with ${options.tagCount} tags`,
      metrics: [{ key: 'seconds', label: '', unit: 's', better: 'lower', goal: { max: 1 } }],
      async setup(target) {
        await seedSmall(target.client);
        for (const b of [miniImage.config, ...miniImage.layers]) await mountBlob(target.client, tagsRepo, SMALL_REPO, b.digest);
        const tags = Array.from({ length: options.tagCount }, (_, i) => `t${String(i).padStart(5, '0')}`);
        await runPool(tags, 8, (tag) => putManifest(target.client, tagsRepo, tag, miniImage));
      },
      async run(target, _rep, meter) {
        const { walked, walks, window } = await repeatWalk(options, meter, () =>
          walkPages(target.client, `/v2/${tagsRepo}/tags/list`, 'tags'),
        );
        if (walked.entries !== options.tagCount) throw new Error(`tags walk: ${walked.entries} tags, expected ${options.tagCount}`);
        return { seconds: window.wallSeconds / walks, walks, pages: walked.pages };
      },
    },
  ];
}

export function formatSize(bytes: number): string {
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  return `${Math.round(bytes / 1024)} KiB`;
}
