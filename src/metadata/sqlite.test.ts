// The metadata suite against a real SQLite file, plus what is SQLite's own: WAL mode, durable
// settings, and data that survives closing and reopening (and a killed process:
// test/crash/sqlite-kill.test.ts).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { Digest } from '../oci/digest.js';
import { MetadataStore } from './metadata-store.js';
import type { Database } from './schema.js';
import { openSqlite } from './sqlite.js';
import { runAccountsSuite } from './testing/accounts-suite.js';
import { runMetadataSuite, type MetadataStoreUnderTest } from './testing/metadata-suite.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'berth-metadata-'));
}

async function openStore(path: string): Promise<{ db: Kysely<Database>; store: MetadataStore }> {
  const db = openSqlite(path);
  const store = new MetadataStore(db);
  await store.migrate();
  return { db, store };
}

async function pragma(db: Kysely<Database>, name: string): Promise<unknown> {
  const { rows } = await sql<Record<string, unknown>>`${sql.raw(`PRAGMA ${name}`)}`.execute(db);
  const row = rows[0];
  assert.ok(row, `PRAGMA ${name} returned a row`);
  return Object.values(row)[0];
}

async function freshStore(): Promise<MetadataStoreUnderTest> {
  const dir = await tempDir();
  const { store } = await openStore(join(dir, 'metadata.db'));
  return {
    store,
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

runMetadataSuite('sqlite', freshStore);
runAccountsSuite('sqlite', freshStore);

describe('sqlite metadata database', () => {
  const manifestDigest = Digest.of(Buffer.from('manifest')).toString();
  const blobDigest = Digest.of(Buffer.from('blob')).toString();

  it('creates missing parent directories and runs in WAL mode with durable settings', async () => {
    const dir = await tempDir();
    try {
      const { db, store } = await openStore(join(dir, 'nested', 'deeper', 'metadata.db'));
      try {
        assert.equal(await pragma(db, 'journal_mode'), 'wal');
        // NORMAL: SQLite does not fsync in COMMIT; the group commit fsyncs the WAL instead.
        assert.equal(await pragma(db, 'synchronous'), 1, 'synchronous = NORMAL');
        assert.equal(await pragma(db, 'foreign_keys'), 1);
        assert.ok(Number(await pragma(db, 'busy_timeout')) > 0);
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps its data across close and reopen', async () => {
    const dir = await tempDir();
    const path = join(dir, 'metadata.db');
    try {
      const first = await openStore(path);
      await first.store.addBlobToRepository('library/app', blobDigest, 2 ** 36);
      await first.store.putManifest({
        repository: 'library/app',
        digest: manifestDigest,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size: 321,
        artifactType: 'application/vnd.example',
        subjectDigest: undefined,
        references: [{ digest: blobDigest, kind: 'blob' }],
        tags: ['latest'],
      });
      await first.store.createUpload('upload-1', 'library/app');
      const before = await first.store.findManifest('library/app', manifestDigest);
      await first.store.close();

      const second = await openStore(path);
      try {
        assert.equal(await pragma(second.db, 'journal_mode'), 'wal');
        assert.deepEqual(await second.store.findManifest('library/app', manifestDigest), before);
        assert.equal((await second.store.findManifestByTag('library/app', 'latest'))?.digest, manifestDigest);
        assert.deepEqual(await second.store.findRepositoryBlob('library/app', blobDigest), { size: 2 ** 36 });
        assert.deepEqual(await second.store.listRepositories({}), { items: ['library/app'], hasMore: false });
        assert.equal((await second.store.findUpload('upload-1'))?.repository, 'library/app');
      } finally {
        await second.store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  // SQLite rolls a transaction back by itself when the database cannot grow; the caller must
  // see that cause (SQLITE_FULL, answered 507), not the failed ROLLBACK that followed it.
  for (const where of ['a file', 'memory'] as const) {
    it(`reports a full database as SQLITE_FULL and stays usable (${where})`, async () => {
      const dir = await tempDir();
      try {
        const { db, store } = await openStore(where === 'memory' ? ':memory:' : join(dir, 'metadata.db'));
        try {
          // max_page_count stands in for a full disk: SQLite fails the write the same way, and
          // rolls back the whole transaction when the failing statement cannot be undone alone.
          const pages = Number(await pragma(db, 'page_count'));
          await sql.raw(`PRAGMA max_page_count = ${pages}`).execute(db);
          const digest = (i: number): string => Digest.of(Buffer.from(`blob ${i}`)).toString();
          let failed = undefined as { index: number; error: Error & { code?: unknown } } | undefined;
          for (let i = 0; i < 2000 && failed === undefined; i++) {
            await store.addBlobToRepository('library/full', digest(i), i + 1).catch((error: Error) => {
              failed = { index: i, error };
            });
          }
          assert.ok(failed, 'the database filled up');
          assert.equal(failed.error.code, 'SQLITE_FULL', failed.error.message);
          assert.equal(await store.findRepositoryBlob('library/full', digest(failed.index)), undefined);
          assert.deepEqual(await store.findRepositoryBlob('library/full', digest(0)), { size: 1 });
          await sql.raw(`PRAGMA max_page_count = ${pages * 100}`).execute(db);
          await store.addBlobToRepository('library/full', digest(failed.index), 7);
          assert.deepEqual(await store.findRepositoryBlob('library/full', digest(failed.index)), { size: 7 });
        } finally {
          await store.close();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
