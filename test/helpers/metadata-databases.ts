// Runs a metadata suite (src/metadata/testing/) on both databases: a SQLite file, and a throwaway
// PostgreSQL cluster (or BERTH_TEST_POSTGRES_URL), each test on a fresh, migrated database.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { MetadataStore } from '../../src/metadata/metadata-store.js';
import { openPostgres } from '../../src/metadata/postgres.js';
import { openSqlite } from '../../src/metadata/sqlite.js';
import type { MetadataStoreUnderTest } from '../../src/metadata/testing/metadata-suite.js';
import { startPostgres, type TestPostgres } from './postgres.js';

export type MetadataSuite = (name: string, open: () => Promise<MetadataStoreUnderTest>) => void;

export function runOnBothDatabases(suite: MetadataSuite): void {
  suite('sqlite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-metadata-suite-'));
    const store = new MetadataStore(openSqlite(join(dir, 'metadata.db')));
    await store.migrate();
    return {
      store,
      async cleanup() {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  });

  describe('postgresql', () => {
    let server: TestPostgres | undefined;
    before(async () => {
      server = await startPostgres();
    });
    after(async () => {
      await server?.stop();
    });

    suite('postgresql', async () => {
      if (!server) throw new Error('the PostgreSQL server is not running');
      const running = server;
      const url = await running.createDatabase();
      const store = new MetadataStore(openPostgres(url, { max: 4 }));
      await store.migrate();
      return {
        store,
        async cleanup() {
          await store.close();
          await running.dropDatabase(url);
        },
      };
    });
  });
}
