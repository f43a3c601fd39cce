// `berth gc` and Distribution's spelling `berth garbage-collect CONFIG`: one garbage-collection
// run against the configuration's blob store and database, safe while a server serves them (the
// run re-checks every item under the locks pushes take, and holds the same cluster-wide lease as
// the server's scheduled runs). Progress on stderr: a bar on a terminal, else nothing until the
// summary line.
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { DurationError } from '../../oci/duration.js';
import { parseGracePeriod } from '../../oci/age.js';
import { GcAlreadyRunning, type GcProgress, type GcReport } from '../../registry/index.js';
import { openCommandEvents } from '../../server/command-events.js';
import { openCommandRegistry } from '../../server/command-registry.js';
import { CONFIG_HELP, loadCliConfig, printJson } from './account-database.js';
import { CliError, run } from './cli-error.js';

interface GcFlags {
  dryRun?: boolean;
  deleteUntagged?: boolean;
  grace?: string;
  config?: string;
  json?: boolean;
}

export function registerGcCommands(program: Command): void {
  program
    .command('gc')
    .description('collect garbage: delete what no tag or manifest reaches, online (safe while the registry serves)')
    .option('--dry-run', 'list what would be deleted and the bytes it would free, deleting nothing')
    .option('--delete-untagged', 'also delete manifests no tag, kept index or kept subject reaches')
    .option('--grace <duration>', 'keep anything written more recently than this, e.g. 1h, 7d or 0s (default: gc.grace, 1h)')
    .option('--json', 'print the report as JSON')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(run('gc', (flags: GcFlags) => collect(flags)));

  // Distribution's command line, so existing cron jobs keep working: `registry garbage-collect
  // [--dry-run] [--delete-untagged] CONFIG`. As Distribution, it keeps no grace period unless
  // asked: whatever nothing references now goes. Unlike Distribution it is safe while the
  // registry serves (a push racing it may be refused and pushed again, never left broken).
  program
    .command('garbage-collect')
    .description("Distribution's spelling of `berth gc`: garbage-collect CONFIG [--dry-run] [--delete-untagged]")
    .argument('<config>', 'configuration file')
    .option('-d, --dry-run', 'list what would be deleted, deleting nothing')
    .option('-m, --delete-untagged', 'also delete manifests no tag reaches')
    .option('--grace <duration>', 'keep anything written more recently than this (default 0s, as Distribution keeps nothing back)')
    .action(run('garbage-collect', (config: string, flags: GcFlags) => collect({ grace: '0s', ...flags, config })));
}

async function collect(flags: GcFlags): Promise<void> {
  const config = await loadCliConfig(flags.config);
  const graceMs = flags.grace === undefined ? config.gc.graceMs : graceOption(flags.grace);
  const { registry, store, close } = await openCommandRegistry(config);
  const progress = progressBar(process.stderr);
  let report: GcReport;
  try {
    // The run is reported as the server's are: a gc.run event and an audit entry.
    const events = await openCommandEvents(config, store, (message) => console.error(`berth gc: ${message}`));
    registry.gc.onRunEnded((ended) => events.own.gcRun(ended));
    const purging = config.storage.maintenance.uploadpurging;
    report = await registry.gc
      .run({
        trigger: 'cli',
        dryRun: flags.dryRun === true,
        deleteUntagged: flags.deleteUntagged === true,
        graceMs,
        uploadMaxIdleMs: purging.enabled ? purging.ageMs : undefined,
        onProgress: progress.update,
      })
      .finally(() => events.close());
  } catch (error) {
    if (error instanceof GcAlreadyRunning) throw new CliError(`${error.message} (by the server or another berth gc); try again later`);
    throw error;
  } finally {
    progress.stop();
    await close();
  }
  if (flags.json) {
    printJson(report);
    return;
  }
  if (report.dryRun) {
    for (const item of report.deleted.evicted) console.log(`would evict cached manifest ${item}`);
    for (const manifest of report.deleted.manifests) console.log(`would delete manifest ${manifest}`);
    for (const link of report.deleted.links) console.log(`would unlink blob ${link}`);
    for (const blob of report.deleted.blobs) console.log(`would delete blob ${blob.digest} (${blob.size} bytes)`);
  }
  console.log(summary(report));
}

function graceOption(text: string): number {
  try {
    return parseGracePeriod(text);
  } catch (error) {
    if (error instanceof DurationError) throw new CliError(`invalid --grace: ${error.message}`);
    throw error;
  }
}

/** The one summary line: counts, bytes and time, worded for a dry run or a run. */
export function summary(report: GcReport): string {
  const s = report.stats;
  const verb = report.dryRun ? 'would delete' : 'deleted';
  return (
    `gc ${report.dryRun ? 'dry run' : 'run'} ${report.runId}: ${s.repositories} repositories; ` +
    (s.cacheEvicted > 0 ? `${report.dryRun ? 'would evict' : 'evicted'} ${s.cacheEvicted} cached manifests; ` : '') +
    `${verb} ` +
    `${s.manifestsDeleted} manifests, ${s.linksRemoved} blob links, ${s.blobsDeleted + s.orphansDeleted} blobs ` +
    `(${s.orphansDeleted} without a record), ${s.uploadsPurged + s.uploadFoldersRemoved} uploads` +
    (s.abandonedWrites > 0 ? ` and ${s.abandonedWrites} abandoned writes` : '') +
    '; ' +
    `${report.dryRun ? 'would free' : 'freed'} ${formatBytes(s.bytesFreed)}; kept ${s.kept} that pushes reached; ${(s.durationMs / 1000).toFixed(1)} s`
  );
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]} (${bytes} bytes)`;
}

/** A bar per phase on a terminal (cli-progress); nothing otherwise (the summary line follows). */
function progressBar(stream: NodeJS.WriteStream): { update: (progress: GcProgress) => void; stop: () => void } {
  if (!stream.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { stream, format: 'gc {phase} [{bar}] {value} done', hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let phase = '';
  return {
    update(progress) {
      if (progress.phase !== phase) {
        if (phase !== '') bar.stop();
        phase = progress.phase;
        bar.start(progress.total ?? 0, progress.done, { phase: phase.padEnd(9) });
        return;
      }
      if (progress.total !== undefined) bar.setTotal(progress.total);
      bar.update(progress.done);
    },
    stop: () => bar.stop(),
  };
}
