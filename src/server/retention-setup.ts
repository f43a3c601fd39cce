// Retention as the server and the CLI assemble it: the configuration file's policies, the rules
// stored in the database, the tag protection of immutability rules, and the GC index's
// conditional delete of untagged manifests. Shared so `berth retention` judges exactly as the
// server's scheduled job and admin API do.
import type { Config } from '../config/index.js';
import { MetadataStore, openSqlite } from '../metadata/index.js';
import { ImmutabilityRules } from '../registry/immutability.js';
import { Retention, type TagProtection } from '../registry/retention.js';

export interface RetentionParts {
  /** Immutability rules (never untagged by retention); default: the configuration's and the database's, read here. */
  readonly protection?: TagProtection | undefined;
}

export function createRetention(config: Config, metadata: MetadataStore, parts: RetentionParts = {}): Retention {
  return new Retention(metadata, {
    configPolicies: config.retention.policies,
    protection: parts.protection ?? new ImmutabilityRules(metadata.immutability, config.immutability),
    // The GC index deletes an untagged manifest only if it is still untagged and needed by nothing.
    untaggedManifests: metadata.gc,
  });
}

/**
 * Opens the configuration's metadata database for one run of `berth retention` (migrated, as
 * every command does), with retention over it; close() releases it.
 */
export async function openRetention(config: Config): Promise<{ retention: Retention; close(): Promise<void> }> {
  const postgres = config.metadata.postgres;
  const db = postgres
    ? (await import('../metadata/postgres.js')).openPostgres(postgres.url, { max: 2, statementTimeoutMs: postgres.statementTimeoutMs })
    : openSqlite(config.metadata.sqlite.path);
  const metadata = new MetadataStore(db);
  try {
    await metadata.migrate();
  } catch (error) {
    await metadata.close();
    throw error;
  }
  return { retention: createRetention(config, metadata), close: () => metadata.close() };
}
