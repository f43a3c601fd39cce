// Opens the embedded SQLite metadata database (better-sqlite3 through Kysely).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, type Logger as KyselyLogger } from 'kysely';
import type { Database, MetadataDatabase } from './schema.js';
import { GroupCommitSqliteDialect, type WalSync } from './sqlite-group-commit.js';
import { RollbackSafeSqliteDialect } from './sqlite-rollback.js';
import { withStatementCache } from './sqlite-statement-cache.js';
import { enableSyncReads } from './sqlite-sync-reads.js';

export interface OpenSqliteOptions {
  /** Wraps each WAL fsync (tests count, hold or fail them); by default the fsync alone. */
  syncWal?: WalSync;
  /** Told about every query with its duration (Kysely's log: the database metrics). */
  log?: KyselyLogger;
}

export function openSqlite(path: string, options: OpenSqliteOptions = {}): Kysely<Database> {
  mkdirSync(dirname(path), { recursive: true });
  const database = new SqliteDatabase(path);
  // WAL lets readers run while a write commits. Every committed write must survive power loss
  // (invariant 4): with synchronous=FULL SQLite would fsync inside each COMMIT, blocking the
  // event loop; with NORMAL it syncs only around checkpoints and stays consistent, and
  // GroupCommitSqliteDialect restores durability with shared fsyncs off the event loop.
  const journalMode: unknown = database.pragma('journal_mode = WAL', { simple: true });
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const config = { database: withStatementCache(database) };
  const inTransaction = (): boolean => database.inTransaction;
  if (database.memory || journalMode !== 'wal') {
    // Nothing on disk to make durable (:memory:), or no WAL to sync: let SQLite sync commits.
    database.pragma('synchronous = FULL');
    const db = new Kysely<Database>({ dialect: new RollbackSafeSqliteDialect(config, inTransaction), ...logOption(options) });
    enableSyncReads(db, config.database, inTransaction, options.log);
    return db;
  }
  database.pragma('synchronous = NORMAL');
  const totalChanges = database.prepare<[], { n: number }>('select total_changes() as n');
  const db = new Kysely<Database>({
    dialect: new GroupCommitSqliteDialect(config, {
      // SQLite names the WAL after the database's full path (as database_list reports it).
      walPath: `${mainFile(database)}-wal`,
      writeCount: () => totalChanges.get()?.n ?? 0,
      inTransaction,
      sync: options.syncWal,
    }),
    ...logOption(options),
  });
  // Hot point reads (prepared-query.ts) skip the driver when no transaction is open.
  enableSyncReads(db, config.database, inTransaction, options.log);
  return db;
}

/**
 * Opens an existing SQLite database read-only, as it is (no journal mode or pragma changes),
 * for reading without writing anything (`berth config check`). Throws when the file is missing.
 */
export function openSqliteReadOnly(path: string): MetadataDatabase {
  const database = new SqliteDatabase(path, { readonly: true, fileMustExist: true });
  return new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
}

/** The main database's full path, as SQLite resolved it (and names its WAL after). */
function mainFile(database: SqliteDatabase.Database): string {
  const list = database.pragma('database_list') as { name: string; file: string }[];
  const main = list.find((entry) => entry.name === 'main');
  if (main === undefined || main.file === '') throw new Error(`SQLite reports no file for ${database.name}`);
  return main.file;
}

function logOption(options: OpenSqliteOptions): { log?: KyselyLogger } {
  return options.log === undefined ? {} : { log: options.log };
}
