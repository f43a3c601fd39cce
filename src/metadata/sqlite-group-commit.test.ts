// Group commit on a real SQLite file: a write resolves only after a WAL fsync that covers it,
// concurrent writes share fsyncs, reads never wait, and a failed fsync fails the writes it covered.
// Then the WAL fsync itself (walFileSync), observed through the descriptors it holds (Linux).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readlink, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MetadataStore } from './metadata-store.js';
import { walFileSync } from './sqlite-group-commit.js';
import { openSqlite } from './sqlite.js';

/** The WAL syncs a store asked for, with a way to hold them open or make them fail. */
class ObservedSyncs {
  count = 0;
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;
  failWith: Error | undefined;

  hold(): void {
    this.#gate = new Promise((resolve) => (this.#open = resolve));
  }

  release(): void {
    this.#open?.();
    this.#gate = undefined;
  }

  readonly syncWal = async (fsyncWal: () => Promise<void>): Promise<void> => {
    this.count += 1;
    await this.#gate;
    if (this.failWith) throw this.failWith;
    await fsyncWal();
  };
}

/** Lets pending I/O and promise callbacks run, so anything that can settle has settled. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
}

function track<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let settled = false;
  const tracked = promise.finally(() => (settled = true));
  return { promise: tracked, settled: () => settled };
}

describe('sqlite group commit', () => {
  let dir: string;
  let syncs: ObservedSyncs;
  let store: MetadataStore;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-group-commit-'));
    syncs = new ObservedSyncs();
    store = new MetadataStore(openSqlite(join(dir, 'metadata.db'), { syncWal: syncs.syncWal }));
    await store.migrate();
  });

  after(async () => {
    syncs.release();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('syncs the WAL while migrating, since migrations write', () => {
    assert.ok(syncs.count > 0);
  });

  it('resolves a write only after a WAL sync that started after it committed, and never makes reads wait', async () => {
    const before = syncs.count;
    syncs.hold();
    const write = track(store.createUpload('held', 'library/app'));
    await settle();
    assert.equal(syncs.count, before + 1, 'the write started a sync');
    assert.equal(write.settled(), false, 'the write waits for its sync');

    // The connection is free while the sync runs: reads answer (and see the committed row).
    assert.equal((await store.findUpload('held'))?.repository, 'library/app');
    assert.equal(await store.repositoryExists('nothing/here'), false);
    assert.equal(syncs.count, before + 1, 'reads start no sync');
    assert.equal(write.settled(), false);

    syncs.release();
    await write.promise;
    assert.equal(syncs.count, before + 1);
  });

  it('lets concurrent writes share syncs', async () => {
    const before = syncs.count;
    const writes = 40;
    await Promise.all(Array.from({ length: writes }, (_, i) => store.createUpload(`concurrent-${i}`, 'library/app')));
    const used = syncs.count - before;
    assert.ok(used >= 1 && used <= 3, `${writes} concurrent writes used ${used} syncs`);
    for (let i = 0; i < writes; i += 1) assert.ok(await store.findUpload(`concurrent-${i}`));
  });

  it('makes a write that commits during a sync wait for the next sync', async () => {
    const before = syncs.count;
    syncs.hold();
    const first = track(store.createUpload('first', 'library/app'));
    await settle();
    const second = track(store.createUpload('second', 'library/app'));
    await settle();
    assert.equal(syncs.count, before + 1, 'the second write waits for the first sync to end');
    syncs.release();
    await Promise.all([first.promise, second.promise]);
    assert.equal(syncs.count, before + 2, 'then a sync of its own');
  });

  it('rejects the writes a failed sync covered, and syncs afresh for the next write', async () => {
    syncs.failWith = new Error('EIO: simulated fsync failure');
    await assert.rejects(store.createUpload('unlucky', 'library/app'), /simulated fsync failure/);
    syncs.failWith = undefined;
    await store.createUpload('lucky', 'library/app');
    assert.ok(await store.findUpload('lucky'));
  });

  it('does not sync for writes that change nothing', async () => {
    const before = syncs.count;
    await store.deleteUpload('no-such-upload');
    assert.equal(syncs.count, before);
  });
});

describe('sqlite group commit across close and reopen', () => {
  it('keeps what was written, and closing syncs nothing it need not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-group-commit-'));
    const path = join(dir, 'metadata.db');
    try {
      const syncs = new ObservedSyncs();
      const first = new MetadataStore(openSqlite(path, { syncWal: syncs.syncWal }));
      await first.migrate();
      await Promise.all([first.createUpload('a', 'library/app'), first.createUpload('b', 'library/app')]);
      await first.addBlobToRepository('library/app', `sha256:${'a'.repeat(64)}`, 7);
      const count = syncs.count;
      await first.close();
      assert.equal(syncs.count, count, 'everything was already durable');
      assert.equal(existsSync(`${path}-wal`), false, 'a clean close checkpoints and removes the WAL');

      const second = new MetadataStore(openSqlite(path));
      try {
        assert.equal((await second.findUpload('a'))?.repository, 'library/app');
        assert.equal((await second.findUpload('b'))?.repository, 'library/app');
        assert.deepEqual(await second.findRepositoryBlob('library/app', `sha256:${'a'.repeat(64)}`), { size: 7 });
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('walFileSync', () => {
  let dir: string;
  let walPath: string;

  before(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'berth-wal-sync-')));
    walPath = join(dir, 'db-wal');
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** How many descriptors this process holds on `path` (Linux's /proc/self/fd names their files). */
  async function descriptorsOn(path: string): Promise<number> {
    let count = 0;
    for (const fd of await readdir('/proc/self/fd')) {
      if ((await readlink(join('/proc/self/fd', fd)).catch(() => undefined)) === path) count += 1;
    }
    return count;
  }

  it('has nothing to sync before the WAL exists: it creates nothing and holds nothing open', async () => {
    const wal = walFileSync(walPath);
    try {
      await wal.sync();
      await wal.sync();
      assert.equal(existsSync(walPath), false, 'the WAL was not created');
      assert.equal(await descriptorsOn(walPath), 0);
    } finally {
      await wal.close();
    }
  });

  it('syncs the WAL once it exists, through one handle kept until close', async () => {
    const wal = walFileSync(walPath);
    try {
      await wal.sync();
      await writeFile(walPath, 'frames');
      await wal.sync();
      await wal.sync();
      assert.equal(await descriptorsOn(walPath), 1, 'opened when first needed, then reused');
      await wal.close();
      assert.equal(await descriptorsOn(walPath), 0, 'closed');
      await wal.sync();
      assert.equal(await descriptorsOn(walPath), 1, 'a sync after close opens it again');
    } finally {
      await wal.close();
      await rm(walPath, { force: true });
    }
  });

  it('really syncs the file: one that cannot be synced fails the sync', async () => {
    // fdatasync on a character device is EINVAL: the sync reached the file it opened.
    await symlink('/dev/null', walPath);
    const wal = walFileSync(walPath);
    try {
      await assert.rejects(wal.sync(), { code: 'EINVAL' });
    } finally {
      await wal.close();
      await rm(walPath, { force: true });
    }
  });

  it('reports a failure to open other than a missing WAL', async () => {
    await writeFile(join(dir, 'a-file'), '');
    const wal = walFileSync(join(dir, 'a-file', 'db-wal'));
    try {
      await assert.rejects(wal.sync(), { code: 'ENOTDIR' });
    } finally {
      await wal.close();
    }
  });
});
