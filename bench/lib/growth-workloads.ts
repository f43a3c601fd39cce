// Costs as the registry grows (issue 20, goal 5): the same requests against Berth holding a small
// index and a large one (100,000 repositories and 1,000,000 tags by default), on SQLite and on
// PostgreSQL, so that the table shows whether each stays flat. A request that reads one page or
// one row should cost the same whatever the index holds; one that grows with it has a missing
// index, OFFSET paging, a COUNT(*) or a scan somewhere.
//
// Opt-in (`npm run bench -- --only growth`): filling the large index takes minutes. Pushing a
// million tags over HTTP would take hours, so each index is filled in bulk: a Berth pushes one
// small image to `growth/big` through the API (real blob files, real rows), stops, and the rows
// of that repository (its repository, manifest, references, blob links and tag) are copied under
// new names straight into the database through Kysely, in one transaction, as many times as the
// size asks. Every repository then holds the same manifest, whose bytes are in the blob store
// once, so a manifest GET anywhere is answered as after a real push. `growth/big` gets a tenth of
// the tags (the large repository whose tag list is paged); the rest are spread over the other
// repositories. PostgreSQL then runs ANALYZE, as its autovacuum would after such a fill.
//
// Rows (ids for --only): growth-startup (spawn to the first 200 on /v2/, a fresh process each
// time), growth-manifest-get (by tag, in a repository in the middle), growth-tags-first and
// growth-tags-deep (`growth/big`'s tag list, n=100: the first page and the last, asked with
// `last=`), growth-catalog-first and growth-catalog-deep (the catalog, likewise), and the web
// UI's first page of repositories by name and by last push (growth-ui-repositories-by-...).
// Each request row is a closed loop on one connection (`--duration`, after the warm-up): p50,
// p99 and the server's CPU per request (Berth's processes: PostgreSQL's own CPU is not counted).
// Sizes alternate within every repetition; the verdict asks large / small of the p50 and the CPU
// to stay within FLAT.
import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Insertable, type Kysely, sql } from 'kysely';
import { openPostgres } from '../../src/metadata/postgres.js';
import type { Database } from '../../src/metadata/schema.js';
import { openSqlite } from '../../src/metadata/sqlite.js';
import { freePort } from '../../test/helpers/ports.js';
import { startPostgres, type TestPostgres } from '../../test/helpers/postgres.js';
import { HttpClient, expectStatus } from './http-client.js';
import { buildRequest, runLoad } from './load-client.js';
import type { BenchOptions } from './options.js';
import { ProcessTree } from './proc-stats.js';
import { MANIFEST_ACCEPT, pushImage, smallImage } from './registry-ops.js';
import { format } from './report.js';
import { BERTH_NODE_FLAGS, berthEntry, berthEnv, registryYaml, startBerth, type ServerProcess } from './servers.js';
import { summarize } from './stats.js';
import { Meter } from './workload.js';

/** The repository pushed through the API, whose rows every other repository copies; it holds a tenth of the tags. */
const BIG_REPOSITORY = 'growth/big';
const PAGE = 100;
/** The verdict's bound on large / small: flat within the noise of a shared 2-core machine. */
const FLAT = 1.5;
/** Rows per INSERT: SQLite takes at most 32,766 parameters per statement, PostgreSQL 65,535. */
const PARAMETERS_PER_STATEMENT = 30_000;

const repositoryName = (i: number): string => `growth/r${String(i).padStart(6, '0')}`;
const bigTag = (j: number): string => `t${String(j).padStart(7, '0')}`;

/** One index size: how many repositories and tags in all, and how many tags `growth/big` holds. */
export interface GrowthSize {
  readonly label: 'small' | 'large';
  readonly repositories: number;
  readonly tags: number;
  readonly bigTags: number;
}

