// The `berth` command line: serve, migrate, config check, config schema.
import cliProgress from 'cli-progress';
import { Command } from 'commander';
import { pathToFileURL } from 'node:url';
import { ConfigError, configJsonSchema, loadConfig } from '../config/index.js';
import { migrate, type MigrateProgress, type MigrateSummary } from '../server/migrate.js';
import { serve } from '../server/serve.js';

/** Loads the config from --config or a positional file (as `registry serve FILE`); else the env names one. */
function load(file: string | undefined) {
  return loadConfig({ ...(file !== undefined ? { file } : {}), env: process.env });
}

export function buildCli(): Command {
  const program = new Command('berth')
    .description('Berth: a container image registry (OCI Distribution v1.1, Docker Registry HTTP API V2)')
    .showHelpAfterError();

  program
    .command('serve')
    .description('run the registry (default: port 5000, data in ./data, metadata in ./data/berth.db)')
    .argument('[file]', 'configuration file (same as --config)')
    .option('-c, --config <file>', 'YAML configuration file (env: BERTH_CONFIG or REGISTRY_CONFIGURATION_PATH)')
    .action(async (file: string | undefined, options: { config?: string }) => {
      await serve(await load(options.config ?? file));
    });

  program
    .command('migrate')
    .description(
      'copy a registry (blobs and index) to another configuration, e.g. filesystem + SQLite to S3 + PostgreSQL, ' +
        'verifying every digest. Stop pushes to the source first (stop it, or keep it read-only): ' +
        'what is pushed during the copy may be lost. The target index must be empty; re-running skips blobs already copied.',
    )
    .requiredOption('--from <file>', 'configuration of the registry to copy (the environment applies to it too)')
    .requiredOption('--to <file>', 'configuration of the new registry (S3 and PostgreSQL settings, e.g. from BERTH_* variables)')
    .option('--no-verify', 'compare only sizes, not digests (faster; not recommended)')
    .action(async (options: { from: string; to: string; verify: boolean }) => {
      const from = await load(options.from);
      const to = await load(options.to);
      const progress = progressReporter(process.stderr);
      let summary: MigrateSummary;
      try {
        summary = await migrate(from, to, { verify: options.verify, onProgress: progress.update });
      } catch (error) {
        progress.stop();
        console.error(`berth migrate: ${error instanceof Error ? error.message : String(error)}`);
        process.exitCode = 1;
        return;
      }
      progress.stop();
      console.log(formatSummary(summary));
    });

  const config = program.command('config').description('configuration tools');
  config
    .command('check')
    .description('validate a configuration file (and the REGISTRY_*/BERTH_* environment) and print the result')
    .argument('[file]', 'configuration file')
    .action(async (file: string | undefined) => {
      const loaded = await load(file);
      for (const warning of loaded.warnings) console.log(`warning: ${warning}`);
      console.log(`${file ?? 'configuration'} is valid`);
    });
  config
    .command('schema')
    .description('print the JSON Schema of the configuration file')
    .action(() => {
      console.log(JSON.stringify(configJsonSchema(), null, 2));
    });
  return program;
}

const MiB = 1024 * 1024;
const mib = (bytes: number): string => (bytes / MiB).toFixed(1);

/**
 * Shows migrate's progress on stderr: a progress bar (cli-progress) on a terminal, else a plain
 * line at each phase change and at most every 5 seconds, for logs.
 */
function progressReporter(stream: NodeJS.WriteStream): { update: (progress: MigrateProgress) => void; stop: () => void } {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { stream, format: '{phase} [{bar}] {percentage}% | {detail}', hideCursor: true, clearOnComplete: false },
      cliProgress.Presets.shades_classic,
    );
    let phase = '';
    return {
      update(progress) {
        const key = progress.phase === 'blobs' ? 'blobs' : `index ${progress.table}`;
        const [value, total, detail] =
          progress.phase === 'blobs'
            ? [progress.bytes, progress.totalBytes, `${progress.done}/${progress.total} blobs, ${mib(progress.bytes)}/${mib(progress.totalBytes)} MiB`]
            : [progress.copied, progress.total, `${progress.copied}/${progress.total} rows`];
        if (key !== phase) {
          if (phase !== '') bar.stop();
          phase = key;
          bar.start(Math.max(total, 1), total === 0 ? 1 : value, { phase: key.padEnd(25), detail });
        } else {
          bar.setTotal(Math.max(total, 1));
          bar.update(value, { detail });
        }
      },
      stop: () => bar.stop(),
    };
  }
  let phase = '';
  let lastLine = 0;
  return {
    update(progress) {
      const key = progress.phase === 'blobs' ? 'blobs' : `index ${progress.table}`;
      const finished = progress.phase === 'blobs' ? progress.done === progress.total : progress.copied === progress.total;
      const now = Date.now();
      if (key === phase && !finished && now - lastLine < 5000) return;
      phase = key;
      lastLine = now;
      stream.write(
        progress.phase === 'blobs'
          ? `migrate: blobs ${progress.done}/${progress.total}, ${mib(progress.bytes)}/${mib(progress.totalBytes)} MiB\n`
          : `migrate: index ${progress.table} ${progress.copied}/${progress.total} rows\n`,
      );
    },
    stop: () => undefined,
  };
}

function formatSummary(summary: MigrateSummary): string {
  const rows = Object.entries(summary.rows)
    .map(([table, count]) => `${table} ${count}`)
    .join(', ');
  return [
    `migrated in ${summary.seconds.toFixed(1)} s`,
    `blobs: ${summary.blobsCopied} copied (${mib(summary.bytesCopied)} MiB), ${summary.blobsSkipped} already present`,
    `rows: ${rows}`,
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildCli().parseAsync([...argv]);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
}

// Run directly (tsx src/cli/main.ts ...) as well as through bin/berth.js.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv).catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  });
}
