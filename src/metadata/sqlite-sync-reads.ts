// Reads on the hot path answered by SQLite at once, without Kysely's driver. Through the driver,
// every query waits for the connection's mutex, reads SQLite's write counter before and after
// (group commit, sqlite-group-commit.ts) and passes through several layers of promises: more CPU
// than the indexed lookup itself behind a manifest GET or a tags list. better-sqlite3 runs a
// statement synchronously, so a read run between two awaits of other operations cannot
// interleave with them. Only a transaction spans awaits; while one is open on the single
// connection a read run now would see its uncommitted rows, so it takes the driver's path
// instead and waits for the transaction to end, as every query did before.
//
// Each read is reported to Kysely's `log` as the driver would (the database metrics).
import { performance } from 'node:perf_hooks';
import type { CompiledQuery, Kysely, LogEvent, SqliteDatabase } from 'kysely';

export interface SyncReader {
  /** The query's rows, or undefined when it must go through the driver (a transaction is open, or it writes). */
  rows<R>(query: CompiledQuery<R>): R[] | undefined;
}

/** The reader of each SQLite database opened by openSqlite, by its Kysely instance (a transaction's is never here). */
const readers = new WeakMap<object, SyncReader>();

export function syncReaderOf(db: Kysely<unknown> | object): SyncReader | undefined {
  return readers.get(db);
}

/**
 * Registers the synchronous reader of `db`: `statements` is the database as its dialect uses it
 * (the statement cache), `inTransaction` whether the connection has a transaction open.
 */
export function enableSyncReads(
  db: object,
  statements: SqliteDatabase,
  inTransaction: () => boolean,
  log: ((event: LogEvent) => void) | undefined,
): void {
  readers.set(db, {
    rows<R>(query: CompiledQuery<R>): R[] | undefined {
      if (inTransaction()) return undefined;
      const statement = statements.prepare(query.sql);
      if (!statement.reader) return undefined;
      if (log === undefined) return statement.all(query.parameters) as R[];
      const started = performance.now();
      try {
        const rows = statement.all(query.parameters) as R[];
        log({ level: 'query', query, queryDurationMillis: performance.now() - started });
        return rows;
      } catch (error) {
        log({ level: 'error', error, query, queryDurationMillis: performance.now() - started });
        throw error;
      }
    },
  });
}