/** The large size of the options and the small one, a hundredth of it. */
export function growthSizes(options: BenchOptions): readonly [GrowthSize, GrowthSize] {
  // Every listing needs a full page at its far end, and every repository at least one tag.
  const size = (label: GrowthSize['label'], repositories: number, tags: number): GrowthSize => {
    const bigTags = Math.max(PAGE * 2, Math.round(tags / 10));
    return { label, repositories, tags: Math.max(tags, bigTags + repositories - 1), bigTags };
  };
  const large = size('large', Math.max(PAGE * 2, options.growthRepositories), options.growthTags);
  const small = size('small', Math.max(PAGE * 2, Math.round(large.repositories / 100)), Math.round(large.tags / 100));
  return [small, large];
}

/** Where each repository's tags go: `growth/big` gets bigTags, the others the rest, spread evenly. */
function tagsOf(size: GrowthSize, repository: number): number {
  const others = size.repositories - 1;
  const rest = size.tags - size.bigTags;
  return Math.floor(rest / others) + (repository <= rest % others ? 1 : 0);
}

type DatabaseKind = 'SQLite' | 'PostgreSQL';

/** A Berth over one filled index. */
interface GrowthTarget {
  readonly key: string;
  readonly database: DatabaseKind;
  readonly size: GrowthSize;
  readonly dir: string;
  /** BERTH_ settings of this Berth (the PostgreSQL URL). */
  readonly env: Readonly<Record<string, string>>;
  /** The database, as the fill opens it. */
  readonly open: () => Kysely<Database>;
  fillSeconds?: number;
  server?: ServerProcess;
}

/** Copies `rows` into `table` in as few statements as the parameter limit allows. */
async function insertAll<T extends keyof Database>(
  db: Kysely<Database>,
  table: T,
  rows: readonly Insertable<Database[T]>[],
): Promise<void> {
  const first = rows[0];
  if (first === undefined) return;
  const perStatement = Math.max(1, Math.floor(PARAMETERS_PER_STATEMENT / Object.keys(first).length));
  for (let i = 0; i < rows.length; i += perStatement) {
    // Kysely cannot follow a table chosen by a type parameter; the rows are that table's.
    await db
      .insertInto(table)
      .values(rows.slice(i, i + perStatement) as never)
      .execute();
  }
}

/**
 * Copies the rows of BIG_REPOSITORY (pushed through the API) under new repository names, and
 * gives every repository its tags, in one transaction. Returns the rows written per table.
 */
async function fillIndex(db: Kysely<Database>, size: GrowthSize): Promise<Record<string, number>> {
  const seedManifest = await db.selectFrom('manifests').selectAll().where('repository', '=', BIG_REPOSITORY).executeTakeFirstOrThrow();
  const seedReferences = await db.selectFrom('manifest_references').selectAll().where('repository', '=', BIG_REPOSITORY).execute();
  const seedLinks = await db.selectFrom('repository_blobs').selectAll().where('repository', '=', BIG_REPOSITORY).execute();
  const now = Date.now();
  /** Tag push times one second apart, so that "newest push first" has an order to follow. */
  const pushedAt = (n: number): string => new Date(now - n * 1000).toISOString();
  const written: Record<string, number> = { repositories: 0, manifests: 0, manifest_references: 0, repository_blobs: 0, tags: 0 };
  const count = (table: string, n: number): void => {
    written[table] = (written[table] ?? 0) + n;
  };
  let tagClock = 0;
  await db.transaction().execute(async (trx) => {
    // growth/big already holds `latest`.
    const bigTags = Array.from({ length: size.bigTags - 1 }, (_, j) => ({
      repository: BIG_REPOSITORY,
      name: bigTag(j),
      manifest_digest: seedManifest.digest,
      updated_at: pushedAt(tagClock++),
      last_pulled_at: null,
    }));
    await insertAll(trx, 'tags', bigTags);
    count('tags', bigTags.length);
    const batch = 1000;
    for (let from = 1; from < size.repositories; from += batch) {
      const names = Array.from({ length: Math.min(batch, size.repositories - from) }, (_, k) => from + k);
      const repositories = names.map((i) => ({ name: repositoryName(i), created_at: pushedAt(i) }));
      const manifests = names.map((i) => ({ ...seedManifest, repository: repositoryName(i) }));
      const references = names.flatMap((i) => seedReferences.map((row) => ({ ...row, repository: repositoryName(i) })));
      const links = names.flatMap((i) => seedLinks.map((row) => ({ ...row, repository: repositoryName(i) })));
      const tags = names.flatMap((i) =>
        Array.from({ length: tagsOf(size, i) }, (_, v) => ({
          repository: repositoryName(i),
          name: `v${v}`,
          manifest_digest: seedManifest.digest,
          updated_at: pushedAt(tagClock++),
          last_pulled_at: null,
        })),
      );
      await insertAll(trx, 'repositories', repositories);
      await insertAll(trx, 'manifests', manifests);
      await insertAll(trx, 'manifest_references', references);
      await insertAll(trx, 'repository_blobs', links);
      await insertAll(trx, 'tags', tags);
      count('repositories', repositories.length);
      count('manifests', manifests.length);
      count('manifest_references', references.length);
      count('repository_blobs', links.length);
      count('tags', tags.length);
    }
  });
  return written;
}

