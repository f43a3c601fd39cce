// The scheduler against fake timers (no sleeping): intervals counted from the end of a run, no
// overlap of a job with itself, failures logged and retried on the next turn, stop() aborting
// and awaiting runs, and exclusive jobs under a cluster lock. Also the upload purge job.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { JobScheduler, type ClusterLock, type JobContext, type SchedulerTimers } from './scheduler.js';
import { uploadPurgeJob } from './upload-purge.js';

/** Timers on a clock that moves only when told to. */
class FakeTimers implements SchedulerTimers {
  now = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.pending.set(id, { at: this.now + ms, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** When the armed timers fire. */
  get due(): number[] {
    return [...this.pending.values()].map((t) => t.at).sort((a, b) => a - b);
  }

  /** Moves the clock, firing every timer that falls due on the way (and what they set off). */
  async advance(ms: number): Promise<void> {
    const target = this.now + ms;
    for (;;) {
      await settle();
      const next = [...this.pending.entries()].filter(([, t]) => t.at <= target).sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) break;
      this.pending.delete(next[0]);
      this.now = next[1].at;
      next[1].callback();
    }
    this.now = target;
    await settle();
  }
}

/** Lets promise chains started by a timer run to their next real wait. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

function recordingLogger(): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines: () => lines };
}

/** A promise with its resolve and reject in hand. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('JobScheduler', () => {
  it('runs a job an interval after start, then an interval after each run ends', async () => {
    const timers = new FakeTimers();
    const { logger } = recordingLogger();
    const starts: number[] = [];
    let finish = deferred();
    const scheduler = new JobScheduler({ logger, timers }).add({
      name: 'tick',
      intervalMs: 1000,
      run: async () => {
        starts.push(timers.now);
        await finish.promise;
      },
    });
    scheduler.start();
    await timers.advance(999);
    assert.deepEqual(starts, []);
    await timers.advance(1);
    assert.deepEqual(starts, [1000]);
    // Still running after many intervals: no second run starts meanwhile.
    await timers.advance(5000);
    assert.deepEqual(starts, [1000]);
    assert.deepEqual(timers.due, []);
    finish.resolve();
    finish = deferred();
    await timers.advance(0);
    assert.deepEqual(timers.due, [7000], 'next run one interval after the end');
    await timers.advance(1000);
    assert.deepEqual(starts, [1000, 7000]);
    finish.resolve();
    await scheduler.stop();
  });

  it('runs a runAtStart job at once', async () => {
    const timers = new FakeTimers();
    let runs = 0;
    const scheduler = new JobScheduler({ logger: recordingLogger().logger, timers }).add({
      name: 'early',
      intervalMs: 1000,
      runAtStart: true,
      run: async () => {
        runs++;
      },
    });
    scheduler.start();
    scheduler.start();
    await timers.advance(0);
    assert.equal(runs, 1);
    await timers.advance(1000);
    assert.equal(runs, 2);
    await scheduler.stop();
  });

  it('logs a failure instead of throwing, and runs the job again on its next turn', async () => {
    const timers = new FakeTimers();
    const { logger, lines } = recordingLogger();
    let runs = 0;
    const scheduler = new JobScheduler({ logger, timers }).add({
      name: 'flaky',
      intervalMs: 100,
      run: async () => {
        runs++;
        if (runs === 1) throw new Error('disk on fire');
      },
    });
    scheduler.start();
    await timers.advance(100);
    const failure = lines().find((line) => line.msg === 'background job failed');
    assert.ok(failure, 'the failure is logged');
    assert.equal(failure.job, 'flaky');
    assert.equal(failure.level, 50);
    assert.match(String((failure.err as { message: string }).message), /disk on fire/);
    await timers.advance(100);
    assert.equal(runs, 2);
    assert.equal(await scheduler.runNow('flaky'), 'done');
    await scheduler.stop();
  });

  it('lets a run asked for while one is in progress join it instead of overlapping', async () => {
    const timers = new FakeTimers();
    const finish = deferred();
    let runs = 0;
    const scheduler = new JobScheduler({ logger: recordingLogger().logger, timers }).add({
      name: 'slow',
      intervalMs: 100,
      run: async () => {
        runs++;
        await finish.promise;
      },
    });
    const first = scheduler.runNow('slow');
    const second = scheduler.runNow('slow');
    assert.equal(first, second);
    finish.resolve();
    assert.equal(await first, 'done');
    assert.equal(runs, 1);
    assert.throws(() => scheduler.runNow('nothing'), /no job named nothing/);
  });

  it('stop() clears the timers, aborts the runs in progress and waits for them', async () => {
    const timers = new FakeTimers();
    const { logger, lines } = recordingLogger();
    let signal: AbortSignal | undefined;
    let ended = false;
    const scheduler = new JobScheduler({ logger, timers })
      .add({
        name: 'long',
        intervalMs: 100,
        run: async (context: JobContext) => {
          signal = context.signal;
          // Works in steps and stops between them when asked to.
          await new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve()));
          await settle();
          ended = true;
          context.signal.throwIfAborted();
        },
      })
      .add({ name: 'idle', intervalMs: 1000, run: async () => undefined });
    scheduler.start();
    await timers.advance(100);
    assert.equal(signal?.aborted, false);
    const stopped = scheduler.stop();
    assert.equal(signal?.aborted, true);
    assert.equal(ended, false, 'stop() is still waiting for the run');
    await stopped;
    assert.equal(ended, true);
    assert.deepEqual(timers.due, [], 'no timer left');
    // An aborted run that throws is reported as stopped, not as a failure.
    assert.ok(lines().some((line) => line.msg === 'background job stopped' && line.job === 'long'));
    assert.ok(!lines().some((line) => line.msg === 'background job failed'));
    assert.equal(await scheduler.runNow('idle'), 'stopped');
    scheduler.start();
    assert.deepEqual(timers.due, [], 'a stopped scheduler does not start again');
    assert.equal(scheduler.stop(), stopped, 'stop() is idempotent');
  });

  it('runs an exclusive job under the cluster lock named after it, and skips the turn when another replica holds it', async () => {
    const timers = new FakeTimers();
    const asked: string[] = [];
    let held = false;
    const lock: ClusterLock = {
      async runExclusive<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
        asked.push(name);
        return held ? undefined : run();
      },
    };
    let runs = 0;
    let sharedRuns = 0;
    const scheduler = new JobScheduler({ logger: recordingLogger().logger, timers, lock })
      .add({
        name: 'once-per-cluster',
        intervalMs: 100,
        exclusive: true,
        run: async () => {
          runs++;
        },
      })
      .add({
        name: 'every-replica',
        intervalMs: 100,
        run: async () => {
          sharedRuns++;
        },
      });
    assert.equal(await scheduler.runNow('once-per-cluster'), 'done');
    held = true;
    assert.equal(await scheduler.runNow('once-per-cluster'), 'locked');
    assert.equal(runs, 1);
    assert.equal(await scheduler.runNow('every-replica'), 'done');
    assert.deepEqual(asked, ['once-per-cluster', 'once-per-cluster'], 'only exclusive jobs take the lock');
    assert.equal(sharedRuns, 1);
  });

  it('refuses two jobs of one name and intervals that are not positive', () => {
    const scheduler = new JobScheduler({ logger: recordingLogger().logger, timers: new FakeTimers() });
    scheduler.add({ name: 'a', intervalMs: 1, run: async () => undefined });
    assert.throws(() => scheduler.add({ name: 'a', intervalMs: 1, run: async () => undefined }), /already scheduled/);
    assert.throws(() => scheduler.add({ name: 'b', intervalMs: 0, run: async () => undefined }), /positive/);
    assert.deepEqual(scheduler.jobNames, ['a']);
  });

  it('starts a job added after start()', async () => {
    const timers = new FakeTimers();
    let runs = 0;
    const scheduler = new JobScheduler({ logger: recordingLogger().logger, timers });
    scheduler.start();
    scheduler.add({ name: 'late', intervalMs: 50, run: async () => void runs++ });
    await timers.advance(50);
    assert.equal(runs, 1);
    await scheduler.stop();
  });
});

describe('uploadPurgeJob', () => {
  it('purges idle uploads with the configured age and logs how many, on one replica, from start-up', async () => {
    const calls: [number, boolean][] = [];
    const job = uploadPurgeJob(
      {
        purgeIdle: async (age: number, dryRun?: boolean, signal?: AbortSignal) => {
          assert.ok(signal, 'the purge can be stopped between uploads');
          calls.push([age, dryRun ?? false]);
          return ['u1', 'u2'];
        },
      },
      { ageMs: 7_000, intervalMs: 60_000, dryRun: true },
    );
    assert.equal(job.name, 'upload-purge', 'the lock name older replicas use too');
    assert.equal(job.exclusive, true);
    assert.equal(job.runAtStart, true);
    assert.equal(job.intervalMs, 60_000);
    const { logger, lines } = recordingLogger();
    await job.run({ signal: new AbortController().signal, log: logger });
    assert.deepEqual(calls, [[7_000, true]]);
    assert.ok(lines().some((line) => line.msg === 'purged abandoned uploads' && line.count === 2 && line.dryrun === true));
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(job.run({ signal: aborted.signal, log: logger }));
    assert.equal(calls.length, 1, 'nothing purged once stopped');
  });
});
