// Runs a metadata suite (src/metadata/testing/, or one that queries the database through Kysely)
// on both databases: a SQLite file, and a throwaway PostgreSQL cluster (or BERTH_TEST_POSTGRES_URL),
// each test on a fresh, migrated database.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { Kysely } from 'kysely';
import { MetadataStore } from '../../src/metadata/metadata-store.js';
import { openPostgres } from '../../src/metadata/postgres.js';
import type { Database } from '../../src/metadata/schema.js';
import { openSqlite } from '../../src/metadata/sqlite.js';
import type { MetadataStoreUnderTest } from '../../src/metadata/testing/metadata-suite.js';
import { startPostgres, type TestPostgres } from './postgres.js';

export type MetadataSuite = (name: string, open: () => Promise<MetadataStoreUnderTest>) => void;

/** A freshly migrated database that nothing else uses, for suites that query it directly. */
export interface TestDatabase {
  readonly db: Kysely<Database>;
  /** Closes the connection and removes the database. */
  cleanup(): Promise<void>;
}

export type DatabaseSuite = (name: string, open: () => Promise<TestDatabase>) => void;

/** Runs a suite that takes a MetadataStore on both databases. */
export function runOnBothDatabases(suite: MetadataSuite): void {
  runOnBothDatabaseKinds((name, open) =>
    suite(name, async () => {
      const { db, cleanup } = await open();
      return { store: new MetadataStore(db), cleanup };
    }),
  );
}

/** Runs a suite that queries the database itself (through Kysely) on both databases. */
export function runOnBothDatabaseKinds(suite: DatabaseSuite): void {
  suite('sqlite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-metadata-suite-'));
    const db = openSqlite(join(dir, 'metadata.db'));
    await new MetadataStore(db).migrate();
    return {
      db,
      async cleanup() {
        await db.destroy();
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
      const db = openPostgres(url, { max: 4 });
      await new MetadataStore(db).migrate();
      return {
        db,
        async cleanup() {
          await db.destroy();
          await running.dropDatabase(url);
        },
      };
    });
  });
}
