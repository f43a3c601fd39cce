// `npm run bench -- --scale-out` (issue 4): does Berth scale out? Starts Ceph RGW (S3) and
// PostgreSQL once, then measures, one configuration after the other:
//   baseline   the single-node default: one Berth process, filesystem + SQLite, no proxy;
//   1, 2, 3    that many Berth replicas on S3 + PostgreSQL (a fresh database and key prefix
//              each) behind nginx round-robin.
// Workloads: 8 concurrent monolithic pushes of 16 MiB blobs (MB/s), 8 concurrent pulls of those
// blobs (MB/s), and manifest GET by tag from 32 keep-alive connections (requests/s, p50, p99).
// CPU is read from /proc for the replicas (each, and together), nginx, the load generator
// (this process) and the rest of the machine (RGW, PostgreSQL, anything else), so the table
// shows where the 2 cores went. Prints one table and writes bench/results/scale-out-latest.json.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MiB, blobChunks, blobDigest } from './blob-data.js';
import { HttpClient } from './http-client.js';
import { runLoad } from './load-client.js';
import { machineInfo } from './machine.js';
import type { BenchOptions } from './options.js';
import type { ProcessTree } from './proc-stats.js';
import { RawConnection, buildRequest } from './raw-http.js';
import { MANIFEST_ACCEPT, pushBlobStream, pushImage, smallImage } from './registry-ops.js';
import { format } from './report.js';
import { requireCommand, startBalancer, startBerth, type ServerProcess } from './servers.js';
import { summarize } from './stats.js';
import { s3Environment, startS3, type TestS3 } from '../../test/helpers/s3.js';
import { startPostgres, type TestPostgres } from '../../test/helpers/postgres.js';

const BLOBS = 8;
const MANIFEST_CONCURRENCY = 32;
const BLOB_REPO = 'bench/scale';
const SMALL_REPO = 'bench/small';
const MB = 1e6;

type Log = (message: string) => void;

interface Config {
  readonly id: 'baseline' | 'r1' | 'r2' | 'r3';
  readonly heading: string;
  readonly replicas: number;
}

const CONFIGS: readonly Config[] = [
  { id: 'baseline', heading: 'single node', replicas: 0 },
  { id: 'r1', heading: '1 replica', replicas: 1 },
  { id: 'r2', heading: '2 replicas', replicas: 2 },
  { id: 'r3', heading: '3 replicas', replicas: 3 },
];

/** CPU over a timed window, each as a share of one core (1 = one core busy the whole window). */
interface CpuShares {
  readonly replicas: number;
  readonly perReplica: readonly number[];
  readonly nginx: number;
  readonly client: number;
  /** Busy time of the whole machine (/proc/stat) minus the three above: RGW, PostgreSQL, others. */
  readonly rest: number;
}

interface Sample {
  readonly metrics: Record<string, number>;
  readonly cpu: CpuShares;
}

type WorkloadId = 'push' | 'pull' | 'manifest';

/** Busy and total jiffies of the whole machine, from the first line of /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'latin1').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

const CLOCK_TICKS = 100;

/** Brackets a timed window and reads the CPU counters of every party at both ends. */
class CpuWindow {
  private wall0 = 0;
  private client0: NodeJS.CpuUsage = { user: 0, system: 0 };
  private replicas0: number[] = [];
  private nginx0 = 0;
  private machine0 = 0;
  private result: { seconds: number; cpu: CpuShares } | undefined;

  constructor(
    private readonly replicas: readonly ProcessTree[],
    private readonly nginx: ProcessTree | undefined,
  ) {
    for (const tree of replicas) tree.refresh();
    nginx?.refresh();
  }

  begin(): void {
    this.replicas0 = this.replicas.map((t) => t.cpuSeconds());
    this.nginx0 = this.nginx?.cpuSeconds() ?? 0;
    this.machine0 = machineTicks().busy;
    this.client0 = process.cpuUsage();
    this.wall0 = performance.now();
  }