/** Pushes the seed image through a Berth of its own, then fills the index behind its back. */
async function prepare(target: GrowthTarget, options: BenchOptions, log: (message: string) => void): Promise<void> {
  const seeding = await startBerth(target.dir, options, target.env);
  const client = new HttpClient(seeding.url);
  try {
    await pushImage(client, BIG_REPOSITORY, 'latest', smallImage);
  } finally {
    client.close();
    await seeding.stop();
  }
  const started = performance.now();
  const db = target.open();
  try {
    const written = await fillIndex(db, target.size);
    if (target.database === 'PostgreSQL') await sql`analyze`.execute(db);
    target.fillSeconds = (performance.now() - started) / 1000;
    log(`growth: ${target.key} filled in ${target.fillSeconds.toFixed(1)} s: ${JSON.stringify(written)}`);
  } finally {
    await db.destroy();
  }
}

/** Whether GET `path` answers 200 now. */
function answers(port: number, path: string): Promise<boolean> {
  return new Promise((resolveAnswer) => {
    const request = http.get({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      response.resume();
      response.once('end', () => resolveAnswer(response.statusCode === 200));
    });
    request.once('error', () => resolveAnswer(false));
  });
}

/**
 * Start-up time: from spawning `berth serve` on the filled index (a port of its own, the same
 * configuration otherwise) to its first 200 on /v2/, polled every 5 ms; and the CPU it used by
 * then. The process is then stopped by its PID.
 */
