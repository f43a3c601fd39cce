// Tests of WriterBase over a small writer that stages everything and keeps its content in a
// Map: the order of operations, the finished states, the first failure, the writer's signal,
// the staging buffer's memory, and the mapping of the steps' errors. Real writers run the
// driver suite (storage/testing/driver-suite.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StorageError } from '../errors/storage.js';
import { ErrorMapper } from './error-mapping.js';
import { MemoryBudget } from './memory-budget.js';
import { WriterBase } from './writer-base.js';

const errors = new ErrorMapper('memory', {
  isNotFound: () => false,
  codeOf: (error) => (error instanceof Error ? error.message : undefined),
});

/** Stages every chunk (up to 1 KiB) and puts the staged bytes in `store` on commit and close. */
class MapWriter extends WriterBase {
  readonly steps: string[] = [];
  /** A step to fail, with the error it throws. */
  failing: { step: string; error: Error } | undefined;

  constructor(
    readonly store: Map<string, Buffer>,
    key: string,
    options: { memory?: MemoryBudget; signal?: AbortSignal } = {},
  ) {
    super({ errors, key, ...options });
  }

  protected get unstagedSize(): number {
    return 0;
  }

  #step(step: string): void {
    this.steps.push(step);
    if (this.failing?.step === step) throw this.failing.error;
  }

  protected async writeChunk(chunk: Uint8Array): Promise<void> {
    await Promise.resolve(); // as if the write went somewhere
    try {
      this.#step('write');
    } catch (error) {
      throw this.fail('write', error);
    }
    if (!this.staging.reserve(1024)) throw new Error('no memory');
    this.staging.append(chunk);
  }
  protected async completeContent(): Promise<void> {
    this.#step('complete');
    this.store.set(this.key, Buffer.from(this.staging.bytes()));
  }
  protected override async afterCommit(): Promise<void> {
    this.#step('after commit');
  }
  protected async keepContent(): Promise<void> {
    this.#step(this.failure === undefined ? 'keep' : 'keep after failure');
    if (this.failure === undefined) this.store.set(this.key, Buffer.from(this.staging.bytes()));
  }
  protected async discardContent(): Promise<void> {
    this.#step('discard');
    this.store.delete(this.key);
  }
}

describe('WriterBase', () => {
  it('runs writes in order even when they are not awaited, and counts staged bytes in size', async () => {
    const store = new Map<string, Buffer>();
    const writer = new MapWriter(store, 'k');
    const writes = ['a', '', 'b', 'c'].map((text) => writer.write(Buffer.from(text)));
    await Promise.all(writes);
    assert.equal(writer.size, 3);
    assert.deepEqual(writer.steps, ['write', 'write', 'write'], 'an empty chunk reaches no step');
    await writer.commit();
    assert.equal(store.get('k')?.toString(), 'abc');
    assert.equal(writer.size, 3, 'a finished writer still reports its size');
  });

  it('is finished after commit, close or cancel: writes and commits fail, close and cancel do nothing', async () => {
    for (const [finish, state] of [
      ['commit', 'committed'],
      ['close', 'closed'],
      ['cancel', 'cancelled'],
    ] as const) {
      const writer = new MapWriter(new Map(), 'k');
      await writer.write(Buffer.from('x'));
      await writer[finish]();
      const steps = [...writer.steps];
      await assert.rejects(writer.write(Buffer.from('y')), { message: `memory: cannot write "k": the writer is ${state}` });
      await assert.rejects(writer.commit(), /cannot commit/);
      await writer.close();
      await writer.cancel();
      assert.deepEqual(writer.steps, steps, `no step runs after ${finish}`);
    }
  });

  it('keeps the first failure: later writes and commit reject with it, close still runs', async () => {
    const writer = new MapWriter(new Map(), 'k');
    writer.failing = { step: 'write', error: new Error('EIO') };
    const failure = await writer.write(Buffer.from('x')).catch((error: unknown) => error);
    assert.ok(failure instanceof StorageError);
    assert.equal(failure.message, 'memory: write failed for "k" (EIO)');
    writer.failing = undefined;
    await assert.rejects(writer.write(Buffer.from('y')), (error) => error === failure);
    await assert.rejects(writer.commit(), (error) => error === failure);
    await writer.close();
    assert.deepEqual(writer.steps, ['write', 'keep after failure']);
  });

  it('fails the writer when commit fails, so that cancel can still remove the content', async () => {
    const store = new Map<string, Buffer>();
    const writer = new MapWriter(store, 'k');
    await writer.write(Buffer.from('x'));
    writer.failing = { step: 'complete', error: new Error('EIO') };
    await assert.rejects(writer.commit(), { message: 'memory: commit failed for "k" (EIO)' });
    await assert.rejects(writer.write(Buffer.from('y')), { message: 'memory: commit failed for "k" (EIO)' });
    await writer.cancel();
    assert.deepEqual(writer.steps, ['write', 'complete', 'discard']);
  });

  it('maps the errors of every finishing step with its operation', async () => {
    for (const [finish, step] of [
      ['commit', 'after commit'],
      ['close', 'keep'],
      ['cancel', 'discard'],
    ] as const) {
      const writer = new MapWriter(new Map(), 'k');
      writer.failing = { step, error: new Error('EIO') };
      await assert.rejects(writer[finish](), { message: `memory: ${finish} failed for "k" (EIO)` });
    }
  });

  it('refuses writes once its signal aborts, and can still be cancelled', async () => {
    const controller = new AbortController();
    const store = new Map([['k', Buffer.from('old')]]);
    const writer = new MapWriter(store, 'k', { signal: controller.signal });
    await writer.write(Buffer.from('x'));
    controller.abort();
    await assert.rejects(writer.write(Buffer.from('y')), { name: 'AbortError' });
    await writer.cancel();
    assert.equal(store.has('k'), false);
  });

  it('gives the staging memory back however the writer finishes', async () => {
    const memory = new MemoryBudget(4096);
    for (const finish of ['commit', 'close', 'cancel'] as const) {
      const writer = new MapWriter(new Map(), 'k', { memory });
      await writer.write(Buffer.from('x'));
      assert.equal(memory.used, 1024);
      await writer[finish]();
      assert.equal(memory.used, 0, `after ${finish}`);
    }
  });
});
