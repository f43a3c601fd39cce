// The garbage-collection rows (issue 15): Berth's online `berth gc` against the reference's
// offline `docker-registry garbage-collect` on the same content, and the latency of manifest GETs
// at c=16 while Berth's GC runs against the same load without it.
//
// The content is written once per run. The reference's storage tree is generated directly on
// disk, in Distribution's filesystem layout (blobs/, and per repository _layers, _manifests/
// revisions and _manifests/tags links), which is much faster than pushing 60,000 blobs through
// its API; Berth gets the same tree through `berth import distribution` (copy mode), which
// hashes every blob and checks every manifest as a push would. Both pristine data folders are
// then copied (`cp -a`) before every repetition, so each GC starts from identical content.
//
// The shape: R repositories of V versions each (10,000 manifests in all by default). Each
// manifest has a config, a base layer shared across repositories, and five layers of its own,
// the second of which an odd version shares with the version before it (as consecutive builds
// share lower layers). Every third version is untagged (its tags deleted), the newest tagged
// version is also `latest`, and every repository holds a few blobs that no manifest references
// (pushes whose manifest never came). Blobs are small (256 B to 2 KiB): the rows time GC's
// bookkeeping, not byte copying.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { HttpClient } from './http-client.js';
import { buildRequest, runLoad, type LoadResult } from './load-client.js';
import type { BenchOptions } from './options.js';
import { ProcessTree, reapedChildrenCpuSeconds } from './proc-stats.js';
import { MANIFEST_ACCEPT, blob, makeImage, type Blob, type Image } from './registry-ops.js';
import {
  BERTH_NODE_FLAGS,
  berthEntry,
  berthEnv,
  referenceEnv,
  registryYaml,
  startBerth,
  type ReferenceRegistry,
  type ServerProcess,
  type TargetName,
} from './servers.js';
import type { Target, Workload } from './workload.js';

/** Distribution's storage folder under its root directory. */
const DISTRIBUTION_BASE = join('docker', 'registry', 'v2');
/** Base layers shared across repositories. */
const BASE_LAYERS = 10;
/** Layers of each manifest besides the base layer. */
const OWN_LAYERS = 5;
/** Blobs per repository that no manifest references. */
const DANGLING = 5;
const MB = 1e6;

export interface GcShape {
  readonly repositories: number;
  readonly versions: number;
}

/** About `manifests` manifests as about sqrt(manifests) repositories of that many versions (at most 100 each). */
export function gcShape(manifests: number): GcShape {
  const versions = Math.max(3, Math.min(100, Math.round(Math.sqrt(manifests))));
  return { repositories: Math.ceil(manifests / versions), versions };
}

const repositoryName = (r: number): string => `gc/r${String(r).padStart(3, '0')}`;
const isTagged = (version: number): boolean => version % 3 !== 2;
/** The tag every row reads: version 0 of the first repository stays tagged. */
const READ_REPOSITORY = repositoryName(0);
const READ_TAG = 'v0';

/** Deterministic small bytes for a blob named `id`: 256 B to 2 KiB of its name repeated. */
function layerBlob(id: string): Blob {
  let hash = 2166136261;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 16777619) >>> 0;
  const size = 256 + (hash % 1792);
  return blob(Buffer.alloc(size, `${id}\n`));
}

/** One version's image and its tags. */
function imageOf(r: number, v: number, versions: number): { image: Image; tags: string[] } {
  const own = Array.from({ length: OWN_LAYERS }, (_, k) => layerBlob(k === 1 && v % 2 === 1 ? `r${r}-v${v - 1}-l1` : `r${r}-v${v}-l${k}`));
  const image = makeImage([layerBlob(`base-${r % BASE_LAYERS}`), ...own], `gc ${repositoryName(r)} v${v}`);
  const newestTagged = isTagged(versions - 1) ? versions - 1 : versions - 2;
  const tags = isTagged(v) ? [`v${v}`, ...(v === newestTagged ? ['latest'] : [])] : [];
  return { image, tags };
}

