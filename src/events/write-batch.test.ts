import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WriteBatch } from './write-batch.js';

/** A batch whose writes are recorded; `hold` makes the first write wait until released. */
function recording(options: { maxBatch?: number; maxQueued?: number; hold?: boolean } = {}) {
  const writes: number[][] = [];
  const failures: number[] = [];
  let release: (() => void) | undefined;
  let started: (() => void) | undefined;
  const writeStarted = new Promise<void>((resolve) => {
    started = resolve;
  });
  const batch = new WriteBatch<number>(
    async (items) => {
      writes.push(items);
      started?.();
      if (options.hold && writes.length === 1) await new Promise<void>((resolve) => (release = resolve));
    },
    {
      // Long enough that no timer fires during a test: writes come from maxBatch or flush().
      delayMs: 60_000,
      maxBatch: options.maxBatch ?? 100,
      maxQueued: options.maxQueued ?? 1000,
      failed: (_error, count) => failures.push(count),
    },
  );
  return { batch, writes, failures, writeStarted, release: () => release?.() };
}

describe('WriteBatch', () => {
  it('writes what was queued in one write, in order, on flush', async () => {
    const { batch, writes } = recording();
    for (let i = 0; i < 5; i++) batch.add(i);
    assert.deepEqual(writes, []);
    await batch.flush();
    assert.deepEqual(writes, [[0, 1, 2, 3, 4]]);
    await batch.flush();
    assert.equal(writes.length, 1, 'nothing left to write');
  });

  it('starts a write at once when a batch is full, and queues what comes meanwhile for the next', async () => {
    const { batch, writes, writeStarted, release } = recording({ maxBatch: 3, hold: true });
    batch.add(1);
    batch.add(2);
    batch.add(3);
    await writeStarted;
    assert.deepEqual(writes, [[1, 2, 3]]);
    batch.add(4);
    const flushed = batch.flush();
    release();
    await flushed;
    assert.deepEqual(writes, [[1, 2, 3], [4]]);
  });

  it('drops and counts what exceeds maxQueued', async () => {
    const { batch, writes } = recording({ maxQueued: 2 });
    batch.add(1);
    batch.add(2);
    batch.add(3);
    assert.equal(batch.dropped, 1);
    await batch.flush();
    assert.deepEqual(writes, [[1, 2]]);
  });

  it('reports a failed write with its count and goes on with the next items', async () => {
    const failures: number[] = [];
    let fail = true;
    const written: number[][] = [];
    const batch = new WriteBatch<number>(
      async (items) => {
        if (fail) throw new Error('database down');
        written.push(items);
      },
      { delayMs: 60_000, maxBatch: 100, maxQueued: 100, failed: (_error, count) => failures.push(count) },
    );
    batch.add(1);
    batch.add(2);
    await batch.flush();
    assert.deepEqual(failures, [2]);
    fail = false;
    batch.add(3);
    await batch.flush();
    assert.deepEqual(written, [[3]]);
  });
});
