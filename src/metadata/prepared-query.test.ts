import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { preparedQuery } from './prepared-query.js';

interface TestDb {
  items: { id: number; kind: string; label: string };
}

describe('preparedQuery', () => {
  it('builds the query once and binds each call’s values, keeping constants in place', async () => {
    const db = new Kysely<TestDb>({ dialect: new SqliteDialect({ database: new SqliteDatabase(':memory:') }) });
    await sql`create table items (id integer primary key, kind text not null, label text not null)`.execute(db);
    await db
      .insertInto('items')
      .values([
        { id: 1, kind: 'a', label: 'one' },
        { id: 2, kind: 'b', label: 'two' },
        { id: 3, kind: 'a', label: 'three' },
      ])
      .execute();
    let builds = 0;
    // The argument order differs from the parameter order, and a constant sits between them.
    const lookup = preparedQuery((q: Kysely<TestDb>, label: string, kind: string) => {
      builds++;
      return q.selectFrom('items').select('id').where('kind', '=', kind).where('id', '>', 0).where('label', '=', label);
    }, 2);
    assert.deepEqual((await lookup(db, 'three', 'a')).rows, [{ id: 3 }]);
    assert.deepEqual((await lookup(db, 'two', 'b')).rows, [{ id: 2 }]);
    assert.deepEqual((await lookup(db, 'two', 'a')).rows, []);
    assert.equal(builds, 1);
    // Inside a transaction too.
    await db.transaction().execute(async (trx) => {
      assert.deepEqual((await lookup(trx, 'one', 'a')).rows, [{ id: 1 }]);
    });
    await db.destroy();
  });
});
