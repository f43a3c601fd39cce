// The soak (issue 20, goal 4: memory stays flat): mixed pushes and pulls for --soak-minutes (30
// by default) against Berth and every reference at the same time, with the resident memory of
// each server's process tree sampled every few seconds. It prints, per registry, the
// least-squares slope of RSS over time in MiB per hour, over the whole run and over its second
// half, and the peak. The first minutes always climb (heaps, caches and the allocator's free
// lists fill up to their working size), so the second half's slope is the one that tells a leak
// from a warm-up: a registry that holds something per request keeps climbing.
//
// Opt-in (`npm run bench -- --only soak`): a plain `npm run bench` does not run it. It runs on
// the open pair after any other selected rows, so run it alone to start from fresh processes.
//
// The load, per registry: WORKERS closed loops, each repeating the same cycle of operations
// (MIX), so that every registry gets the same requests in the same proportions:
// - push an image: POST + PUT of each blob (always uploaded, no HEAD first: every push goes
//   through the upload path) and a PUT of its manifest, moving a tag;
// - pull an image: the manifest by tag, then every blob;
// - list a repository's tags;
// - push a large blob (monolithic, streamed), and pull one.
// Content cycles through a fixed set (IMAGE_VARIANTS small images of three layers, 4 KiB to
// 512 KiB, over REPOSITORIES repositories; LARGE_BLOBS large blobs of up to 64 MiB, or
// --blob-mib if smaller), so the stores stop growing after the first cycle and a climbing RSS
// cannot be put down to a growing index. Every response's status and every pull's length are
// checked; a failed operation is counted (the first error is kept) and the loop goes on.
import { performance } from 'node:perf_hooks';
import { MiB, blobBytes, blobChunks, blobDigest } from './blob-data.js';
import { expectStatus, type HttpClient } from './http-client.js';
import type { BenchOptions } from './options.js';
import { RawConnection, buildRequest } from './raw-http.js';
import { MANIFEST_ACCEPT, blob, makeImage, pushBlob, pushBlobStream, putManifest, type Image } from './registry-ops.js';
import { format, ratioHeading, table } from './report.js';
import type { ReferenceRegistry, TargetName } from './servers.js';
import type { Target } from './workload.js';

/** Closed loops per registry. */
const WORKERS = 4;
const IMAGE_VARIANTS = 24;
const REPOSITORIES = 6;
const LARGE_BLOBS = 3;
const LARGE_REPO = 'soak/large';
const MAX_LARGE_BYTES = 64 * MiB;
/** Samples of a run at least, however short (the interval shrinks for short runs). */
const MIN_SAMPLES = 30;
const SAMPLE_MS = 5000;
/** One cycle of each worker's loop. */
const MIX = [
  'push-image',
  'pull-image',
  'tags-list',
  'pull-image',
  'push-large',
  'pull-image',
  'push-image',
  'pull-image',
  'tags-list',
  'pull-large',
] as const;
type Operation = (typeof MIX)[number];

/** Whether --only names the soak: it never runs as part of a plain `npm run bench`. */
export function soakSelected(options: BenchOptions): boolean {
  return options.only.some((prefix) => prefix.startsWith('soak'));
}

export interface SoakSample {
  /** Seconds since the load started. */
  readonly t: number;
  readonly rssMiB: number;
}

export interface SoakSeries {
  readonly name: TargetName;
  readonly samples: SoakSample[];
  /** Least-squares slope of RSS over the whole run and over its second half, in MiB per hour. */
  readonly slopeMiBPerHour: number;
  readonly secondHalfSlopeMiBPerHour: number;
  readonly startMiB: number;
  readonly peakMiB: number;
  readonly endMiB: number;
  readonly operations: Record<Operation, number>;
  readonly bytesPushed: number;
  readonly bytesPulled: number;
  readonly errors: number;
  readonly firstError: string | undefined;
}

