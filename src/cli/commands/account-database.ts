// The metadata database of the configuration, opened for one account command: the CLI acts as
// a registry administrator through the same use cases (AccountAdmin) as the admin API, and a
// command that changed something leaves an entry in the audit log (cli.<command>, actor
// berth-cli, the system user in detail): what the use cases report through onChange (grants,
// visibility, team members, users, passwords, tokens) and what the command says it changed
// itself (a new team, the read-only switch).
import { AccountAdmin } from '../../auth/account-admin.js';
import { HtpasswdFile } from '../../auth/htpasswd.js';
import type { Principal } from '../../auth/principal.js';
import { hostname, userInfo } from 'node:os';
import { loadConfig, type Config } from '../../config/index.js';
import { AuditLog } from '../../events/index.js';
import type { MetadataStore } from '../../metadata/index.js';
import { openMetadataStore } from '../../server/command-registry.js';
import { runningCommand } from './cli-error.js';

/** Whoever runs the CLI can open the database, so they are a registry administrator. */
export const CLI_PRINCIPAL: Principal = { kind: 'user', name: 'berth-cli', admin: true, teams: [] };

export interface ConfigOption {
  config?: string;
}

export const CONFIG_HELP =
  'configuration file whose metadata database to use (env: BERTH_CONFIG or REGISTRY_CONFIGURATION_PATH; default ./data/berth.db)';

export async function loadCliConfig(file: string | undefined): Promise<Config> {
  return loadConfig({ ...(file !== undefined ? { file } : {}), env: process.env });
}

/** Opens (and migrates) the metadata database of the configuration, runs the work, closes it. */
export async function withDatabase<T>(
  options: ConfigOption,
  work: (admin: AccountAdmin, store: MetadataStore, changed: () => void) => Promise<T>,
): Promise<T> {
  const config = await loadCliConfig(options.config);
  const store = await openMetadataStore(config);
  let changes = 0;
  try {
    // Grants, team members and tokens may name users of the configured htpasswd file too.
    const htpasswd = config.auth.htpasswd && new HtpasswdFile(config.auth.htpasswd.path);
    const admin = new AccountAdmin({
      accounts: store.accounts,
      bcryptCost: config.auth.bcryptCost,
      userExistsElsewhere: async (name) => (await htpasswd?.lookup(name)) !== undefined,
      onChange: () => changes++,
    });
    const result = await work(admin, store, () => changes++);
    if (changes > 0) await auditChange(config, store);
    return result;
  } finally {
    await store.close();
  }
}

/** The audit entry of a change made by this command. */
async function auditChange(config: Config, store: MetadataStore): Promise<void> {
  if (!config.audit.enabled) return;
  const command = runningCommand() ?? 'account';
  const audit = new AuditLog(store.audit, {
    pullSampling: 0,
    retentionMs: config.audit.retentionMs,
    warn: (error) => console.error(`could not write the audit log: ${error instanceof Error ? error.message : String(error)}`),
  });
  audit.append({
    action: `cli.${command.replaceAll(' ', '.')}`,
    actor: CLI_PRINCIPAL.kind === 'user' ? CLI_PRINCIPAL.name : undefined,
    address: undefined,
    repository: undefined,
    outcome: 'success',
    status: undefined,
    requestId: undefined,
    detail: { command: `berth ${command}`, systemUser: userInfo().username, host: hostname() },
  });
  await audit.close();
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}