async function timeStartup(target: GrowthTarget, options: BenchOptions): Promise<{ seconds: number; cpuSeconds: number }> {
  const port = await freePort();
  const configFile = join(target.dir, 'startup.yml');
  await writeFile(configFile, registryYaml(port, join(target.dir, 'data')));
  const started = performance.now();
  const child = spawn(process.execPath, [...BERTH_NODE_FLAGS, ...berthEntry(options), 'serve', '--config', configFile], {
    env: { ...berthEnv(), ...target.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const errors: Buffer[] = [];
  child.stderr?.on('data', (chunk: Buffer) => void errors.push(chunk));
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`berth exited before answering on port ${port}: ${Buffer.concat(errors).toString().slice(-2000)}`);
      if (await answers(port, '/v2/')) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const seconds = (performance.now() - started) / 1000;
    const tree = new ProcessTree(child.pid ?? -1);
    tree.refresh();
    return { seconds, cpuSeconds: tree.cpuSeconds() };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

/** A request row: the path it asks for on a target, and how many entries a page of it must hold. */
interface RequestRow {
  readonly id: string;
  readonly title: string;
  readonly path: (size: GrowthSize) => string;
  readonly headers?: Readonly<Record<string, string>>;
  /** The JSON list a page answers with, checked before the row is timed. */
  readonly page?: 'tags' | 'repositories';
}

const requestRows: readonly RequestRow[] = [
  {
    id: 'growth-manifest-get',
    title: 'manifest GET by tag',
    path: (size) => `/v2/${repositoryName(Math.floor(size.repositories / 2))}/manifests/v0`,
    headers: { Accept: MANIFEST_ACCEPT },
  },
  { id: 'growth-tags-first', title: `tags list of ${BIG_REPOSITORY}, first page (n=${PAGE})`, path: () => tagsPage(), page: 'tags' },
  {
    id: 'growth-tags-deep',
    // Its tags are `latest` then t0000000...: the last full page follows the tag PAGE + 1 from the end.
    title: `tags list of ${BIG_REPOSITORY}, last page`,
    path: (size) => tagsPage(bigTag(size.bigTags - 2 - PAGE)),
    page: 'tags',
  },
  { id: 'growth-catalog-first', title: `catalog, first page (n=${PAGE})`, path: () => catalogPage(), page: 'repositories' },
  {
    id: 'growth-catalog-deep',
    // `growth/big`, then growth/r000001...: the last full page follows the name PAGE + 1 from the end.
    title: 'catalog, last page',
    path: (size) => catalogPage(repositoryName(size.repositories - 1 - PAGE)),
    page: 'repositories',
  },
  // The web UI's repository list: by name a page reads a key range; by last push it has no index (repository-summaries.ts).
  {
    id: 'growth-ui-repositories-by-name',
    title: `web UI repository list by name (n=${PAGE})`,
    path: () => `/api/v1/repositories?n=${PAGE}`,
    page: 'repositories',
  },
  {
    id: 'growth-ui-repositories-by-last-push',
    title: `web UI repository list by last push (n=${PAGE})`,
    path: () => `/api/v1/repositories?sort=last-push&n=${PAGE}`,
    page: 'repositories',
  },
];

function tagsPage(last?: string): string {
  return `/v2/${BIG_REPOSITORY}/tags/list?n=${PAGE}${last === undefined ? '' : `&last=${encodeURIComponent(last)}`}`;
}

function catalogPage(last?: string): string {
  return `/v2/_catalog?n=${PAGE}${last === undefined ? '' : `&last=${encodeURIComponent(last)}`}`;
}

/** Asks once, untimed: the row must answer 200 and, for a page, a full page. */
async function checkRow(row: RequestRow, target: GrowthTarget, server: ServerProcess): Promise<void> {
  const client = new HttpClient(server.url);
  try {
    const path = row.path(target.size);
    const response = await client.request('GET', path, row.headers ?? {});
    expectStatus(response, 200, `${target.key}: GET ${path}`);
    if (row.page !== undefined) {
      const list = (JSON.parse(response.body.toString('utf8')) as Record<string, unknown>)[row.page];
      if (!Array.isArray(list) || list.length !== PAGE)
        throw new Error(`${target.key}: GET ${path} answered ${Array.isArray(list) ? list.length : 'no'} ${row.page}, expected ${PAGE}`);
    }
  } finally {
    client.close();
  }
}

/** Per repetition: p50, p99 and requests/s of one connection's closed loop, and server CPU per request. */
async function measureRow(
  row: RequestRow,
  target: GrowthTarget,
  server: ServerProcess,
  options: BenchOptions,
): Promise<Record<string, number>> {
  const meter = new Meter(server.tree);
  const result = await runLoad({
    host: '127.0.0.1',
    port: server.port,
    concurrency: 1,
    request: buildRequest('GET', row.path(target.size), `127.0.0.1:${server.port}`, row.headers ?? {}),
    head: false,
    expectStatus: 200,
    warmupMs: options.warmupMs,
    durationMs: options.durationMs,
    onWindowStart: () => meter.begin(),
    onWindowEnd: () => void meter.end(),
  });
  if (result.errors > 0) throw new Error(`${row.id} on ${target.key}: ${result.errors} errors, first: ${result.firstError}`);
  return {
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    rps: result.requestsPerSecond,
    cpuMsPerRequest: (meter.window.serverCpuSeconds * 1000) / Math.max(1, result.requests),
  };
}

/** What is printed per row: the metric, its unit, its label under the row's title. */
interface PrintedMetric {
  readonly key: string;
  readonly unit: string;
  readonly label: string;
  /** Whether large / small gets a verdict (p99 on one connection of a shared machine is too noisy for one). */
  readonly judged: boolean;
}
const printed: readonly PrintedMetric[] = [
  { key: 'p50Ms', unit: 'ms', label: 'p50', judged: true },
  { key: 'p99Ms', unit: 'ms', label: 'p99', judged: false },
  { key: 'cpuMsPerRequest', unit: 'CPU-ms', label: 'server CPU per request', judged: true },
];
const startupPrinted: readonly PrintedMetric[] = [
  { key: 'seconds', unit: 's', label: 'to the first answer', judged: true },
  { key: 'cpuSeconds', unit: 'CPU-s', label: 'CPU by then', judged: true },
];

type Values = Record<string, Record<string, Record<string, number[]>>>;

function record(values: Values, rowId: string, target: GrowthTarget, metrics: Record<string, number>): void {
  const row = values[rowId] ?? {};
  values[rowId] = row;
  const cell = row[target.key] ?? {};
  row[target.key] = cell;
  for (const [key, value] of Object.entries(metrics)) cell[key] = [...(cell[key] ?? []), value];
}

/** The printed table: per row and metric, each database's small and large medians and large / small against FLAT. */
function growthTable(values: Values, targets: readonly GrowthTarget[], rows: readonly { id: string; title: string }[]): string {
  const databases = [...new Set(targets.map((t) => t.database))];
  const header = ['row', ...databases.flatMap((d) => [`${d} small`, `${d} large`, 'L/S', 'flat']), 'unit'];
  const lines: string[][] = [];
  const median = (rowId: string, target: GrowthTarget | undefined, metric: string): number | undefined =>
    target === undefined ? undefined : summarize(values[rowId]?.[target.key]?.[metric] ?? [])?.median;
  for (const row of rows) {
    const metrics = row.id === 'growth-startup' ? startupPrinted : printed;
    for (const [index, metric] of metrics.entries()) {
      const cells = [index === 0 ? `${row.title}: ${metric.label}` : `  ${metric.label}`];
      for (const database of databases) {
        const small = median(
          row.id,
          targets.find((t) => t.database === database && t.size.label === 'small'),
          metric.key,
        );
        const large = median(
          row.id,
          targets.find((t) => t.database === database && t.size.label === 'large'),
          metric.key,
        );
        const ratio = small !== undefined && large !== undefined && small > 0 ? large / small : undefined;
        cells.push(
          format(small),
          format(large),
          ratio === undefined ? '-' : `${format(ratio)}x`,
          ratio === undefined || !metric.judged ? '' : ratio <= FLAT ? 'ok' : 'GROWS',
        );
      }
      cells.push(metric.unit);
      lines.push(cells);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...lines.map(line)].join('\n');
}

/** Whether a growth row is selected by --only (the rows are opt-in: a run without --only has none). */
export function growthSelected(options: BenchOptions, id: string): boolean {
  return options.only.some((prefix) => id.startsWith(prefix));
}

/** True when --only names growth rows: they run on their own (runGrowth), not beside the comparison rows. */
export function wantsGrowth(options: BenchOptions): boolean {
  return options.only.some((prefix) => prefix.startsWith('growth'));
}

/**
 * `--only growth...`: fills the indexes, times start-up, then every selected request row, and
 * prints the table; writes bench/results/growth-latest.json (or --output). Returns the exit code.
 * `onInterrupt` is given what stops its servers, for SIGINT and SIGTERM.
 */
export async function runGrowth(
  options: BenchOptions,
  benchDir: string,
  log: (message: string) => void,
  onInterrupt: (stop: () => Promise<void>) => void,
): Promise<number> {
  const dir = join(tmpdir(), `berth-bench-growth-${process.pid}`);
  await mkdir(dir, { recursive: true });
  const sizes = growthSizes(options);
  let postgres: TestPostgres | undefined;
  const targets: GrowthTarget[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.allSettled(targets.map((t) => t.server?.stop()));
    await postgres?.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  onInterrupt(stopAll);
  try {
    postgres = await startPostgres();
    for (const database of ['SQLite', 'PostgreSQL'] as const) {
      for (const size of sizes) {
        const key = `${database} ${size.label}`;
        const targetDir = join(dir, `${database.toLowerCase()}-${size.label}`);
        if (database === 'SQLite') {
          const path = join(targetDir, 'data', 'berth.db');
          targets.push({ key, database, size, dir: targetDir, env: {}, open: () => openSqlite(path) });
        } else {
          const url = await postgres.createDatabase();
          targets.push({ key, database, size, dir: targetDir, env: { BERTH_METADATA_POSTGRES_URL: url }, open: () => openPostgres(url) });
        }
      }
    }
    for (const size of sizes)
      log(`growth: ${size.label}: ${size.repositories} repositories, ${size.tags} tags (${size.bigTags} in ${BIG_REPOSITORY})`);
    for (const target of targets) await prepare(target, options, log);

    const values: Values = {};
    const rows: { id: string; title: string }[] = [];
    if (growthSelected(options, 'growth-startup')) {
      rows.push({ id: 'growth-startup', title: 'start-up (spawn to the first 200 on /v2/)' });
      for (let rep = 0; rep < options.reps; rep++) {
        for (const target of targets) {
          const startup = await timeStartup(target, options);
          record(values, 'growth-startup', target, startup);
          log(`growth-startup ${rep + 1}/${options.reps} ${target.key}: ${startup.seconds.toFixed(3)} s`);
        }
      }
    }
    const selectedRows = requestRows.filter((row) => growthSelected(options, row.id));
    if (selectedRows.length > 0) {
      for (const target of targets) target.server = await startBerth(target.dir, options, target.env);
    }
    for (const row of selectedRows) {
      rows.push(row);
      for (const target of targets) if (target.server) await checkRow(row, target, target.server);
      for (let rep = 0; rep < options.reps; rep++) {
        for (const target of targets) {
          if (!target.server) continue;
          const metrics = await measureRow(row, target, target.server, options);
          record(values, row.id, target, metrics);
          log(`${row.id} ${rep + 1}/${options.reps} ${target.key}: p50 ${metrics.p50Ms?.toFixed(3)} ms`);
        }
      }
    }

    const title =
      `Berth as the index grows: small = ${sizes[0].repositories} repositories / ${sizes[0].tags} tags, ` +
      `large = ${sizes[1].repositories} / ${sizes[1].tags} (${sizes[1].bigTags} tags in ${BIG_REPOSITORY}); ` +
      `${options.reps} repetition${options.reps === 1 ? '' : 's'}, one connection; L/S = large / small, flat when <= ${FLAT}x`;
    const table = [title, growthTable(values, targets, rows)].join('\n');
    process.stdout.write(`\n${table}\n`);
    const output = options.output ?? join(benchDir, 'results', 'growth-latest.json');
    await mkdir(resolve(output, '..'), { recursive: true });
    const document = {
      schema: 'berth-bench-growth/1',
      options,
      sizes,
      fillSeconds: Object.fromEntries(targets.map((t) => [t.key, t.fillSeconds])),
      values,
      table,
    };
    await writeFile(output, `${JSON.stringify(document, null, 2)}\n`);
    log(`\nresults written to ${output}`);
    return 0;
  } finally {
    await stopAll();
  }
}