export interface SoakResult {
  readonly minutes: number;
  readonly sampleMs: number;
  readonly workers: number;
  readonly largeBlobBytes: number;
  readonly series: SoakSeries[];
}

/** Least-squares slope of y over x; NaN with fewer than two distinct x. */
export function leastSquaresSlope(points: readonly { readonly x: number; readonly y: number }[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const p of points) {
    covariance += (p.x - meanX) * (p.y - meanY);
    variance += (p.x - meanX) ** 2;
  }
  return variance === 0 ? Number.NaN : covariance / variance;
}

/** MiB per hour of a run's samples, from `fromSeconds` on. */
function slopeFrom(samples: readonly SoakSample[], fromSeconds: number): number {
  return leastSquaresSlope(samples.filter((s) => s.t >= fromSeconds).map((s) => ({ x: s.t / 3600, y: s.rssMiB })));
}

/** The small images the pushes and pulls cycle through (the same bytes for every registry). */
function soakImages(): Image[] {
  const sizes = [4 * 1024, 64 * 1024, 512 * 1024];
  return Array.from({ length: IMAGE_VARIANTS }, (_, v) =>
    makeImage(
      sizes.map((size, i) => blob(blobBytes(500_000 + v * 10 + i, size))),
      `soak-${v}`,
    ),
  );
}

const repositoryOf = (variant: number): string => `soak/r${variant % REPOSITORIES}`;
const tagOf = (variant: number): string => `v${variant}`;

/** One registry's share of the soak: its workers, counters and samples. */
class SoakRun {
  readonly samples: SoakSample[] = [];
  readonly operations = Object.fromEntries(MIX.map((op) => [op, 0])) as Record<Operation, number>;
  bytesPushed = 0;
  bytesPulled = 0;
  errors = 0;
  firstError: string | undefined;
  /** Large blobs this registry holds (pushed at least once), which pulls choose from. */
  private readonly largeHeld = new Set<number>();

  constructor(
    readonly target: Target,
    private readonly images: readonly Image[],
    private readonly largeBytes: number,
  ) {}

  private get client(): HttpClient {
    return this.target.client;
  }

  /** Untimed: every image and the first large blob, so that the first pulls find them. */
  async seed(): Promise<void> {
    for (let v = 0; v < this.images.length; v++) await this.pushImage(v);
    await this.pushLarge(0);
  }

  sample(startedAt: number): void {
    this.samples.push({ t: (performance.now() - startedAt) / 1000, rssMiB: this.target.server.tree.rssBytes() / MiB });
  }

  /** One worker: MIX over and over until the deadline; `worker` staggers where each starts. */
  async work(worker: number, deadline: number): Promise<void> {
    const download = new RawConnection('127.0.0.1', this.target.server.port, MiB);
    try {
      await download.ready();
      for (let step = worker * 3; performance.now() < deadline; step++) {
        const operation = MIX[step % MIX.length] as Operation;
        const round = Math.floor(step / MIX.length) * WORKERS + worker;
        try {
          await this.run(operation, round, download);
          this.operations[operation]++;
        } catch (error) {
          this.errors++;
          this.firstError ??= `${operation}: ${error instanceof Error ? error.message : String(error)}`;
          // A failed request may leave the connection mid-response: the next one opens a new one.
          download.close();
        }
      }
    } finally {
      download.close();
    }
  }

  private async run(operation: Operation, round: number, download: RawConnection): Promise<void> {
    const variant = round % this.images.length;
    switch (operation) {
      case 'push-image':
        return this.pushImage(variant);
      case 'pull-image':
        return this.pullImage((variant * 7 + 3) % this.images.length, download);
      case 'tags-list': {
        const listed = await this.client.request('GET', `/v2/${repositoryOf(variant)}/tags/list`);
        expectStatus(listed, 200, `GET ${repositoryOf(variant)} tags`);
        this.bytesPulled += listed.body.length;
        return;
      }
      case 'push-large':
        return this.pushLarge(round % LARGE_BLOBS);
      case 'pull-large': {
        const held = [...this.largeHeld];
        return this.pullLarge(held[round % held.length] ?? 0, download);
      }
    }
  }