/** Blob files (data) under a blobs/ folder and their bytes: what each GC is judged by. */
export function countBlobs(blobsDir: string): { blobs: number; bytes: number } {
  let blobs = 0;
  let bytes = 0;
  const list = (dir: string): string[] => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  for (const algorithm of list(blobsDir)) {
    for (const fan of list(join(blobsDir, algorithm))) {
      for (const hex of list(join(blobsDir, algorithm, fan))) {
        try {
          bytes += statSync(join(blobsDir, algorithm, fan, hex, 'data')).size;
          blobs++;
        } catch {
          // A folder whose data GC removed (or is removing).
        }
      }
    }
  }
  return { blobs, bytes };
}

export interface FilledContent {
  readonly repositories: number;
  readonly manifests: number;
  readonly tags: number;
  /** Blobs in the store, manifests included (Distribution and Berth both keep manifests as blobs). */
  readonly blobs: number;
  readonly bytes: number;
  /** What deleting the untagged manifests and everything only they (or nothing) reach frees. */
  readonly collectableBlobs: number;
  readonly collectableBytes: number;
}

/**
 * Writes the content as Distribution stores it under `root` (its storage.filesystem.rootdirectory),
 * synchronously: one pass of small files, faster than the promise round trips of 200,000 writes.
 */
export function writeDistributionTree(root: string, shape: GcShape): FilledContent {
  const base = join(root, DISTRIBUTION_BASE);
  const all = new Map<string, number>();
  const reached = new Set<string>();
  let manifests = 0;
  let tags = 0;
  const writeBlob = (digest: string, bytes: Buffer): void => {
    if (all.has(digest)) return;
    const hex = digest.slice('sha256:'.length);
    const dir = join(base, 'blobs', 'sha256', hex.slice(0, 2), hex);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'data'), bytes);
    all.set(digest, bytes.length);
  };
  const link = (dir: string, digest: string): void => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'link'), digest);
  };
  for (let r = 0; r < shape.repositories; r++) {
    const repository = join(base, 'repositories', ...repositoryName(r).split('/'));
    const linkLayer = (b: Blob): void => {
      writeBlob(b.digest, b.bytes);
      link(join(repository, '_layers', 'sha256', b.digest.slice('sha256:'.length)), b.digest);
    };
    for (let v = 0; v < shape.versions; v++) {
      const { image, tags: tagNames } = imageOf(r, v, shape.versions);
      for (const b of [image.config, ...image.layers]) linkLayer(b);
      writeBlob(image.manifestDigest, image.manifest);
      const hex = image.manifestDigest.slice('sha256:'.length);
      link(join(repository, '_manifests', 'revisions', 'sha256', hex), image.manifestDigest);
      for (const tag of tagNames) {
        link(join(repository, '_manifests', 'tags', tag, 'current'), image.manifestDigest);
        link(join(repository, '_manifests', 'tags', tag, 'index', 'sha256', hex), image.manifestDigest);
      }
      manifests++;
      tags += tagNames.length;
      if (tagNames.length > 0) for (const b of [image.config, ...image.layers]) reached.add(b.digest);
      if (tagNames.length > 0) reached.add(image.manifestDigest);
    }
    for (let i = 0; i < DANGLING; i++) linkLayer(layerBlob(`r${r}-dangling-${i}`));
  }
  let bytes = 0;
  let collectableBlobs = 0;
  let collectableBytes = 0;
  for (const [digest, size] of all) {
    bytes += size;
    if (reached.has(digest)) continue;
    collectableBlobs++;
    collectableBytes += size;
  }
  return { repositories: shape.repositories, manifests, tags, blobs: all.size, bytes, collectableBlobs, collectableBytes };
}

/** A finished command: wall time, the CPU it and its children used, the peak RSS of its process. */
interface CommandRun {
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly peakRssBytes: number;
  readonly stdout: string;
}

/**
 * Runs a command to completion; its output goes to `logFile` (Distribution's GC prints a line per
 * manifest and blob), and the last of it into the error when it fails. Its CPU is read from this
 * process's cutime + cstime, which grow by a child's CPU when it is reaped: nothing else of ours
 * exits meanwhile. The peak RSS is its VmHWM, sampled every 100 ms while it runs.
 */
