// Group commit for the embedded SQLite database: makes each committed write durable with an fsync
// of the WAL file run on libuv's thread pool, shared by every write that committed before it
// started, instead of SQLite fsyncing on the event loop inside every COMMIT.
//
// Why this is enough: the database runs in WAL mode with synchronous=NORMAL, where "the WAL file
// is synchronized before each checkpoint and the database file is synchronized after each
// completed checkpoint and the WAL file header is synchronized when a WAL file begins to be
// reused after a checkpoint, but no sync operations occur during most transactions"
// (https://www.sqlite.org/pragma.html#pragma_synchronous), so the database stays consistent
// after power loss and only the last commits may roll back (https://www.sqlite.org/wal.html,
// "Performance Considerations"). A commit is frames appended to the WAL, in commit order, so one
// fsync of the WAL makes every commit before it durable. We sync before the Kysely call that
// wrote resolves, so nothing is acknowledged that a power loss could take back.
import { open, type FileHandle } from 'node:fs/promises';
import { SqliteDialect, type DatabaseConnection, type Driver, type SqliteDialectConfig } from 'kysely';
import { RollbackSafeSqliteDriver, type InTransaction } from './sqlite-rollback.js';

/** Runs one fsync (or a test's stand-in, which may call the real one). */
export type WalSync = (syncWal: () => Promise<void>) => Promise<void>;

/**
 * Shares fsyncs between writers. Positions are a write counter that only grows; a position is
 * durable once a sync that started after it was reached has finished.
 */
export class GroupCommit {
  #durable: number;
  #inFlight: { covers: number; done: Promise<void> } | undefined;
  #next: Promise<void> | undefined;

  constructor(
    private readonly sync: () => Promise<void>,
    /** The position of the last released (so committed or rolled back) operation. */
    private readonly committed: () => number,
  ) {
    this.#durable = committed();
  }

  /** Resolves once everything up to `position` is on disk; rejects if the sync covering it failed. */
  ensureDurable(position: number): Promise<void> {
    if (position <= this.#durable) return Promise.resolve();
    if (this.#inFlight !== undefined && this.#inFlight.covers >= position) return this.#inFlight.done;
    // The sync in flight started too early to cover us: the next one, shared by everyone who
    // arrives until it starts, covers all of them.
    this.#next ??= this.#startAfterInFlight();
    return this.#next;
  }

  /** Makes everything committed so far durable (for a clean shutdown). */
  flush(): Promise<void> {
    return this.ensureDurable(this.committed());
  }

  async #startAfterInFlight(): Promise<void> {
    // Its failure is reported to its own waiters; ours get a fresh attempt.
    await this.#inFlight?.done.catch(() => undefined);
    this.#next = undefined;
    const covers = this.committed();
    const done = this.sync().then(() => {
      this.#durable = Math.max(this.#durable, covers);
    });
    const inFlight = { covers, done };
    this.#inFlight = inFlight;
    try {
      await done;
    } finally {
      if (this.#inFlight === inFlight) this.#inFlight = undefined;
    }
  }
}

/**
 * Fsyncs `<database>-wal`. The file appears with the first write and SQLite deletes it only when
 * the last connection closes, while checkpoints truncate or rewrite it in place, so one handle,
 * opened when first needed, stays on the right inode for as long as our connection is open.
 */
export function walFileSync(walPath: string): { sync: () => Promise<void>; close: () => Promise<void> } {
  let handle: Promise<FileHandle | undefined> | undefined;
  const opened = (): Promise<FileHandle | undefined> => {
    handle ??= open(walPath, 'r').catch((error: unknown) => {
      handle = undefined; // try again next time
      // No WAL yet means no commit in it, so nothing to sync.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    });
    return handle;
  };
  return {
    // fdatasync, as SQLite itself uses on Linux: it also flushes the file size, which reading
    // the appended frames back needs.
    sync: async () => (await opened())?.datasync(),
    close: async () => {
      const file = await handle?.catch(() => undefined);
      handle = undefined;
      await file?.close();
    },
  };
}

/** Kysely's SqliteDialect whose driver awaits a group-committed WAL fsync after each write. */
export class GroupCommitSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  readonly #options: GroupCommitOptions;

  constructor(config: SqliteDialectConfig, options: GroupCommitOptions) {
    super(config);
    this.#config = config;
    this.#options = options;
  }

  override createDriver(): Driver {
    return new GroupCommitDriver(this.#config, this.#options);
  }
}

export interface GroupCommitOptions {
  walPath: string;
  /** A counter of rows changed on the connection (SQLite's total_changes()). */
  writeCount: () => number;
  /** Whether the connection is inside a transaction (see sqlite-rollback.ts). */
  inTransaction: InTransaction;
  sync?: WalSync | undefined;
}

class GroupCommitDriver extends RollbackSafeSqliteDriver {
  readonly #writeCount: () => number;
  readonly #wal: ReturnType<typeof walFileSync>;
  readonly #groupCommit: GroupCommit;
  #countAtAcquire = 0;
  #countAtRelease = 0;

  constructor(config: SqliteDialectConfig, options: GroupCommitOptions) {
    super(config, options.inTransaction);
    this.#writeCount = options.writeCount;
    this.#wal = walFileSync(options.walPath);
    const { sync } = options;
    const syncWal = this.#wal.sync;
    this.#groupCommit = new GroupCommit(sync ? () => sync(syncWal) : syncWal, () => this.#countAtRelease);
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await super.acquireConnection();
    // SQLite has one connection and SqliteDriver's mutex lends it to one operation at a time,
    // so whatever changes the count until release is this operation's.
    this.#countAtAcquire = this.#writeCount();
    return connection;
  }

  override async releaseConnection(): Promise<void> {
    const count = this.#writeCount();
    const wrote = count !== this.#countAtAcquire;
    this.#countAtRelease = count;
    // Release first, so other operations use the connection (and commit, joining the next
    // fsync) while this one waits for its fsync. Kysely awaits releaseConnection before it
    // resolves the query or transaction, so the caller hears of success only once durable.
    // (Controlled transactions, db.startTransaction(), do not await it; Berth uses none.)
    await super.releaseConnection();
    if (wrote) await this.#groupCommit.ensureDurable(count);
  }

  override async destroy(): Promise<void> {
    // Closing checkpoints (which syncs) when it can, but another process reading the file can
    // keep the WAL around: sync it ourselves so a clean shutdown leaves nothing undurable.
    try {
      await this.#groupCommit.flush();
    } finally {
      await this.#wal.close();
      await super.destroy();
    }
  }
}
