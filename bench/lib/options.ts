// Command-line options of `npm run bench`, with the sizes as defaults and smaller
// presets for validating the harness (--quick) and for the smoke test (--smoke).
import { parseArgs } from 'node:util';
import { MiB } from './blob-data.js';

export interface BenchOptions {
  readonly reps: number;
  readonly blobBytes: number;
  readonly chunkBytes: number;
  /** Measured window of each small-request run, after warmupMs. */
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly layers: number;
  readonly imageConcurrency: number;
  readonly catalogRepos: number;
  readonly tagCount: number;
  /** Manifests in the content of the gc- rows (about 5.5 blobs each besides the manifest). */
  readonly gcManifests: number;
  /** The large index of the growth- rows (lib/growth-workloads.ts); the small one is a hundredth. */
  readonly growthRepositories: number;
  readonly growthTags: number;
  /** Minutes of the soak (lib/soak-workloads.ts), which runs only when --only names it. */
  readonly soakMinutes: number;
  /**
   * bcrypt cost of the htpasswd entry behind the authenticated-pull rows: 10, as Distribution's
   * documentation uses (Apache's `htpasswd -B` defaults to 5); --smoke uses 4 so that the
   * reference, which runs bcrypt on every request, completes requests in a 0.5 s window.
   */
  readonly bcryptCost: number;
  /** Workload ids (or prefixes) to run; empty means all. */
  readonly only: readonly string[];
  readonly nginx: boolean;
  /**
   * Run Berth compiled to JavaScript, as `npm start` runs it (the default), rather than from
   * source through tsx (--tsx), whose loader stays resident and costs memory.
   */
  readonly compiled: boolean;
  /** --profile DIR: every Berth process writes a V8 CPU profile (.cpuprofile) into DIR when it stops. */
  readonly profile: string | undefined;
  readonly keep: boolean;
  readonly preset: 'full' | 'quick' | 'smoke';
  /**
   * --scale-out: instead of Berth vs reference, Berth's single-node default against 1, 2 and 3
   * replicas on S3 (Ceph RGW) + PostgreSQL behind nginx (bench/lib/scale-out.ts). Its blob size
   * is blobBytes, 16 MiB unless --blob-mib is given.
   */
  readonly scaleOut: boolean;
  /** Where to write the JSON results. */
  readonly output: string | undefined;
  /**
   * The reference registries to compare with (--reference, repeatable), each a path or a command
   * on PATH; `docker-registry` (Debian's Distribution 2.8) unless given. Every row then has one
   * column, ratio and verdict per reference.
   */
  readonly references: readonly string[];
}

export const usage = `Usage: npm run bench -- [options]

  --reference PATH    the reference registry binary (CNCF Distribution), e.g.
                      ../shared/reference/distribution-registry-3.0.0; give it twice to compare
                      with both side by side (default: docker-registry on PATH, Debian's 2.8)
  --reps N            repetitions of every workload, alternating Berth and reference (default 5)
  --blob-mib N        size of the large blob pulled and pushed, in MiB (default 512)
  --chunk-mib N       PATCH size of the chunked push, in MiB (default 16)
  --duration S        measured seconds per small-request run (default 3), after a 0.5 s warm-up
  --layers N          layers of the image-shaped push and pull (default 200)
  --catalog-repos N   repositories in the catalog walk (default 2000)
  --tags N            tags in the tag-list walk (default 1000)
  --gc-manifests N    manifests in the gc- rows' content, with about 5.5 small blobs each
                      (default 10000; --quick 1000, --smoke 60)
  --growth-repos N    repositories in the large index of the growth- rows (default 100000; --quick
                      10000, --smoke 400); the small index holds a hundredth
  --growth-tags N     tags in that index (default 1000000; --quick 100000, --smoke 4000)
  --bcrypt-cost N     bcrypt cost of the htpasswd entry of the auth- rows (default 10; --smoke 4)
  --only A,B          run only workloads whose id starts with A or B (ids: see bench/README.md);
                      the growth- rows run only when named (--only growth), on their own;
                      the soak only when named (--only soak)
  --soak-minutes N    minutes of the soak's mixed pushes and pulls (default 30); its large
                      blobs are --blob-mib, at most 64 MiB
  --no-nginx          skip the static-file limit (nginx)
  --tsx               run Berth from source through tsx instead of compiled with tsc (the default,
                      as \`npm start\` runs dist/); tsx's loader adds about 45 MiB of memory
  --profile DIR       write a CPU profile of every Berth process into DIR (node --cpu-prof); read
                      it with bench/profile-summary.ts or a flame graph viewer
  --quick             small sizes and one repetition, to check the harness (numbers are rough)
  --smoke             tiny sizes, one repetition: seconds, for the test suite
  --scale-out         instead: Berth single-node (filesystem + SQLite) against 1, 2 and 3 replicas
                      on S3 (Ceph RGW) + PostgreSQL behind nginx round-robin (about 2 minutes;
                      8 x 16 MiB blobs unless --blob-mib, manifest GETs at c=32; see bench/README.md)
  --keep              also copy the results to bench/results/<date>.json
  --output FILE       write the JSON results here instead of bench/results/latest.json
  --help              this text
`;

