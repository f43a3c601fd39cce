// `berth import distribution PATH-OR-CONFIG`: brings a CNCF Distribution registry's storage
// (registry:2, registry:3, Debian's docker-registry) into Berth: registry/import/ does the work;
// import-source.ts finds the tree (a folder, or Distribution's config.yml naming a folder or an
// S3 bucket); this file opens Berth's storage and metadata from Berth's configuration, checks
// that an in-place import really shares the blobs, and shows progress and the summary.
import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { loadConfig, type Config } from '../../config/index.js';
import { MetadataStore, openSqlite, type MetadataDatabase } from '../../metadata/index.js';
import { DistributionImporter, type ImportProgress, type ImportSummary } from '../../registry/import/distribution-import.js';
import { DISTRIBUTION_BASE, DistributionTree } from '../../registry/import/distribution-tree.js';
import { openStorage } from '../../server/build-app.js';
import { CliError, run } from './cli-error.js';
import { normalizeS3Root, openDistributionSource, type DistributionSource } from './import-source.js';

/** Exit status of a run that finished but left something out (each named in the summary). */
export const EXIT_WITH_PROBLEMS = 3;

interface ImportCommandOptions {
  config?: string;
  inPlace?: boolean;
  verify?: boolean;
  restart?: boolean;
}

export function registerImportCommand(program: Command): void {
  const command = program.command('import').description('bring another registry’s data into Berth');
  command
    .command('distribution')
    .description(
      'import a CNCF Distribution (registry:2/registry:3, docker-registry) storage tree: every repository, tag, manifest ' +
        '(byte for byte, same digests) and blob link. PATH-OR-CONFIG is the folder Distribution stores in (its ' +
        'storage.filesystem.rootdirectory, holding docker/registry/v2) or its config.yml (filesystem or S3). Stop pushes ' +
        'to Distribution first. Resumable: run it again after an interruption.',
    )
    .argument('<path-or-config>', 'Distribution’s root directory, or its config.yml')
    .option('-c, --config <file>', 'Berth’s configuration (env: BERTH_CONFIG; default: data in ./data)')
    .option(
      '--in-place',
      'copy no bytes: Berth reads the blobs where Distribution put them (Berth’s storage root must be <root>/docker/registry/v2)',
    )
    .option('--verify', 'in place: hash every blob and compare with its digest (copying always does)')
    .option('--restart', 'import every repository again, even those an interrupted run finished')
    .action(
      run('import distribution', async (pathOrConfig: string, options: ImportCommandOptions) => {
        const summary = await importDistribution(pathOrConfig, options);
        console.log(formatSummary(summary));
        if (summary.problems.length > 0) process.exitCode = EXIT_WITH_PROBLEMS;
      }),
    );
}

