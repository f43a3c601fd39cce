// Opens the PostgreSQL metadata database (a pg connection pool through Kysely), for the
// scale-out deployment where several replicas share one index. Same schema, migrations and
// queries as SQLite; only the connection set-up is PostgreSQL's own.
import { Kysely, PostgresDialect, type Logger as KyselyLogger } from 'kysely';
import { Pool, TypeOverrides } from 'pg';
import type { Database } from './schema.js';

export interface PostgresOptions {
  /** Most connections this process keeps open; default 10. */
  readonly max?: number;
  /** The server cancels any statement running longer (statement_timeout); default 30 s, 0 disables. */
  readonly statementTimeoutMs?: number;
  /** How long to wait for a connection before a query fails; default: as long as it takes. */
  readonly connectionTimeoutMs?: number;
  /** Told about every query with its duration (Kysely's log: the database metrics). */
  readonly log?: KyselyLogger;
}

const INT8_OID = 20;

/**
 * bigint (sizes, counts) comes from pg as a string, since it may exceed 2^53. Blob sizes and
 * row counts never do, so the layers above get numbers; a value that would lose precision is
 * an error rather than a silently wrong size.
 */
function parseInt8(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) throw new RangeError(`bigint ${value} does not fit in a JavaScript number`);
  return parsed;
}

export function openPostgres(url: string, options: PostgresOptions = {}): Kysely<Database> {
  // Per pool, not pg.types.setTypeParser: the global would change every other pg user in the process.
  const types = new TypeOverrides();
  types.setTypeParser(INT8_OID, parseInt8);
  const pool = new Pool({
    connectionString: url,
    max: options.max ?? 10,
    // Sent in the start-up packet, so every pooled connection has it without an extra round trip;
    // a stuck query (or a lock wait behind a stalled replica) fails instead of hanging a request.
    statement_timeout: options.statementTimeoutMs ?? 30_000,
    fallback_application_name: 'berth',
    ...(options.connectionTimeoutMs === undefined ? {} : { connectionTimeoutMillis: options.connectionTimeoutMs }),
    types,
  });
  // An idle pooled connection that breaks (server restart, network) emits 'error' on the pool;
  // unhandled it would crash the process. The pool drops that connection and the next query
  // opens a new one, so there is nothing else to do here.
  pool.on('error', () => {});
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }), ...(options.log === undefined ? {} : { log: options.log }) });
}
