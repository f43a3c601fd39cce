// The `berth` command line: serve, migrate, config check, config schema.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ConfigError, configJsonSchema, loadConfig } from '../config/index.js';
import type { MigrateSummary } from '../server/migrate.js';
import { registerAccountCommands } from './account-commands.js';
import { registerMaintenanceCommands } from './commands/maintenance.js';
import { registerGcCommands } from './commands/gc.js';
import { registerImportCommand } from './commands/import.js';
import { serve } from '../server/serve.js';
import { checkAsServeWould } from '../server/startup-checks.js';
import { registerTlsCommand } from './tls-command.js';
import { registerRetentionCommand } from './commands/retention.js';
import { registerUsageCommand } from './commands/usage.js';
import { registerAuditCommand } from './commands/audit.js';

/** Loads the config from --config or a positional file (as `registry serve FILE`); else the env names one. */
function load(file: string | undefined) {
  return loadConfig({ ...(file !== undefined ? { file } : {}), env: process.env });
}

/** The version in package.json, two levels above this module both in src/cli and in the built dist/cli. */
function packageVersion(): string {
  try {
    const parsed: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'version' in parsed && typeof parsed.version === 'string') return parsed.version;
  } catch {
    // A relocated build without package.json still runs every command; only --version cannot tell.
  }
  return 'unknown';
}

export function buildCli(): Command {
  const program = new Command('berth')
    .description('Berth: a container image registry (OCI Distribution v1.1, Docker Registry HTTP API V2)')
    .version(packageVersion(), '-V, --version', 'print the version of Berth')
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
      // Loaded here, not by every `berth serve`: the progress bars and the copier.
      const { migrate } = await import('../server/migrate.js');
      const { formatSummary, progressReporter } = await import('./migrate-output.js');
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
    .description(
      'validate a configuration file (and the REGISTRY_*/BERTH_* environment) and run the checks serve makes at start-up ' +
        '(certificate and key files, writable data directories, a database with users but auth off), creating nothing',
    )
    .argument('[file]', 'configuration file')
    .option('--syntax-only', 'only validate the file and the environment (for configurations meant for another machine)')
    .action(async (file: string | undefined, options: { syntaxOnly?: boolean }) => {
      const loaded = await load(file);
      const warnings = [...loaded.warnings];
      if (!options.syntaxOnly) warnings.push(...(await checkAsServeWould(loaded)));
      for (const warning of warnings) console.log(`warning: ${warning}`);
      console.log(
        `${file ?? 'configuration'} is valid${options.syntaxOnly ? ' (syntax only: files, directories and the database were not checked)' : ''}`,
      );
    });
  config
    .command('schema')
    .description('print the JSON Schema of the configuration file')
    .action(() => {
      console.log(JSON.stringify(configJsonSchema(), null, 2));
    });
  registerAccountCommands(program);
  registerGcCommands(program);
  registerTlsCommand(program);
  registerMaintenanceCommands(program);
  registerRetentionCommand(program);
  registerImportCommand(program);
  registerUsageCommand(program);
  registerAuditCommand(program);
  return program;
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
