import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql, type Kysely, type LogEvent } from 'kysely';
import { preparedQuery } from './prepared-query.js';
import { openSqlite } from './sqlite.js';

interface TestDb {
  items: { id: number; label: string };
}

const byLabel = preparedQuery((db: Kysely<TestDb>, label: string) => db.selectFrom('items').select('id').where('label', '=', label), 1);

describe('prepared reads on SQLite without the driver', () => {
  let dir: string;
  let db: Kysely<TestDb>;
  const logged: LogEvent[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-sync-reads-'));
    db = openSqlite(join(dir, 'index.db'), { log: (event) => void logged.push(event) }) as unknown as Kysely<TestDb>;
    await sql`create table items (id integer primary key, label text not null)`.execute(db);
    await db.insertInto('items').values({ id: 1, label: 'one' }).execute();
  });
  after(async () => {
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers outside a transaction, and logs the read as a select for the database metrics', async () => {
    logged.length = 0;
    assert.deepEqual((await byLabel(db, 'one')).rows, [{ id: 1 }]);
    assert.deepEqual((await byLabel(db, 'two')).rows, []);
    assert.deepEqual(
      logged.map((event) => [event.level, event.query.query.kind]),
      [
        ['query', 'SelectQueryNode'],
        ['query', 'SelectQueryNode'],
      ],
    );
  });

  it('never sees the rows of a transaction still open: it waits for its end, and a rollback leaves nothing', async () => {
    let inserted: () => void = () => undefined;
    let finish: () => void = () => undefined;
    const insertedRow = new Promise<void>((resolve) => (inserted = resolve));
    const finishing = new Promise<void>((resolve) => (finish = resolve));
    const transaction = db
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('items').values({ id: 2, label: 'two' }).execute();
        inserted();
        await finishing;
        throw new Error('roll back');
      })
      .catch((error: unknown) => error);
    await insertedRow;
    // Asked while the transaction holds its uncommitted row: answered only after it ends.
    let answered = false;
    const read = byLabel(db, 'two').then((result) => {
      answered = true;
      return result.rows;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(answered, false, 'a read ran inside the open transaction');
    finish();
    assert.match(String(await transaction), /roll back/);
    assert.deepEqual(await read, []);
    // Committed rows are seen again at once.
    await db.insertInto('items').values({ id: 3, label: 'three' }).execute();
    assert.deepEqual((await byLabel(db, 'three')).rows, [{ id: 3 }]);
  });

  it('runs a transaction’s own reads inside it, seeing its rows', async () => {
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('items').values({ id: 4, label: 'four' }).execute();
      assert.deepEqual((await byLabel(trx, 'four')).rows, [{ id: 4 }]);
    });
  });
});
