// The timing decorator keeps the driver contract (the shared suite, run through it unchanged)
// and reports each call once with its outcome; streams come back as the driver made them.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PathNotFoundError } from '../errors/storage.js';
import { isSelfSending } from './driver.js';
import { FilesystemDriver } from './filesystem/filesystem-driver.js';
import { InstrumentedDriver, type StorageObserver, type StorageOperation } from './instrumented-driver.js';
import { runDriverSuite } from './testing/driver-suite.js';

class RecordingObserver implements StorageObserver {
  readonly calls: { driver: string; operation: StorageOperation; failed: boolean }[] = [];

  operationFinished(driver: string, operation: StorageOperation, seconds: number, failed: boolean): void {
    assert.ok(seconds >= 0 && Number.isFinite(seconds));
    this.calls.push({ driver, operation, failed });
  }
}

async function instrumented(): Promise<{ driver: InstrumentedDriver; observer: RecordingObserver; cleanup: () => Promise<void> }> {
  const directory = await mkdtemp(join(tmpdir(), 'berth-instrumented-'));
  const observer = new RecordingObserver();
  return {
    driver: new InstrumentedDriver(new FilesystemDriver({ rootDirectory: join(directory, 'root') }), observer),
    observer,
    cleanup: () => rm(directory, { recursive: true, force: true }),
  };
}

runDriverSuite('filesystem, instrumented', instrumented);

describe('instrumented driver', () => {
  it('reports each call once, by operation, with failures marked', async () => {
    const { driver, observer, cleanup } = await instrumented();
    try {
      await driver.putContent('a/b', Buffer.from('hello'));
      assert.equal((await driver.stat('a/b')).size, 5);
      await assert.rejects(driver.stat('a/missing'), PathNotFoundError);
      const writer = await driver.writer('c/d', { append: false });
      await writer.write(Buffer.from('abc'));
      await writer.write(Buffer.from('def'));
      assert.equal(writer.size, 6);
      await writer.commit();
      await driver.move('c/d', 'c/e');
      assert.deepEqual(await driver.list('c'), ['c/e']);
      await driver.delete('c');
      assert.deepEqual(observer.calls, [
        { driver: 'filesystem', operation: 'putContent', failed: false },
        { driver: 'filesystem', operation: 'stat', failed: false },
        { driver: 'filesystem', operation: 'stat', failed: true },
        { driver: 'filesystem', operation: 'writer', failed: false },
        // write() is the driver's own: not reported.
        { driver: 'filesystem', operation: 'commit', failed: false },
        { driver: 'filesystem', operation: 'move', failed: false },
        { driver: 'filesystem', operation: 'list', failed: false },
        { driver: 'filesystem', operation: 'delete', failed: false },
      ]);
    } finally {
      await cleanup();
    }
  });

  it('hands back the driver own stream, so a file still sends itself', async () => {
    const { driver, cleanup } = await instrumented();
    try {
      await driver.putContent('f', Buffer.from('content'));
      const stream = await driver.reader('f');
      assert.ok(isSelfSending(stream));
      stream.destroy();
      // Only drivers with redirects have the method: callers test for it.
      assert.equal(driver.redirectUrl, undefined);
      assert.equal(driver.name, 'filesystem');
    } finally {
      await cleanup();
    }
  });
});