  private async pushImage(variant: number): Promise<void> {
    const image = this.images[variant] as Image;
    const repo = repositoryOf(variant);
    for (const b of [image.config, ...image.layers]) {
      await pushBlob(this.client, repo, b.bytes, b.digest);
      this.bytesPushed += b.bytes.length;
    }
    await putManifest(this.client, repo, tagOf(variant), image);
    this.bytesPushed += image.manifest.length;
  }

  private async pullImage(variant: number, download: RawConnection): Promise<void> {
    const image = this.images[variant] as Image;
    const repo = repositoryOf(variant);
    const manifest = await this.client.request('GET', `/v2/${repo}/manifests/${tagOf(variant)}`, { accept: MANIFEST_ACCEPT });
    expectStatus(manifest, 200, `GET ${repo}:${tagOf(variant)}`);
    this.bytesPulled += manifest.body.length;
    for (const b of [image.config, ...image.layers]) await this.pull(download, `/v2/${repo}/blobs/${b.digest}`, b.bytes.length);
  }

  private async pushLarge(seed: number): Promise<void> {
    await pushBlobStream(this.client, LARGE_REPO, blobChunks(seed, this.largeBytes), this.largeBytes, blobDigest(seed, this.largeBytes));
    this.largeHeld.add(seed);
    this.bytesPushed += this.largeBytes;
  }

  private pullLarge(seed: number, download: RawConnection): Promise<void> {
    return this.pull(download, `/v2/${LARGE_REPO}/blobs/${blobDigest(seed, this.largeBytes)}`, this.largeBytes);
  }

  private async pull(download: RawConnection, path: string, size: number): Promise<void> {
    const got = await download.request(buildRequest('GET', path, `127.0.0.1:${this.target.server.port}`));
    if (got.status !== 200) throw new Error(`GET ${path}: expected HTTP 200, got ${got.status}`);
    if (got.bodyBytes !== size) throw new Error(`GET ${path}: ${got.bodyBytes} bytes, expected ${size}`);
    this.bytesPulled += size;
  }

  result(): SoakSeries {
    const rss = this.samples.map((s) => s.rssMiB);
    const last = this.samples.at(-1)?.t ?? 0;
    return {
      name: this.target.name,
      samples: this.samples,
      slopeMiBPerHour: slopeFrom(this.samples, 0),
      secondHalfSlopeMiBPerHour: slopeFrom(this.samples, last / 2),
      startMiB: rss[0] ?? Number.NaN,
      peakMiB: Math.max(...rss),
      endMiB: rss.at(-1) ?? Number.NaN,
      operations: this.operations,
      bytesPushed: this.bytesPushed,
      bytesPulled: this.bytesPulled,
      errors: this.errors,
      firstError: this.firstError,
    };
  }
}

