// The metadata database of the configuration, opened for one account command: the CLI acts as
// a registry administrator through the same use cases (AccountAdmin) as the admin API.
import { AccountAdmin } from '../../auth/account-admin.js';
import { HtpasswdFile } from '../../auth/htpasswd.js';
import type { Principal } from '../../auth/principal.js';
import { loadConfig, type Config } from '../../config/index.js';
import type { MetadataStore } from '../../metadata/index.js';
import { openMetadataStore } from '../../server/command-registry.js';

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
export async function withDatabase<T>(options: ConfigOption, work: (admin: AccountAdmin, store: MetadataStore) => Promise<T>): Promise<T> {
  const config = await loadCliConfig(options.config);
  const store = await openMetadataStore(config);
  try {
    // Grants, team members and tokens may name users of the configured htpasswd file too.
    const htpasswd = config.auth.htpasswd && new HtpasswdFile(config.auth.htpasswd.path);
    const admin = new AccountAdmin({
      accounts: store.accounts,
      bcryptCost: config.auth.bcryptCost,
      userExistsElsewhere: async (name) => (await htpasswd?.lookup(name)) !== undefined,
    });
    return await work(admin, store);
  } finally {
    await store.close();
  }
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}
