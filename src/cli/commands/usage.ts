// `berth usage [--namespace NS] [--json]`: storage used per namespace (bytes with each distinct
// blob or manifest counted once per namespace, repositories, the quota and how full it is), or
// with --namespace one namespace repository by repository; counted now from the configuration's
// metadata database, as GET /api/v1/usage answers. Quotas come from the file and the database.
import type { Command } from 'commander';
import { formatByteSize } from '../../oci/byte-size.js';
import { type NamespaceUsageReport, QuotaService, isValidNamespace } from '../../registry/quotas.js';
import { CONFIG_HELP, loadCliConfig, printJson, withDatabase } from './account-database.js';
import { CliError, run } from './cli-error.js';

interface UsageOptions {
  config?: string;
  namespace?: string;
  json?: boolean;
}

/** "9.8 GiB of 10 GiB (98%)", or "-" without a quota. */
function quotaText(usage: NamespaceUsageReport): string {
  if (!usage.quota) return '-';
  const percent = usage.quota.sizeBytes === 0 ? 100 : Math.floor((usage.bytes / usage.quota.sizeBytes) * 100);
  return `${formatByteSize(usage.quota.sizeBytes)} (${percent}%)${usage.warning ? ' !' : ''}`;
}

/** Columns padded to their widest cell. */
function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function registerUsageCommand(program: Command): void {
  program
    .command('usage')
    .description(
      'storage used per namespace (each distinct blob counted once per namespace) with quotas, or per repository of one namespace',
    )
    .option('-n, --namespace <namespace>', 'show one namespace, repository by repository')
    .option('--json', 'print JSON (as GET /api/v1/usage and /api/v1/usage/namespaces/<namespace> answer)')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(
      run('usage', async (options: UsageOptions) => {
        const { namespace } = options;
        if (namespace !== undefined && !isValidNamespace(namespace)) {
          throw new CliError(`not a namespace (one repository path component, such as "team"): ${JSON.stringify(namespace)}`);
        }
        const config = await loadCliConfig(options.config);
        await withDatabase(options, async (_admin, store) => {
          const quotas = new QuotaService(store, config.quotas);
          if (namespace === undefined) {
            const usage = await quotas.usage();
            if (options.json) return printJson({ namespaces: usage });
            if (usage.length === 0) return console.log('nothing stored, and no quotas');
            console.log(
              table([
                ['NAMESPACE', 'USED', 'BYTES', 'REPOSITORIES', 'QUOTA'],
                ...usage.map((u) => [
                  u.namespace,
                  formatByteSize(u.bytes),
                  String(u.bytes),
                  u.quota?.repositories === undefined ? String(u.repositories) : `${u.repositories} of ${u.quota.repositories}`,
                  quotaText(u),
                ]),
              ]),
            );
            return;
          }
          const detail = await quotas.namespaceUsage(namespace);
          if (options.json) return printJson(detail);
          console.log(
            `${namespace}: ${formatByteSize(detail.bytes)} (${detail.bytes} bytes) in ${detail.repositories} repositories; quota ${quotaText(detail)}`,
          );
          if (detail.repositoryUsage.length === 0) return;
          console.log(
            table([
              ['REPOSITORY', 'LINKED', 'BYTES', 'BLOBS', 'MANIFESTS', 'TAGS'],
              ...detail.repositoryUsage.map((r) => [
                r.repository,
                formatByteSize(r.bytes),
                String(r.bytes),
                String(r.blobs),
                String(r.manifests),
                String(r.tags),
              ]),
            ]),
          );
          console.log('(a blob linked into several repositories counts in each LINKED, and once in the namespace)');
        });
      }),
    );
}
