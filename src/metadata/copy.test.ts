// copyMetadata between two real SQLite files: every copied table ends equal row for row (with
// batches smaller than the tables, so keyset pagination over composite keys is exercised),
// uploads are not copied, and a target that already has rows is refused untouched.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { COPIED_TABLES, copyMetadata, TargetNotEmptyError, type CopyProgress } from './copy.js';
import { MetadataStore } from './metadata-store.js';
import type { Database } from './schema.js';
import { openSqlite } from './sqlite.js';

const digestOf = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;

async function allRows(db: Kysely<Database>, table: string): Promise<unknown[]> {
  const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(db);
  return rows.map((row) => JSON.stringify(row)).sort();
}

async function openMigrated(path: string): Promise<{ db: Kysely<Database>; store: MetadataStore }> {
  const db = openSqlite(path);
  const store = new MetadataStore(db);
  await store.migrate();
  return { db, store };
}

describe('copyMetadata', () => {
  let dir: string;
  let source: { db: Kysely<Database>; store: MetadataStore };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-copy-'));
    source = await openMigrated(join(dir, 'source.db'));
    for (const repository of ['a', 'a/b', 'team/app', 'z']) {
      const layers = [0, 1, 2].map((i) => digestOf(`${repository} layer ${i}`));
      const shared = digestOf('shared layer');
      for (const digest of [...layers, shared]) await source.store.addBlobToRepository(repository, digest, 100);
      for (const version of [1, 2, 3]) {
        const manifest = digestOf(`${repository} manifest ${version}`);
        await source.store.putManifest({
          repository,
          digest: manifest,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          size: 500 + version,
          artifactType: version === 3 ? 'application/example' : undefined,
          subjectDigest: version === 3 ? digestOf(`${repository} manifest 1`) : undefined,
          annotations: version === 3 ? { 'org.example': 'yes' } : undefined,
          references: [...layers, shared].map((digest) => ({ digest, kind: 'blob' as const })),
          tags: [`v${version}`, ...(version === 2 ? ['latest'] : [])],
        });
      }
      // A manifest fetched by the pull-through cache: a cached tag and a cached item.
      await source.store.putManifest({
        repository,
        digest: digestOf(`${repository} cached manifest`),
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size: 400,
        artifactType: undefined,
        subjectDigest: undefined,
        references: [{ digest: digestOf(`${repository} lazily fetched layer`), kind: 'blob' }],
        tags: ['cached'],
        cachedFrom: { upstream: 'hub', tag: 'cached', at: new Date() },
      });
    }
    await source.store.createUpload('0f0e0d0c-0b0a-4908-8706-050403020100', 'a');
    const accounts = source.store.accounts;
    for (const i of [1, 2, 3, 4]) {
      await accounts.createUser({ name: `user${i}`, passwordHash: `$2y$04$hash${i}`, admin: i === 1 });
      await accounts.createTeam(`team${i}`);
      await accounts.addTeamMember(`team${i}`, `user${i}`);
      await accounts.setNamespaceVisibility(`ns${i}`, i % 2 === 0 ? 'public' : 'private');
      await accounts.setGrant(`ns${i}`, 'user', `user${i}`, 'push');
      await accounts.createApiToken({
        id: `${i}`.repeat(16),
        owner: `user${i}`,
        name: `ci${i}`,
        secretHash: 'ab'.repeat(32),
        scopes: [{ repository: `ns${i}/*`, actions: ['pull'] }],
        expiresAt: undefined,
      });
      await accounts.setSettingIfAbsent(`setting${i}`, `value${i}`);
      // Garbage-collection history and lifecycle rules have no store methods of their own here.
      const at = new Date(Date.UTC(2026, 0, i)).toISOString();
      await source.db
        .insertInto('gc_runs')
        .values({
          id: `run${i}`,
          started_at: at,
          finished_at: at,
          trigger: 'cli',
          dry_run: 0,
          options: '{}',
          status: 'finished',
          stats: '{}',
          error: null,
        })
        .execute();
      await source.db
        .insertInto('lifecycle_rules')
        .values({ id: `rule${i}`, kind: 'quota', target: `ns${i}`, definition: '{"bytes":1}', created_at: at, created_by: 'user1' })
        .execute();
      // Events with their deliveries, a webhook endpoint and the audit log (migration 8).
      await source.store.events.record([
        {
          id: `0190000${i}-0000-7000-8000-000000000000`,
          createdAt: at,
          action: 'push',
          repository: `ns${i}/app`,
          digest: digestOf(`event ${i}`),
          tag: 'latest',
          actor: `user${i}`,
          body: JSON.stringify({ id: i }),
          endpoints: ['config:ci'],
        },
      ]);
      await source.store.webhookEndpoints.add({
        id: `endpoint${i}`,
        namespace: `ns${i}`,
        name: `hook${i}`,
        definition: { url: 'https://ci.example.com/hook' },
        createdAt: at,
        createdBy: 'user1',
      });
      await source.store.audit.append([
        {
          id: `0190000${i}-0000-7000-8000-00000000000a`,
          at,
          actor: `user${i}`,
          address: '127.0.0.1',
          action: 'manifest.put',
          repository: `ns${i}/app`,
          outcome: 'success',
          status: 201,
          requestId: `request${i}`,
          detail: { method: 'PUT' },
        },
      ]);
    }
  });

  after(async () => {
    await source.store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('copies every table but uploads, row for row, in batches', async () => {
    const target = await openMigrated(join(dir, 'target.db'));
    try {
      const progress: CopyProgress[] = [];
      const counts = await copyMetadata(source.db, target.db, { batchSize: 3, onProgress: (p) => progress.push(p) });
      for (const table of COPIED_TABLES) {
        const expected = await allRows(source.db, table);
        assert.ok(expected.length > 3, `${table} has more rows than a batch`);
        assert.deepEqual(await allRows(target.db, table), expected, table);
        assert.equal(counts[table], expected.length, table);
        const last = progress.filter((p) => p.table === table).at(-1);
        assert.deepEqual(last, { table, copied: expected.length, total: expected.length });
      }
      assert.deepEqual(await allRows(target.db, 'uploads'), []);
      // The copy is a working index: the store reads it as it reads the source.
      assert.equal((await target.store.findManifestByTag('team/app', 'latest'))?.digest, digestOf('team/app manifest 2'));
    } finally {
      await target.store.close();
    }
  });

  it('refuses a target that already has rows, and changes nothing', async () => {
    const target = await openMigrated(join(dir, 'nonempty.db'));
    try {
      await target.store.addBlobToRepository('existing', digestOf('existing'), 1);
      const before = await allRows(target.db, 'blobs');
      await assert.rejects(copyMetadata(source.db, target.db), (error: unknown) => {
        assert.ok(error instanceof TargetNotEmptyError);
        assert.match(error.message, /not empty \(table \w+ has rows\)/);
        return true;
      });
      assert.deepEqual(await allRows(target.db, 'blobs'), before);
      assert.deepEqual(await allRows(target.db, 'manifests'), []);
    } finally {
      await target.store.close();
    }
  });

  it('refuses a target that was not migrated', async () => {
    const db = openSqlite(join(dir, 'unmigrated.db'));
    try {
      await assert.rejects(copyMetadata(source.db, db), /is it migrated\?.*no such table/);
    } finally {
      await db.destroy();
    }
  });
});
