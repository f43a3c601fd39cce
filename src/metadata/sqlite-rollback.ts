// Kysely's SQLite driver with a ROLLBACK that leaves alone a transaction SQLite has already ended.
// On some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM, SQLITE_BUSY) SQLite may roll the whole
// transaction back by itself (https://www.sqlite.org/lang_transaction.html, "Response To Errors
// Within A Transaction"). Kysely then sends ROLLBACK, which fails with "cannot rollback - no
// transaction is active", and throws that in place of the error that ended the transaction: a
// full disk was answered 500 UNKNOWN instead of 507.
//
// Transactions also begin IMMEDIATE, taking the database's write lock at once (waiting for it
// up to busy_timeout). Another process may write the same file (`berth gc`, `berth retention`,
// account commands while the server runs): a deferred transaction that reads first and writes
// later fails at once with SQLITE_BUSY when that process committed in between, instead of
// waiting; one that holds the write lock from its start never does. Within one process the
// single connection runs one transaction at a time anyway, so this costs nothing.
import { CompiledQuery, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type SqliteDialectConfig } from 'kysely';

/** Whether the connection is inside a transaction (better-sqlite3's `database.inTransaction`). */
export type InTransaction = () => boolean;

export class RollbackSafeSqliteDriver extends SqliteDriver {
  readonly #inTransaction: InTransaction;

  constructor(config: SqliteDialectConfig, inTransaction: InTransaction) {
    super(config);
    this.#inTransaction = inTransaction;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    // Nothing left to undo: SQLite rolled back already, and the caller rethrows the cause.
    if (!this.#inTransaction()) return;
    await super.rollbackTransaction(connection);
  }
}

export class RollbackSafeSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  readonly #inTransaction: InTransaction;

  constructor(config: SqliteDialectConfig, inTransaction: InTransaction) {
    super(config);
    this.#config = config;
    this.#inTransaction = inTransaction;
  }

  override createDriver(): Driver {
    return new RollbackSafeSqliteDriver(this.#config, this.#inTransaction);
  }
}