/** Runs the soak on all targets at once for `minutes`, sampling each one's RSS. */
export async function runSoak(targets: readonly Target[], options: BenchOptions, log: (message: string) => void): Promise<SoakResult> {
  const minutes = options.soakMinutes;
  const largeBlobBytes = Math.min(MAX_LARGE_BYTES, options.blobBytes);
  const sampleMs = Math.max(200, Math.min(SAMPLE_MS, (minutes * 60_000) / MIN_SAMPLES));
  const images = soakImages();
  for (let seed = 0; seed < LARGE_BLOBS; seed++) blobDigest(seed, largeBlobBytes);
  const runs = targets.map((target) => new SoakRun(target, images, largeBlobBytes));
  log(`soak: seeding ${IMAGE_VARIANTS} images and a ${format(largeBlobBytes / MiB)} MiB blob in ${targets.map((t) => t.name).join(', ')}`);
  await Promise.all(runs.map((run) => run.seed()));
  log(`soak: ${minutes} min of mixed pushes and pulls, ${WORKERS} loops per registry, RSS every ${sampleMs / 1000} s`);
  for (const target of targets) target.server.tree.refresh();
  const startedAt = performance.now();
  const deadline = startedAt + minutes * 60_000;
  const sampleAll = (): void => {
    for (const run of runs) run.sample(startedAt);
  };
  sampleAll();
  let ticks = 0;
  const timer = setInterval(() => {
    // Helper processes come and go rarely; look for them every tenth sample.
    if (++ticks % 10 === 0) for (const target of targets) target.server.tree.refresh();
    sampleAll();
    if (ticks % Math.max(1, Math.round(60_000 / sampleMs)) === 0) {
      const minute = ((performance.now() - startedAt) / 60_000).toFixed(0);
      log(`soak ${minute}/${minutes} min: ${runs.map((run) => `${run.target.name} ${format(run.samples.at(-1)?.rssMiB)} MiB`).join(', ')}`);
    }
  }, sampleMs);
  try {
    await Promise.all(runs.flatMap((run) => Array.from({ length: WORKERS }, (_, worker) => run.work(worker, deadline))));
  } finally {
    clearInterval(timer);
  }
  sampleAll();
  return { minutes, sampleMs, workers: WORKERS, largeBlobBytes, series: runs.map((run) => run.result()) };
}

/** The soak's table: Berth's column, then each reference's with the ratio Berth/reference of the peak. */
export function soakTable(result: SoakResult, references: readonly ReferenceRegistry[]): string {
  const berth = result.series.find((s) => s.name === 'berth');
  const others = references.flatMap((reference) => {
    const series = result.series.find((s) => s.name === reference.name);
    return series ? [{ reference, series }] : [];
  });
  const operations = (s: SoakSeries): number => Object.values(s.operations).reduce((sum, n) => sum + n, 0);
  const rows: [string, string, (s: SoakSeries) => string][] = [
    ['RSS slope, whole run', 'MiB/h', (s) => format(s.slopeMiBPerHour)],
    ['RSS slope, second half', 'MiB/h', (s) => format(s.secondHalfSlopeMiBPerHour)],
    ['peak RSS', 'MiB', (s) => format(s.peakMiB)],
    ['RSS at start / at end', 'MiB', (s) => `${format(s.startMiB)} / ${format(s.endMiB)}`],
    ['operations completed (every kind)', 'count', (s) => format(operations(s))],
    ['bytes pushed / pulled', 'GB', (s) => `${format(s.bytesPushed / 1e9)} / ${format(s.bytesPulled / 1e9)}`],
    ['failed operations', 'count', (s) => `${s.errors}`],
  ];
  const header = ['soak', 'unit', 'Berth', ...others.flatMap(({ reference }) => [reference.label, ratioHeading(reference, references)])];
  const body = rows.map(([name, unit, value]) => [
    name,
    unit,
    berth ? value(berth) : '-',
    ...others.flatMap(({ series }) => [
      value(series),
      // Only the peak has a meaningful ratio: slopes near zero or below it do not divide.
      name === 'peak RSS' && berth && series.peakMiB > 0 ? `${format(berth.peakMiB / series.peakMiB)}x` : '',
    ]),
  ]);
  const title =
    `soak: ${result.minutes} min of mixed pushes and pulls (images of 3 layers, ${format(result.largeBlobBytes / MiB)} MiB blobs), ` +
    `${result.workers} loops per registry, all registries at once; RSS of each process tree every ${result.sampleMs / 1000} s, ` +
    'slopes by least squares (the second half leaves out the warm-up)';
  const failures = result.series
    .filter((s) => s.errors > 0)
    .map((s) => {
      const name = s.name === 'berth' ? 'Berth' : (references.find((r) => r.name === s.name)?.label ?? s.name);
      return `(${name}'s first failed operation: ${s.firstError ?? ''})`;
    });
  return [title, table(header, body, new Set(header.map((_, i) => i).slice(2))), ...failures].join('\n');
}