  end(): void {
    const seconds = (performance.now() - this.wall0) / 1000;
    const client = process.cpuUsage(this.client0);
    const clientSeconds = (client.user + client.system) / 1e6;
    const perReplica = this.replicas.map((t, i) => t.cpuSeconds() - (this.replicas0[i] ?? 0));
    const nginxSeconds = (this.nginx?.cpuSeconds() ?? 0) - this.nginx0;
    const machineSeconds = (machineTicks().busy - this.machine0) / CLOCK_TICKS;
    const replicaSeconds = perReplica.reduce((a, b) => a + b, 0);
    this.result = {
      seconds,
      cpu: {
        replicas: replicaSeconds / seconds,
        perReplica: perReplica.map((s) => s / seconds),
        nginx: nginxSeconds / seconds,
        client: clientSeconds / seconds,
        rest: Math.max(0, machineSeconds - replicaSeconds - nginxSeconds - clientSeconds) / seconds,
      },
    };
  }

  get seconds(): number {
    if (!this.result) throw new Error('CpuWindow.end() was not called');
    return this.result.seconds;
  }

  get cpu(): CpuShares {
    if (!this.result) throw new Error('CpuWindow.end() was not called');
    return this.result.cpu;
  }
}

interface Deployment {
  readonly config: Config;
  readonly replicas: readonly ServerProcess[];
  readonly nginx: ServerProcess | undefined;
  /** Where the load generator connects: nginx, or the single node itself. */
  readonly entry: ServerProcess;
}

async function deploy(
  config: Config,
  dir: string,
  options: BenchOptions,
  backends: { s3: TestS3; postgres: TestPostgres } | undefined,
  log: Log,
): Promise<Deployment> {
  const started: ServerProcess[] = [];
  try {
    if (config.replicas === 0) {
      const node = await startBerth(join(dir, 'node'), options);
      return { config, replicas: [node], nginx: undefined, entry: node };
    }
    if (!backends) throw new Error('S3 and PostgreSQL are not running');
    const env = {
      ...s3Environment(backends.s3, `/berth-bench-${config.id}-${randomUUID()}`),
      BERTH_METADATA_POSTGRES_URL: await backends.postgres.createDatabase(),
    };
    // All at once, as a Deployment's pods start (they race on the schema migrations).
    const results = await Promise.allSettled(
      Array.from({ length: config.replicas }, (_, i) => startBerth(join(dir, `replica-${i + 1}`), options, env)),
    );
    for (const r of results) if (r.status === 'fulfilled') started.push(r.value);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed?.status === 'rejected') throw failed.reason;
    const nginx = await startBalancer(
      join(dir, 'nginx'),
      started.map((s) => `127.0.0.1:${s.port}`),
    );
    log(`${config.heading}: replicas pid ${started.map((s) => s.pid).join(', ')}; nginx pid ${nginx.pid} at ${nginx.url}`);
    return { config, replicas: started, nginx, entry: nginx };
  } catch (error) {
    await Promise.allSettled(started.map((s) => s.stop()));
    throw error;
  }
}

async function undeploy(deployment: Deployment): Promise<void> {
  await deployment.nginx?.stop().catch(() => undefined);
  await Promise.allSettled(deployment.replicas.map((s) => s.stop()));
}

/** Seeds for the blobs of (configuration, repetition): new bytes every time, never shared. */
function seeds(configIndex: number, rep: number): number[] {
  return Array.from({ length: BLOBS }, (_, i) => 50_000 + configIndex * 1000 + rep * 100 + i);
}