async function importDistribution(pathOrConfig: string, options: ImportCommandOptions): Promise<ImportSummary> {
  const source = await openDistributionSource(pathOrConfig);
  const berth = await loadConfig({ ...(options.config !== undefined ? { file: options.config } : {}), env: process.env });
  const mode = options.inPlace ? 'in-place' : 'copy';
  if (mode === 'in-place') assertSharesBlobs(source, berth);
  const tree = new DistributionTree(source.storage);
  if (!(await tree.exists()))
    throw new CliError(`no Distribution storage at ${source.description} (no ${DISTRIBUTION_BASE}/repositories or blobs)`);
  const target = await openStorage(berth);
  const db = await openMetadata(berth);
  const metadata = new MetadataStore(db);
  const progress = await progressReporter(process.stderr);
  const abort = new AbortController();
  const onSignal = (): void => abort.abort(new CliError('interrupted; run the same command again to resume'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await metadata.migrate();
    const importer = new DistributionImporter(tree, target, metadata, {
      mode,
      verify: options.verify ?? false,
      sourceId: createHash('sha256').update(`${mode} ${source.description}`).digest('hex').slice(0, 16),
      restart: options.restart,
      indexChildren: berth.validation.manifests.indexes,
      onProgress: progress.update,
      signal: abort.signal,
    });
    return await importer.run();
  } catch (error) {
    if (abort.signal.aborted) throw abort.signal.reason;
    throw error;
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await metadata.close().catch(() => undefined);
  }
}

async function openMetadata(config: Config): Promise<MetadataDatabase> {
  const postgres = config.metadata.postgres;
  if (postgres) {
    const { openPostgres } = await import('../../metadata/postgres.js');
    return openPostgres(postgres.url, { max: 4, statementTimeoutMs: postgres.statementTimeoutMs });
  }
  return openSqlite(config.metadata.sqlite.path);
}

/**
 * In place, Berth must read blobs/ from Distribution's docker/registry/v2 folder: its storage
 * root must be that folder (same bucket and endpoint on S3). Anything else would index blobs
 * Berth cannot find.
 */
function assertSharesBlobs(source: DistributionSource, berth: Config): void {
  const wanted = source.inPlaceRoot;
  const s3 = berth.storage.s3;
  if (wanted.kind === 'filesystem') {
    const actual = resolve(berth.storage.filesystem.rootdirectory);
    if (!s3 && actual === wanted.path) return;
    throw new CliError(
      `--in-place needs Berth's storage.filesystem.rootdirectory to be ${wanted.path} (Distribution's blobs); ` +
        `Berth's configuration has ${s3 ? `s3 bucket ${s3.bucket}` : actual}`,
    );
  }
  const actual = s3 && { bucket: s3.bucket, endpoint: s3.regionendpoint, root: normalizeS3Root(s3.rootdirectory ?? '') };
  if (actual && actual.bucket === wanted.s3.bucket && actual.endpoint === wanted.s3.endpoint && actual.root === wanted.s3.root) return;
  throw new CliError(
    `--in-place needs Berth's storage.s3 to be bucket ${wanted.s3.bucket} with rootdirectory /${wanted.s3.root}` +
      `${wanted.s3.endpoint ? ` at ${wanted.s3.endpoint}` : ''} (Distribution's blobs); Berth's configuration has ` +
      `${actual ? `bucket ${actual.bucket} rootdirectory /${actual.root}` : `filesystem ${berth.storage.filesystem.rootdirectory}`}`,
  );
}

const MiB = 1024 * 1024;
const mib = (bytes: number): string => (bytes / MiB).toFixed(1);

/** Progress on stderr: a bar (cli-progress) on a terminal, else a line at most every 5 seconds. */
async function progressReporter(stream: NodeJS.WriteStream): Promise<{ update: (progress: ImportProgress) => void; stop: () => void }> {
  const detail = (p: ImportProgress): string =>
    `${p.repositoriesDone}/${p.repositoriesTotal} repositories, ${p.blobs} blobs, ${mib(p.bytes)} MiB, ${p.problems} problems` +
    `${p.current ? ` | ${p.current}` : ''}`;
  if (stream.isTTY) {
    // Loaded here, not by every `berth serve`.
    const { default: cliProgress } = await import('cli-progress');
    const bar = new cliProgress.SingleBar(
      { stream, format: 'import [{bar}] {percentage}% | {detail}', hideCursor: true, clearOnComplete: false },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(progress) {
        const total = Math.max(progress.repositoriesTotal, 1);
        if (!started) {
          started = true;
          bar.start(total, progress.repositoriesDone, { detail: detail(progress) });
        } else {
          bar.setTotal(total);
          bar.update(progress.repositoriesDone, { detail: detail(progress) });
        }
      },
      stop: () => {
        if (started) bar.stop();
      },
    };
  }
  let lastLine = 0;
  return {
    update(progress) {
      const finished = progress.repositoriesDone === progress.repositoriesTotal && progress.current === undefined;
      const now = Date.now();
      if (!finished && now - lastLine < 5000) return;
      lastLine = now;
      stream.write(`import: ${detail(progress)}\n`);
    },
    stop: () => undefined,
  };
}

export function formatSummary(summary: ImportSummary): string {
  const lines = [
    `imported in ${summary.seconds.toFixed(1)} s`,
    `repositories: ${summary.repositories}${summary.repositoriesResumed > 0 ? ` (and ${summary.repositoriesResumed} finished by an earlier run)` : ''}`,
    `tags: ${summary.tags}`,
    `manifests: ${summary.manifests}`,
    `blobs: ${summary.blobs} (${mib(summary.bytes)} MiB${summary.bytesCopied > 0 ? `, ${mib(summary.bytesCopied)} MiB copied` : ''})`,
    `unfinished uploads skipped: ${summary.uploadsSkipped.length}`,
    ...summary.uploadsSkipped.map((upload) => `  upload ${upload}`),
    `problems: ${summary.problems.length}`,
    ...summary.problems.map((problem) => `  ${problem}`),
  ];
  return lines.join('\n');
}