async function runCommand(
  command: string,
  args: readonly string[],
  logFile: string,
  env: NodeJS.ProcessEnv = berthEnv(),
): Promise<CommandRun> {
  const log = openSync(logFile, 'w');
  const cpu0 = reapedChildrenCpuSeconds();
  const wall0 = performance.now();
  const child = spawn(command, [...args], { env, stdio: ['ignore', 'pipe', log] });
  closeSync(log);
  const stdout: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => void stdout.push(chunk));
  let peakRssBytes = 0;
  const sampleRss = (): void => {
    try {
      const kib = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'latin1'))?.[1];
      if (kib !== undefined) peakRssBytes = Math.max(peakRssBytes, Number(kib) * 1024);
    } catch {
      // Exited between samples.
    }
  };
  const sampler = setInterval(sampleRss, 100);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode) => resolve(exitCode));
  }).finally(() => clearInterval(sampler));
  const wallSeconds = (performance.now() - wall0) / 1000;
  const cpuSeconds = reapedChildrenCpuSeconds() - cpu0;
  const output = Buffer.concat(stdout).toString('utf8');
  if (code !== 0) {
    const tail = readFileSync(logFile, 'utf8').slice(-2000);
    throw new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output.slice(-2000)}\n${tail}`);
  }
  return { wallSeconds, cpuSeconds, peakRssBytes, stdout: output };
}

async function copyFolder(from: string, to: string): Promise<void> {
  await rm(to, { recursive: true, force: true });
  await mkdir(dirname(to), { recursive: true });
  await new Promise<void>((resolve, reject) => {
    const cp = spawn('cp', ['-a', from, to], { stdio: ['ignore', 'ignore', 'pipe'] });
    const error: Buffer[] = [];
    cp.stderr.on('data', (chunk: Buffer) => void error.push(chunk));
    cp.once('error', reject);
    cp.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`cp -a ${from} ${to} failed: ${Buffer.concat(error).toString()}`)),
    );
  });
}

/**
 * The CPU of the processes a GC row runs on one side: the reaped children of this process (the GC
 * command, once it has exited) plus, for Berth, its running server. Stands in for a server's tree
 * in the runner's Meter, so that the CPU table shows each side's whole cost of the run.
 */
class GcProcessesTree extends ProcessTree {
  constructor(private readonly server: () => ServerProcess | undefined) {
    super(process.pid);
  }
  override refresh(): void {
    this.server()?.tree.refresh();
  }
  override cpuSeconds(): number {
    return reapedChildrenCpuSeconds() + (this.server()?.tree.cpuSeconds() ?? 0);
  }
  override rssBytes(): number {
    return this.server()?.tree.rssBytes() ?? 0;
  }
}

export interface GcRow {
  readonly workload: Workload;
  readonly targets: readonly Target[];
}

/**
 * The GC rows, with targets of their own: a Berth started before each repetition on a fresh copy
 * of the pristine content (whose server keeps running while `berth gc` runs beside it), and for
 * the reference a stand-in with no server (its GC needs the registry stopped). `track` receives
 * every server started, so that the runner stops them even after a failure.
 */
export function gcWorkloads(
  options: BenchOptions,
  references: readonly ReferenceRegistry[],
  dir: string,
  log: (message: string) => void,
  track: (server: ServerProcess) => void,
): GcRow[] {
  const shape = gcShape(options.gcManifests);
  const pristine = { reference: join(dir, 'pristine-reference'), berth: join(dir, 'pristine-berth') };
  const working = { berth: join(dir, 'run-berth'), reference: (name: TargetName): string => join(dir, `run-${name}`) };
  const berthCli = (...args: string[]): [string, string[]] => [process.execPath, [...BERTH_NODE_FLAGS, ...berthEntry(options), ...args]];
  let content: FilledContent | undefined;
  let filling: Promise<FilledContent> | undefined;
  let server: ServerProcess | undefined;
  let client: HttpClient | undefined;

  /** Once per run: the reference's tree on disk, then Berth's import of it. */
  const fill = async (): Promise<FilledContent> => {
    await mkdir(dir, { recursive: true });
    const started = performance.now();
    const written = writeDistributionTree(join(pristine.reference, 'data'), shape);
    await writeFile(join(pristine.reference, 'config.yml'), registryYaml(5000, join(pristine.reference, 'data')));
    const wroteSeconds = (performance.now() - started) / 1000;
    await mkdir(pristine.berth, { recursive: true });
    await writeFile(join(pristine.berth, 'config.yml'), registryYaml(5000, join(pristine.berth, 'data')));
    const [node, args] = berthCli(
      'import',
      'distribution',
      join(pristine.reference, 'data'),
      '--config',
      join(pristine.berth, 'config.yml'),
    );
    const imported = await runCommand(node, args, join(dir, 'import.log'));
    const onDisk = {
      reference: countBlobs(join(pristine.reference, 'data', DISTRIBUTION_BASE, 'blobs')),
      berth: countBlobs(join(pristine.berth, 'data', 'blobs')),
    };
    log(
      `gc rows: ${written.repositories} repositories, ${written.manifests} manifests (${written.tags} tags; a third untagged), ` +
        `${written.blobs} blobs with the manifests, ${(written.bytes / MB).toFixed(1)} MB, written in Distribution's layout in ${wroteSeconds.toFixed(1)} s; ` +
        `berth import distribution took ${imported.wallSeconds.toFixed(1)} s (${imported.stdout.trim().split('\n').pop() ?? ''}); ` +
        `to collect: ${written.collectableBlobs} blobs, ${(written.collectableBytes / MB).toFixed(2)} MB`,
    );
    for (const [name, found] of Object.entries(onDisk)) {
      if (found.blobs !== written.blobs || found.bytes !== written.bytes)
        throw new Error(`gc rows: ${name} holds ${found.blobs} blobs (${found.bytes} bytes), expected ${written.blobs} (${written.bytes})`);
    }
    return written;
  };
  const filled = (): Promise<FilledContent> => {
    filling ??= fill().then((c) => (content = c));
    return filling;
  };

  /** Stops the previous repetition's Berth, copies the pristine content, starts Berth on the copy. */
  const freshBerth = async (): Promise<void> => {
    client?.close();
    await server?.stop();
    server = undefined;
    await copyFolder(join(pristine.berth, 'data'), join(working.berth, 'data'));
    server = await startBerth(working.berth, options);
    track(server);
    client = new HttpClient(server.url);
  };
  const running = (): ServerProcess => {
    if (!server) throw new Error('gc rows: Berth is not running');
    return server;
  };
  const berthGc = (logFile: string): Promise<CommandRun> => {
    const [node, args] = berthCli('gc', '--delete-untagged', '--grace', '0s', '--json', '--config', join(working.berth, 'config.yml'));
    return runCommand(node, args, logFile);
  };

  // Between repetitions (and after a failure) no Berth runs: the runner still reads its tree.
  const notRunning: ServerProcess = {
    name: 'berth (not running)',
    url: 'http://127.0.0.1:9',
    port: 9,
    pid: process.pid,
    tree: new GcProcessesTree(() => undefined),
    output: () => '',
    stop: () => Promise.resolve(),
  };
  const berthTarget: Target = {
    name: 'berth',
    get server() {
      return server ?? notRunning;
    },
    get client() {
      if (!client) throw new Error('gc rows: Berth is not running');
      return client;
    },
  };
  // A reference's GC runs with no server (it requires the registry stopped): its "server" is a
  // stand-in whose tree reads the CPU of the GC command.
  const referenceStandIn = (reference: ReferenceRegistry): ServerProcess => ({
    name: `${reference.label} (stopped for its offline GC)`,
    url: 'http://127.0.0.1:9',
    port: 9,
    pid: process.pid,
    tree: new GcProcessesTree(() => undefined),
    output: () => '',
    stop: () => Promise.resolve(),
  });
  const referenceClient = new HttpClient('http://127.0.0.1:9');
  const gcTargets: Target[] = [
    {
      name: 'berth',
      get server(): ServerProcess {
        return { ...(server ?? notRunning), tree: new GcProcessesTree(() => server) };
      },
      get client() {
        return berthTarget.client;
      },
    },
    ...references.map((reference) => ({ name: reference.name, server: referenceStandIn(reference), client: referenceClient })),
  ];

  const size = `${shape.repositories * shape.versions} manifests`;
  const offline: Workload = {
    id: 'gc-offline-vs-online',
    title: `garbage collection, ${size}: berth gc (server running) vs the reference's garbage-collect (stopped)`,
    metrics: [
      { key: 'seconds', label: '', unit: 's', better: 'lower' },
      { key: 'cpuSeconds', label: ' CPU of the GC command', unit: 'CPU-s', better: 'lower' },
      { key: 'peakRssMiB', label: ' peak RSS of the GC command', unit: 'MiB', better: 'lower' },
      { key: 'blobsFreed', label: ' blobs deleted (manifests included)', unit: 'blobs', better: 'higher' },
      { key: 'mbFreed', label: ' bytes freed', unit: 'MB', better: 'higher' },
      { key: 'blobsLeft', label: ' blobs left', unit: 'blobs', better: 'lower' },
    ],
    async setup() {
      await filled();
    },
    async prepare() {
      for (const { name } of references) {
        await copyFolder(join(pristine.reference, 'data'), join(working.reference(name), 'data'));
        await writeFile(join(working.reference(name), 'config.yml'), registryYaml(5000, join(working.reference(name), 'data')));
      }
      await freshBerth();
    },
    async run(target, rep, meter) {
      const before = content;
      if (!before) throw new Error('gc rows: no content');
      let gc: CommandRun;
      let blobsDir: string;
      let berthServerCpuSeconds = 0;
      if (target.name === 'berth') {
        const serverTree = running().tree;
        serverTree.refresh();
        const server0 = serverTree.cpuSeconds();
        meter.begin();
        gc = await berthGc(join(dir, `gc-berth-${rep}.log`));
        meter.end();
        berthServerCpuSeconds = serverTree.cpuSeconds() - server0;
        blobsDir = join(working.berth, 'data', 'blobs');
      } else {
        const reference = references.find((r) => r.name === target.name);
        if (!reference) throw new Error(`gc rows: no reference registry ${target.name}`);
        const folder = working.reference(reference.name);
        meter.begin();
        gc = await runCommand(
          reference.command,
          ['garbage-collect', '--delete-untagged', join(folder, 'config.yml')],
          join(dir, `gc-${reference.name}-${rep}.log`),
          referenceEnv(),
        );
        meter.end();
        blobsDir = join(folder, 'data', DISTRIBUTION_BASE, 'blobs');
      }
      const after = countBlobs(blobsDir);
      const blobsFreed = before.blobs - after.blobs;
      const bytesFreed = before.bytes - after.bytes;
      if (blobsFreed !== before.collectableBlobs || bytesFreed !== before.collectableBytes)
        log(
          `gc-offline-vs-online ${target.name}: freed ${blobsFreed} blobs (${bytesFreed} bytes), the content has ${before.collectableBlobs} (${before.collectableBytes}) to collect`,
        );
      return {
        seconds: gc.wallSeconds,
        cpuSeconds: gc.cpuSeconds,
        peakRssMiB: gc.peakRssBytes / 2 ** 20,
        blobsFreed,
        mbFreed: bytesFreed / MB,
        blobsLeft: after.blobs,
        // In the JSON only: Berth's server CPU while its GC ran beside it (0 for the stopped reference).
        serverCpuSeconds: berthServerCpuSeconds,
        expectedBlobsFreed: before.collectableBlobs,
      };
    },
  };

  const request = (): Buffer =>
    buildRequest('GET', `/v2/${READ_REPOSITORY}/manifests/${READ_TAG}`, `127.0.0.1:${running().port}`, { Accept: MANIFEST_ACCEPT });
  let lastGcMs: number | undefined;
  const load = (extra: Partial<Parameters<typeof runLoad>[0]>): Promise<LoadResult> =>
    runLoad({
      host: '127.0.0.1',
      port: running().port,
      concurrency: 16,
      request: request(),
      head: false,
      expectStatus: 200,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      ...extra,
    });
  const checked = (result: LoadResult, what: string): LoadResult => {
    if (result.errors > 0) throw new Error(`manifest GET ${what}: ${result.errors} failed requests (first: ${result.firstError ?? '?'})`);
    if (result.requests === 0) throw new Error(`manifest GET ${what}: no request completed in the measured window`);
    return result;
  };
  const during: Workload = {
    id: 'gc-manifest-get-c16',
    title: `manifest GET by tag, c=16, while berth gc runs (${size}; Berth only)`,
    metrics: [
      { key: 'rps', label: '', unit: 'requests/s', better: 'higher' },
      { key: 'p50Ms', label: ' p50 latency', unit: 'ms', better: 'lower' },
      { key: 'p99Ms', label: ' p99 latency', unit: 'ms', better: 'lower' },
      { key: 'idleRps', label: 'the same load without GC (as long as the GC took)', unit: 'requests/s', better: 'higher' },
      { key: 'idleP50Ms', label: ' p50 latency', unit: 'ms', better: 'lower' },
      { key: 'idleP99Ms', label: ' p99 latency', unit: 'ms', better: 'lower' },
      { key: 'gcSeconds', label: ' GC run under that load (berth gc --delete-untagged --grace 0s)', unit: 's', better: 'lower' },
    ],
    async setup() {
      await filled();
    },
    async prepare() {
      await freshBerth();
    },
    async run(_target, rep, meter) {
      // Untimed: wakes the server's code paths and caches (a fresh process on a fresh copy).
      checked(await load({ warmupMs: 0, durationMs: Math.max(200, options.warmupMs) }), 'warm-up');
      const withGc = async (): Promise<{ result: LoadResult; gc: CommandRun }> => {
        let gcRun: Promise<CommandRun> | undefined;
        let settle: () => void = () => undefined;
        const done = new Promise<void>((resolve) => (settle = resolve));
        const result = await load({
          until: done,
          onWindowStart: () => {
            meter.begin();
            gcRun = berthGc(join(dir, `gc-during-${rep}.log`));
            gcRun.then(settle, settle);
          },
          onWindowEnd: () => meter.end(),
        });
        if (!gcRun) throw new Error('gc-manifest-get-c16: the GC did not start');
        return { result: checked(result, 'while GC runs'), gc: await gcRun };
      };
      const withoutGc = async (durationMs: number): Promise<LoadResult> =>
        checked(await load({ durationMs: Math.max(durationMs, 200) }), 'without GC');
      // Alternate which comes first: after the GC the index is smaller, before it larger.
      let busy: { result: LoadResult; gc: CommandRun };
      let idle: LoadResult;
      if (rep % 2 === 0 || lastGcMs === undefined) {
        busy = await withGc();
        idle = await withoutGc(busy.gc.wallSeconds * 1000);
      } else {
        idle = await withoutGc(lastGcMs);
        busy = await withGc();
      }
      lastGcMs = busy.gc.wallSeconds * 1000;
      return {
        rps: busy.result.requestsPerSecond,
        p50Ms: busy.result.p50Ms,
        p99Ms: busy.result.p99Ms,
        idleRps: idle.requestsPerSecond,
        idleP50Ms: idle.p50Ms,
        idleP99Ms: idle.p99Ms,
        gcSeconds: busy.gc.wallSeconds,
        requests: busy.result.requests,
        idleRequests: idle.requests,
        gcCpuSeconds: busy.gc.cpuSeconds,
      };
    },
  };
  return [
    { workload: offline, targets: gcTargets },
    { workload: during, targets: [berthTarget] },
  ];
}
