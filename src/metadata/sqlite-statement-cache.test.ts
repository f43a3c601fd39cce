import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { withStatementCache } from './sqlite-statement-cache.js';

describe('withStatementCache', () => {
  it('prepares a query text once and reuses the statement', () => {
    const database = new SqliteDatabase(':memory:');
    let prepared = 0;
    const prepare = database.prepare.bind(database);
    database.prepare = ((text: string) => {
      prepared++;
      return prepare(text);
    }) as typeof database.prepare;
    const cached = withStatementCache(database);
    const first = cached.prepare('select ? as n');
    assert.equal(cached.prepare('select ? as n'), first);
    assert.equal(prepared, 1);
    assert.deepEqual(first.all([5]), [{ n: 5 }]);
    cached.prepare('select 1 as one');
    assert.equal(prepared, 2);
    cached.close();
    assert.equal(database.open, false);
  });

  it('keeps at most `capacity` statements, dropping the one prepared longest ago', () => {
    const database = new SqliteDatabase(':memory:');
    const cached = withStatementCache(database, 2);
    const a = cached.prepare('select 1');
    const b = cached.prepare('select 2');
    cached.prepare('select 3'); // evicts "select 1"
    assert.equal(cached.prepare('select 2'), b);
    assert.notEqual(cached.prepare('select 1'), a, 'prepared again after eviction');
    cached.close();
  });

  it('serves Kysely reads and writes with correct results, before and after eviction', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-stmt-cache-'));
    const db = new Kysely<{ items: { id: number; label: string } }>({
      dialect: new SqliteDialect({ database: withStatementCache(new SqliteDatabase(join(dir, 'db.sqlite')), 3) }),
    });
    try {
      await sql`create table items (id integer primary key, label text not null)`.execute(db);
      for (let id = 1; id <= 20; id++)
        await db
          .insertInto('items')
          .values({ id, label: `item ${id}` })
          .execute();
      for (let round = 0; round < 3; round++) {
        for (const id of [3, 7, 20]) {
          const row = await db.selectFrom('items').select('label').where('id', '=', id).executeTakeFirst();
          assert.deepEqual(row, { label: `item ${id}` });
        }
        // Lists of different lengths give different texts, pushing the others out of a cache of 3.
        for (const ids of [[1], [1, 2], [1, 2, 3], [1, 2, 3, 4]]) {
          const rows = await db.selectFrom('items').select('id').where('id', 'in', ids).orderBy('id').execute();
          assert.deepEqual(
            rows.map((r) => r.id),
            ids,
          );
        }
      }
      const updated = await db.updateTable('items').set({ label: 'changed' }).where('id', '<=', 5).executeTakeFirst();
      assert.equal(updated.numUpdatedRows, 5n);
      const { count } = await db
        .selectFrom('items')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .where('label', '=', 'changed')
        .executeTakeFirstOrThrow();
      assert.equal(count, 5);
    } finally {
      await db.destroy();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
