// Point lookups on the hot path (a manifest by tag, a blob in a repository) compiled once.
// Building a query with Kysely's builder and compiling it to SQL costs about as much as SQLite
// then takes to answer it (~10-15 µs each here); a lookup whose shape never changes needs that
// only once. The first call builds the query with a marker for each argument and remembers
// where each marker landed among the parameters; later calls bind the new values in the same
// places. Only for queries whose SQL does not depend on the values: no branches on them, no
// lists of varying length. The SQL is the dialect's, so a prepared query belongs to the store of
// one database (each index over it keeps its own). On SQLite, a read outside any transaction is
// answered synchronously, without Kysely's driver (sqlite-sync-reads.ts).
import type { CompiledQuery, Compilable, Kysely, QueryResult } from 'kysely';
import { syncReaderOf } from './sqlite-sync-reads.js';

/** Stand-ins for the arguments while the query is compiled, recognised by identity. */
class ArgumentMarker {
  constructor(readonly index: number) {}
}

export function preparedQuery<DB, A extends readonly unknown[], R>(
  build: (db: Kysely<DB>, ...args: A) => Compilable<R>,
  arity: A['length'],
): (db: Kysely<DB>, ...args: A) => Promise<QueryResult<R>> {
  let compiled: { readonly query: CompiledQuery<R>; readonly bindings: readonly unknown[] } | undefined;
  return (db, ...args) => {
    if (compiled === undefined) {
      const markers = Array.from({ length: arity }, (_, index) => new ArgumentMarker(index));
      const query = build(db, ...(markers as unknown as A)).compile();
      compiled = { query, bindings: query.parameters };
    }
    const { query, bindings } = compiled;
    // The same SQL text every time, so the statement cache serves it prepared; the same query
    // node, so the database metrics count it by its kind (select). The compiled query's id is
    // reused: Kysely keys only its plugins' state by it, and Berth's databases have no plugins.
    const parameters = bindings.map((value) => (value instanceof ArgumentMarker ? args[value.index] : value));
    const bound: CompiledQuery<R> = { query: query.query, queryId: query.queryId, sql: query.sql, parameters };
    const rows = syncReaderOf(db)?.rows(bound);
    return rows === undefined ? db.executeQuery(bound) : Promise.resolve({ rows });
  };
}