async function measure(
  deployment: Deployment,
  configIndex: number,
  options: BenchOptions,
  log: Log,
): Promise<Record<WorkloadId, Sample[]>> {
  const size = options.blobBytes;
  const entry = deployment.entry;
  const hostPort = `127.0.0.1:${entry.port}`;
  const trees = deployment.replicas.map((s) => s.tree);
  const nginxTree = deployment.nginx?.tree;
  const client = new HttpClient(entry.url, 64);
  const samples: Record<WorkloadId, Sample[]> = { push: [], pull: [], manifest: [] };
  const label = deployment.config.heading;
  try {
    await pushImage(client, SMALL_REPO, 'latest', smallImage);
    for (let rep = 0; rep < options.reps; rep++) {
      const blobSeeds = seeds(configIndex, rep);
      const digests = blobSeeds.map((seed) => blobDigest(seed, size));

      // Push: 8 monolithic uploads (POST, then one PUT with the whole blob) at once.
      const push = new CpuWindow(trees, nginxTree);
      push.begin();
      await Promise.all(blobSeeds.map((seed, i) => pushBlobStream(client, BLOB_REPO, blobChunks(seed, size), size, digests[i] ?? '')));
      push.end();
      const pushed = { mbps: (BLOBS * size) / MB / push.seconds };
      samples.push.push({ metrics: pushed, cpu: push.cpu });
      log(`${label} ${rep + 1}/${options.reps} push: ${pushed.mbps.toFixed(1)} MB/s`);

      // Pull: the same 8 blobs over 8 connections opened beforehand.
      const connections = digests.map(() => new RawConnection('127.0.0.1', entry.port, MiB));
      try {
        await Promise.all(connections.map((c) => c.ready()));
        const pull = new CpuWindow(trees, nginxTree);
        pull.begin();
        const responses = await Promise.all(
          connections.map((c, i) => c.request(buildRequest('GET', `/v2/${BLOB_REPO}/blobs/${digests[i] ?? ''}`, hostPort))),
        );
        pull.end();
        for (const r of responses) {
          if (r.status !== 200 || r.bodyBytes !== size)
            throw new Error(`pull through ${label}: HTTP ${r.status}, ${r.bodyBytes} of ${size} bytes`);
        }
        const pulled = { mbps: (BLOBS * size) / MB / pull.seconds };
        samples.pull.push({ metrics: pulled, cpu: pull.cpu });
        log(`${label} ${rep + 1}/${options.reps} pull: ${pulled.mbps.toFixed(1)} MB/s`);
      } finally {
        for (const c of connections) c.close();
      }

      // Manifest GET by tag from 32 keep-alive connections, closed loop.
      const window = new CpuWindow(trees, nginxTree);
      const result = await runLoad({
        host: '127.0.0.1',
        port: entry.port,
        concurrency: MANIFEST_CONCURRENCY,
        request: buildRequest('GET', `/v2/${SMALL_REPO}/manifests/latest`, hostPort, { Accept: MANIFEST_ACCEPT }),
        head: false,
        expectStatus: 200,
        warmupMs: options.warmupMs,
        durationMs: options.durationMs,
        onWindowStart: () => window.begin(),
        onWindowEnd: () => window.end(),
      });
      if (result.errors > 0)
        throw new Error(`manifest GET through ${label}: ${result.errors} failed requests (first: ${result.firstError ?? '?'})`);
      // Everything but the load generator: Berth, nginx, and the rest (PostgreSQL, RGW, ...).
      const serverCpu = window.cpu.replicas + window.cpu.nginx + window.cpu.rest;
      samples.manifest.push({
        metrics: {
          rps: result.requestsPerSecond,
          p50Ms: result.p50Ms,
          p99Ms: result.p99Ms,
          cpuMsPerRequest: (serverCpu * window.seconds * 1000) / result.requests,
        },
        cpu: window.cpu,
      });
      log(`${label} ${rep + 1}/${options.reps} manifest GET c=${MANIFEST_CONCURRENCY}: ${Math.round(result.requestsPerSecond)} req/s`);
    }
  } finally {
    client.close();
  }
  return samples;
}

interface Row {
  readonly workload: WorkloadId;
  readonly key: string;
  readonly label: string;
  readonly unit: string;
}

function rows(options: BenchOptions): Row[] {
  const blobs = `${BLOBS} x ${formatMiB(options.blobBytes)}`;
  return [
    { workload: 'push', key: 'mbps', label: `blob push, ${blobs} at once`, unit: 'MB/s' },
    { workload: 'pull', key: 'mbps', label: `blob pull, ${blobs} at once`, unit: 'MB/s' },
    { workload: 'manifest', key: 'rps', label: `manifest GET by tag, c=${MANIFEST_CONCURRENCY}`, unit: 'req/s' },
    { workload: 'manifest', key: 'p50Ms', label: ' p50', unit: 'ms' },
    { workload: 'manifest', key: 'p99Ms', label: ' p99', unit: 'ms' },
    { workload: 'manifest', key: 'cpuMsPerRequest', label: ' CPU per request, all but the load generator', unit: 'CPU-ms' },
  ];
}