export function parseOptions(argv: readonly string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      reps: { type: 'string' },
      'blob-mib': { type: 'string' },
      'chunk-mib': { type: 'string' },
      duration: { type: 'string' },
      layers: { type: 'string' },
      'catalog-repos': { type: 'string' },
      tags: { type: 'string' },
      'bcrypt-cost': { type: 'string' },
      'gc-manifests': { type: 'string' },
      'growth-repos': { type: 'string' },
      'growth-tags': { type: 'string' },
      'soak-minutes': { type: 'string' },
      only: { type: 'string' },
      'no-nginx': { type: 'boolean', default: false },
      // Accepted for older command lines: compiled is the default now.
      compiled: { type: 'boolean', default: false },
      tsx: { type: 'boolean', default: false },
      profile: { type: 'string' },
      quick: { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      'scale-out': { type: 'boolean', default: false },
      output: { type: 'string' },
      reference: { type: 'string', multiple: true },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const preset = values.smoke ? 'smoke' : values.quick ? 'quick' : 'full';
  const defaults = {
    full: {
      reps: 5,
      blobMiB: 512,
      duration: 3,
      warmupMs: 500,
      layers: 200,
      catalogRepos: 2000,
      tags: 1000,
      bcryptCost: 10,
      gcManifests: 10_000,
      growthRepositories: 100_000,
      growthTags: 1_000_000,
    },
    quick: {
      reps: 1,
      blobMiB: 64,
      duration: 1,
      warmupMs: 250,
      layers: 50,
      catalogRepos: 300,
      tags: 200,
      bcryptCost: 10,
      gcManifests: 1000,
      growthRepositories: 10_000,
      growthTags: 100_000,
    },
    // 0.5 s windows: at 0.2 s a small-request row on a loaded machine could end with no clock
    // tick of server CPU (10 ms) counted, which the smoke test reads as a wrong process tree.
    smoke: {
      reps: 1,
      blobMiB: 4,
      duration: 0.5,
      warmupMs: 50,
      layers: 5,
      catalogRepos: 12,
      tags: 12,
      bcryptCost: 4,
      gcManifests: 60,
      growthRepositories: 400,
      growthTags: 4000,
    },
  }[preset];
  const number = (name: string, text: string | undefined, fallback: number, min: number): number => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value < min) throw new Error(`--${name} must be a number >= ${min}, got ${JSON.stringify(text)}`);
    return value;
  };
  const integer = (name: string, text: string | undefined, fallback: number, min: number): number => {
    const value = number(name, text, fallback, min);
    if (!Number.isInteger(value)) throw new Error(`--${name} must be a whole number, got ${JSON.stringify(text)}`);
    return value;
  };
  const scaleOut = values['scale-out'];
  // --scale-out pushes and pulls 8 blobs at once: 16 MiB each keeps the run near 2 minutes.
  const blobMiB = number('blob-mib', values['blob-mib'], scaleOut ? (preset === 'smoke' ? 1 : 16) : defaults.blobMiB, 1 / 1024);
  return {
    reps: integer('reps', values.reps, scaleOut ? 1 : defaults.reps, 1),
    blobBytes: Math.round(blobMiB * MiB),
    chunkBytes: Math.round(number('chunk-mib', values['chunk-mib'], 16, 1 / 1024) * MiB),
    durationMs: Math.round(number('duration', values.duration, defaults.duration, 0.05) * 1000),
    warmupMs: defaults.warmupMs,
    layers: integer('layers', values.layers, defaults.layers, 1),
    imageConcurrency: 8,
    catalogRepos: integer('catalog-repos', values['catalog-repos'], defaults.catalogRepos, 1),
    tagCount: integer('tags', values.tags, defaults.tags, 1),
    gcManifests: integer('gc-manifests', values['gc-manifests'], defaults.gcManifests, 3),
    growthRepositories: integer('growth-repos', values['growth-repos'], defaults.growthRepositories, 1),
    growthTags: integer('growth-tags', values['growth-tags'], defaults.growthTags, 1),
    soakMinutes: number('soak-minutes', values['soak-minutes'], 30, 0.05),
    bcryptCost: integer('bcrypt-cost', values['bcrypt-cost'], defaults.bcryptCost, 4),
    only: (values.only ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    nginx: !values['no-nginx'],
    compiled: !values.tsx,
    profile: values.profile,
    keep: values.keep,
    preset,
    scaleOut,
    output: values.output,
    references: values.reference && values.reference.length > 0 ? values.reference : ['docker-registry'],
  };
}
