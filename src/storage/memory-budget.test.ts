// Tests of the request memory budget, and of the filesystem writer's use of it: staging buffers
// are reserved while a writer holds them and given back when it finishes, however it finishes,
// and a writer that gets no buffer writes straight to the file, the same bytes.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemDriver } from './filesystem/filesystem-driver.js';
import { COALESCE_BYTES } from './filesystem/filesystem-writer.js';
import { MemoryBudget } from './memory-budget.js';
import { hashStream } from './testing/driver-suite.js';

describe('MemoryBudget', () => {
  it('grants reservations up to its limit, refuses beyond it, and takes them back', () => {
    const budget = new MemoryBudget(100);
    assert.equal(budget.tryReserve(60), true);
    assert.equal(budget.tryReserve(50), false, 'refused: 110 > 100');
    assert.equal(budget.used, 60, 'a refused reservation holds nothing');
    assert.equal(budget.tryReserve(40), true);
    budget.release(60);
    budget.release(40);
    assert.equal(budget.used, 0);
  });

  it('needs a positive limit', () => {
    assert.throws(() => new MemoryBudget(0), RangeError);
  });
});

describe('filesystem writer staging buffers under a memory budget', () => {
  const directories: string[] = [];
  after(() => Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true }))));

  async function driverWith(budget: MemoryBudget): Promise<FilesystemDriver> {
    const directory = await mkdtemp(join(tmpdir(), 'berth-memory-budget-'));
    directories.push(directory);
    return new FilesystemDriver({ rootDirectory: directory, memory: budget });
  }

  const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

  /** Writes data in 64 KiB pieces, as an upload's body arrives. */
  async function writeInPieces(write: (piece: Uint8Array) => Promise<void>, data: Buffer): Promise<void> {
    for (let offset = 0; offset < data.length; offset += 64 * 1024) await write(data.subarray(offset, offset + 64 * 1024));
  }

  it('holds staging buffers only while writers are open, however they finish', async () => {
    const budget = new MemoryBudget(16 * COALESCE_BYTES);
    const driver = await driverWith(budget);
    const data = randomBytes(3 * COALESCE_BYTES + 12_345);
    const finishes = ['commit', 'close', 'cancel'] as const;
    for (const [index, finish] of finishes.entries()) {
      const writer = await driver.writer(`k${index}`, { append: false });
      await writeInPieces((piece) => writer.write(piece), data);
      assert.ok(budget.used > 0 && budget.used <= 2 * COALESCE_BYTES, `${budget.used} bytes reserved while writing`);
      await writer[finish]();
      assert.equal(budget.used, 0, `after ${finish}()`);
    }
    assert.equal(await hashStream(await driver.reader('k0')), sha256(data));
  });

  it('writes through unbuffered when the budget has no staging buffer to spare, and stores the same bytes', async () => {
    // Room for one staging buffer: taken by the first writer, so the second writes through.
    const budget = new MemoryBudget(COALESCE_BYTES);
    const driver = await driverWith(budget);
    const first = await driver.writer('first', { append: false });
    await first.write(randomBytes(100));
    assert.equal(budget.used, COALESCE_BYTES);
    const data = randomBytes(2 * COALESCE_BYTES + 777);
    const second = await driver.writer('second', { append: false });
    await writeInPieces((piece) => second.write(piece), data);
    assert.equal(budget.used, COALESCE_BYTES, 'the second writer reserved nothing');
    await second.commit();
    await first.cancel();
    assert.equal(budget.used, 0);
    assert.equal(await hashStream(await driver.reader('second')), sha256(data));
  });
});