function formatMiB(bytes: number): string {
  const mib = bytes / MiB;
  return Number.isInteger(mib) ? `${mib} MiB` : `${Math.round(bytes / 1024)} KiB`;
}

type Results = Partial<Record<Config['id'], Record<WorkloadId, Sample[]> | { error: string }>>;

function samplesOf(results: Results, config: Config['id'], workload: WorkloadId): Sample[] {
  const r = results[config];
  return r === undefined || 'error' in r ? [] : r[workload];
}

function median(values: readonly number[]): number | undefined {
  return summarize(values)?.median;
}

function cell(values: readonly number[]): string {
  const s = summarize(values);
  if (!s) return '-';
  return s.n === 1 ? format(s.median) : `${format(s.median)} (${format(s.min)}-${format(s.max)})`;
}

function render(table: readonly (readonly string[])[]): string {
  const widths = table[0]?.map((_, c) => Math.max(...table.map((row) => (row[c] ?? '').length))) ?? [];
  return table
    .map((row) =>
      row
        .map((text, c) => (c === 0 ? text.padEnd(widths[c] ?? 0) : text.padStart(widths[c] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function resultTable(results: Results, options: BenchOptions): string {
  const table: string[][] = [['workload', 'unit', ...CONFIGS.map((c) => c.heading), '3 / 1']];
  for (const row of rows(options)) {
    const values = CONFIGS.map((c) => samplesOf(results, c.id, row.workload).map((s) => s.metrics[row.key] ?? NaN));
    const one = median(values[1] ?? []);
    const three = median(values[3] ?? []);
    const ratio = one !== undefined && three !== undefined && one > 0 ? `${(three / one).toFixed(2)}x` : '-';
    table.push([row.label, row.unit, ...values.map(cell), ratio]);
  }
  return render(table);
}

function cpuTable(results: Results, options: BenchOptions): string {
  const table: string[][] = [['CPU while measuring (% of one core)', ...CONFIGS.map((c) => c.heading)]];
  const percent = (values: readonly number[]): string => {
    const m = median(values);
    return m === undefined ? '-' : `${Math.round(m * 100)}`;
  };
  const titles: Record<WorkloadId, string> = {
    push: 'blob push',
    pull: 'blob pull',
    manifest: `manifest GET c=${MANIFEST_CONCURRENCY}`,
  };
  for (const workload of ['push', 'pull', 'manifest'] as const) {
    const per = (pick: (cpu: CpuShares) => number): string[] =>
      CONFIGS.map((c) => percent(samplesOf(results, c.id, workload).map((s) => pick(s.cpu))));
    const replicas = CONFIGS.map((c) => {
      const samples = samplesOf(results, c.id, workload);
      const total = percent(samples.map((s) => s.cpu.replicas));
      if (c.replicas < 2 || samples.length === 0) return total;
      const split = Array.from({ length: c.replicas }, (_, i) => percent(samples.map((s) => s.cpu.perReplica[i] ?? NaN)));
      return `${total} (${split.join('+')})`;
    });
    table.push([`${titles[workload]}: Berth (all replicas)`, ...replicas]);
    table.push(['  nginx', ...per((cpu) => cpu.nginx)]);
    table.push(['  load generator', ...per((cpu) => cpu.client)]);
    table.push(['  rest of machine (RGW, PostgreSQL, ...)', ...per((cpu) => cpu.rest)]);
    table.push(['  whole machine (200 = both cores busy)', ...per((cpu) => cpu.replicas + cpu.nginx + cpu.client + cpu.rest)]);
  }
  void options;
  return render(table);
}

/** Runs the whole --scale-out measurement; returns the exit code. */
export async function runScaleOut(
  options: BenchOptions,
  workDir: string,
  benchDir: string,
  log: Log,
  onCleanup: (stop: () => Promise<void>) => void,
): Promise<number> {
  requireCommand('nginx', 'nginx');
  const startedAt = new Date();
  const machineBefore = machineInfo(workDir);
  log(`scale-out: temporary folder ${workDir}; load average ${machineBefore.loadAverage.map((l) => l.toFixed(2)).join(' ')}`);

  let backends: { s3: TestS3; postgres: TestPostgres } | undefined;
  const current: { deployment: Deployment | undefined } = { deployment: undefined };
  let s3: TestS3 | undefined;
  let postgres: TestPostgres | undefined;
  const stopAll = async (): Promise<void> => {
    if (current.deployment) await undeploy(current.deployment);
    current.deployment = undefined;
    await Promise.allSettled([s3?.stop(), postgres?.stop()]);
    s3 = undefined;
    postgres = undefined;
  };
  onCleanup(stopAll);

  const results: Results = {};
  let backendSeconds = 0;
  try {
    const t0 = performance.now();
    log('scale-out: starting Ceph RGW (start-s3.sh) and PostgreSQL');
    const [s3Result, pgResult] = await Promise.allSettled([startS3(), startPostgres()]);
    if (s3Result.status === 'fulfilled') s3 = s3Result.value;
    if (pgResult.status === 'fulfilled') postgres = pgResult.value;
    if (s3Result.status === 'rejected') throw s3Result.reason;
    if (pgResult.status === 'rejected') throw pgResult.reason;
    if (!s3 || !postgres) throw new Error('S3 or PostgreSQL did not start');
    backends = { s3, postgres };
    backendSeconds = (performance.now() - t0) / 1000;
    log(`scale-out: S3 (${s3.backend}) at ${s3.endpoint}, PostgreSQL ready in ${backendSeconds.toFixed(1)} s`);

    for (const [index, config] of CONFIGS.entries()) {
      try {
        current.deployment = await deploy(config, join(workDir, config.id), options, backends, log);
        results[config.id] = await measure(current.deployment, index, options, log);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        results[config.id] = { error: message };
        log(`${config.heading}: FAILED: ${message}`);
      } finally {
        if (current.deployment) await undeploy(current.deployment);
        current.deployment = undefined;
      }
    }
  } finally {
    await stopAll();
  }

  const machineAfter = machineInfo(workDir);
  const text = [
    `Scale-out (${options.reps} repetition${options.reps === 1 ? '' : 's'}; ${machineAfter.cpus} CPUs): Berth single node (filesystem + SQLite, no proxy)`,
    `against 1, 2, 3 replicas on S3 (Ceph RGW) + PostgreSQL behind nginx round-robin; 3 / 1 = 3 replicas / 1 replica`,
    resultTable(results, options),
    '',
    cpuTable(results, options),
  ].join('\n');
  process.stdout.write(`\n${text}\n`);
  if (options.preset !== 'full')
    process.stdout.write(`\n(--${options.preset}: reduced sizes; the numbers only show that the harness works)\n`);
  const failures = CONFIGS.flatMap((c) => {
    const r = results[c.id];
    return r !== undefined && 'error' in r ? [`${c.heading}: ${r.error}`] : r === undefined ? [`${c.heading}: not measured`] : [];
  });
  for (const failure of failures) process.stdout.write(`\nFAILED ${failure}\n`);

  const document = {
    schema: 'berth-bench-scale-out/1',
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    options,
    machine: { ...machineAfter, loadAverageBefore: machineBefore.loadAverage, loadAverageAfter: machineAfter.loadAverage },
    backends: { s3: s3Summary(backends), startSeconds: backendSeconds },
    blobs: BLOBS,
    manifestConcurrency: MANIFEST_CONCURRENCY,
    results,
    table: text,
  };
  const output = options.output ?? join(benchDir, 'results', 'scale-out-latest.json');
  await mkdir(resolve(output, '..'), { recursive: true });
  await writeFile(output, `${JSON.stringify(document, null, 2)}\n`);
  log(`\nresults written to ${output}`);
  if (options.keep) {
    const kept = join(benchDir, 'results', `scale-out-${startedAt.toISOString().slice(0, 16).replace(':', '')}.json`);
    await copyFile(output, kept);
    log(`kept as ${kept}`);
  }
  return failures.length === 0 ? 0 : 1;
}

function s3Summary(backends: { s3: TestS3 } | undefined): { backend: string; startSeconds: number } | undefined {
  return backends ? { backend: backends.s3.backend, startSeconds: backends.s3.startSeconds } : undefined;
}
