// `berth retention`: applies the retention policies (the configuration file's and the admin API's)
// once, or with --dry-run prints what they would untag and delete. Safe while a server serves the
// same database: every untag is conditional (a tag pushed again meanwhile stays), as in the
// server's own runs.
import type { Command } from 'commander';
import type { RetentionReport } from '../../registry/retention.js';
import { CONFIG_HELP, loadCliConfig, printJson } from './account-database.js';

export function registerRetentionCommand(program: Command): void {
  program
    .command('retention')
    .description(
      'apply the retention policies (retention.policies and the rules of the admin API) once: untag what they select and ' +
        'delete old untagged manifests (untaggedfor); garbage collection then reclaims the bytes. Safe while the registry serves',
    )
    .option('--dry-run', 'print what would be untagged and deleted, and change nothing')
    .option('--json', 'print the report as JSON')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (options: { dryRun?: boolean; json?: boolean; config?: string }) => {
      const { openRetention } = await import('../../server/retention-setup.js');
      const config = await loadCliConfig(options.config);
      const opened = await openRetention(config);
      try {
        const report = await opened.retention.run({ dryRun: options.dryRun === true });
        if (options.json) printJson(report);
        else console.log(formatReport(report));
      } finally {
        await opened.close();
      }
    });
}

/** The report as lines a person reads: one per tag or manifest, then the totals. */
export function formatReport(report: RetentionReport): string {
  const lines: string[] = [];
  const verb = report.dryRun ? 'would untag' : 'untagged';
  for (const id of report.unreadableRules) lines.push(`warning: retention rule ${id} cannot be read and was ignored`);
  for (const repository of report.repositories) {
    const tags = report.dryRun ? repository.deleteTags.map((t) => `${t.tag} (${t.reasons.join(', ')})`) : repository.untagged;
    for (const tag of tags) lines.push(`${verb} ${repository.repository}:${tag}`);
    const manifests = report.dryRun ? repository.deleteManifests.map((m) => m.digest) : repository.deleted;
    for (const digest of manifests) lines.push(`${report.dryRun ? 'would delete' : 'deleted'} ${repository.repository}@${digest}`);
    for (const skip of repository.skipped)
      lines.push(`left ${repository.repository}${skip.tag ? `:${skip.tag}` : `@${skip.digest}`} (${skip.reason})`);
  }
  const { tags, manifests } = report.totals;
  lines.push(
    report.dryRun
      ? `dry run: ${tags} tag(s) to untag, ${manifests} untagged manifest(s) to delete`
      : `${tags} tag(s) untagged, ${manifests} untagged manifest(s) deleted`,
  );
  return lines.join('\n');
}
