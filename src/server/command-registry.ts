// What a one-off command (`berth gc`, `berth retention`, account commands) opens of a
// configuration: its metadata database (migrated, with few connections: the server holds the
// rest) and, for commands that touch bytes, its blob store and the registry over both. Commands
// coordinate with a running server through the database, never through the server itself.
import type { Config } from '../config/index.js';
import { MetadataStore, openSqlite } from '../metadata/index.js';
import { Registry } from '../registry/index.js';
import { openStorage } from './build-app.js';
import { cacheEvictionPolicies } from './cache-eviction-setup.js';

/** Opens and migrates the configuration's metadata database for one command. */
export async function openMetadataStore(config: Config): Promise<MetadataStore> {
  const postgres = config.metadata.postgres;
  const db = postgres
    ? (await import('../metadata/postgres.js')).openPostgres(postgres.url, { max: 2, statementTimeoutMs: postgres.statementTimeoutMs })
    : openSqlite(config.metadata.sqlite.path);
  const store = new MetadataStore(db);
  try {
    await store.migrate();
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
  return store;
}

/** The registry over the configuration's blob store and database, for one command; close() releases both. */
export async function openCommandRegistry(config: Config): Promise<{ registry: Registry; store: MetadataStore; close(): Promise<void> }> {
  const store = await openMetadataStore(config);
  try {
    const storage = await openStorage(config);
    const purging = config.storage.maintenance.uploadpurging;
    const registry = new Registry(storage, store, {
      deleteEnabled: config.storage.delete.enabled,
      uploadPurgeAgeMs: purging.enabled ? purging.ageMs : undefined,
      indexChildren: config.validation.manifests.indexes,
      cacheEviction: cacheEvictionPolicies(config),
    });
    return { registry, store, close: () => store.close() };
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
}
