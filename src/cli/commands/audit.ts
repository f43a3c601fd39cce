// `berth audit export --since <time|duration> [--until ...] [--actor] [--repository] [--action]
// [--outcome] [--output FILE]`: the audit log as JSON lines, one entry per line, oldest first,
// read from the configuration's metadata database a page at a time (a cursor on the entries'
// UUIDv7 ids, as the admin API pages), so a year of entries streams out without being held in
// memory. Entries the server still holds in memory (at most a second's) are not in the database
// yet. docs/audit.md.
import { once } from 'node:events';
import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { AuditFilter } from '../../metadata/index.js';
import { parseDuration } from '../../oci/duration.js';
import { CONFIG_HELP, withDatabase } from './account-database.js';
import { CliError, run } from './cli-error.js';

interface ExportOptions {
  config?: string;
  since: string;
  until?: string;
  actor?: string;
  repository?: string;
  action?: string;
  outcome?: string;
  output?: string;
}

const PAGE = 500;
const OUTCOMES = new Set(['success', 'denied', 'failed']);

/** An ISO-8601 time, or a Go duration counted back from now ("24h", "90m"); CliError for anything else. */
export function exportBound(option: string, text: string, now = Date.now()): string {
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const at = Date.parse(text);
    if (!Number.isNaN(at)) return new Date(at).toISOString();
  } else {
    try {
      const ms = parseDuration(text);
      if (ms >= 0) return new Date(now - ms).toISOString();
    } catch {
      // Reported below with what is accepted.
    }
  }
  throw new CliError(
    `${option} must be a time such as 2026-12-01T00:00:00Z or a duration back from now such as 24h or 90m, not ${JSON.stringify(text)}`,
  );
}

/** Writes a chunk, waiting while the destination's buffer is full (a slow pipe holds the export back, not memory). */
async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

async function openOutput(path: string): Promise<Writable> {
  try {
    return (await open(path, 'w')).createWriteStream();
  } catch (error) {
    throw new CliError(`cannot write ${path}: ${(error as Error).message}`);
  }
}

export function registerAuditCommand(program: Command): void {
  const audit = program.command('audit').description('the audit log (docs/audit.md)');
  audit
    .command('export')
    .description('write audit log entries as JSON lines, oldest first')
    .requiredOption('--since <time|duration>', 'entries from this time (2026-12-01T00:00:00Z) or this long ago (24h, 90m)')
    .option('--until <time|duration>', 'entries before this time or this long ago (default: now)')
    .option('--actor <name>', 'only entries of this user or token subject')
    .option('--repository <name>', 'only entries about this repository')
    .option('--action <action>', 'only entries of this action (manifest.put, login.failed, permission.changed, ...)')
    .option('--outcome <outcome>', 'only entries with this outcome: success, denied or failed')
    .option('-o, --output <file>', 'write to this file instead of standard output')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(
      run('audit export', async (options: ExportOptions) => {
        const now = Date.now();
        const since = exportBound('--since', options.since, now);
        const until = options.until === undefined ? undefined : exportBound('--until', options.until, now);
        if (until !== undefined && until <= since) throw new CliError(`--until (${until}) must be after --since (${since})`);
        if (options.outcome !== undefined && !OUTCOMES.has(options.outcome)) {
          throw new CliError(`--outcome must be success, denied or failed, not ${JSON.stringify(options.outcome)}`);
        }
        const filter: Omit<AuditFilter, 'after'> = {
          since,
          until,
          actor: options.actor,
          repository: options.repository,
          action: options.action,
          outcome: options.outcome,
          limit: PAGE,
        };
        await withDatabase(options, async (_admin, store) => {
          const out = options.output === undefined ? process.stdout : await openOutput(options.output);
          try {
            // UUIDv7 ids sort after '' and in the order they were made: the first page starts there.
            let after = '';
            for (;;) {
              const page = await store.audit.list({ ...filter, after });
              if (page.length === 0) break;
              await write(out, `${page.map((entry) => JSON.stringify(entry)).join('\n')}\n`);
              after = page[page.length - 1]?.id ?? after;
              if (page.length < PAGE) break;
            }
          } finally {
            if (out !== process.stdout) {
              out.end();
              await once(out, 'close');
            }
          }
        });
      }),
    );
}
