// The one scheduler for background work (upload purge, certificate reloads, and next garbage
// collection, retention, cache eviction): named jobs, each on its own interval, each run with an
// AbortSignal that stop() aborts. A job never overlaps itself: the next run is scheduled an
// interval after the previous one ends. A failing run is logged, never thrown, and the job runs
// again on its next turn. Jobs marked exclusive run on one replica at a time under the cluster
// lock (MetadataStore.runExclusive: a PostgreSQL advisory lock named after the job); a replica
// that finds the lock taken skips that turn. Timers are injected, so tests drive a fake clock.
import type { Logger } from 'pino';

export interface JobContext {
  /** Aborted when the scheduler stops: a long job should check it between steps and return early. */
  readonly signal: AbortSignal;
  /** The scheduler's logger with the job's name on every line, for what the run did. */
  readonly log: Logger;
}

export interface Job {
  /** Unique within a scheduler; also the name of the cluster lock of an exclusive job. */
  readonly name: string;
  /** Time from the end of one run to the start of the next. */
  readonly intervalMs: number;
  /** Run as soon as the scheduler starts, not only after the first interval. */
  readonly runAtStart?: boolean | undefined;
  /** One runner per cluster: run under the cluster lock, skip the turn when another replica holds it. */
  readonly exclusive?: boolean | undefined;
  run(context: JobContext): Promise<void>;
}

/** The lock that lets one replica of a cluster run a job; MetadataStore has it. */
export interface ClusterLock {
  /** Runs `run` if this process obtains the lock named `name`; undefined when another holds it. */
  runExclusive<T>(name: string, run: () => Promise<T>): Promise<T | undefined>;
}

/** setTimeout and clearTimeout, injectable for tests. The default timers do not keep the process alive. */
export interface SchedulerTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** How one run ended: finished, threw, skipped because another replica holds the lock, or not started because the scheduler stopped. */
export type JobOutcome = 'done' | 'failed' | 'locked' | 'stopped';

export interface JobSchedulerOptions {
  readonly logger: Logger;
  /** Needed for exclusive jobs; without it they run on every process (as on SQLite, a single writer). */
  readonly lock?: ClusterLock | undefined;
  readonly timers?: SchedulerTimers | undefined;
}

const systemTimers: SchedulerTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface Entry {
  readonly job: Job;
  readonly log: Logger;
  timer?: unknown;
  /** The run in progress, shared by whoever asks for a run meanwhile. */
  running?: Promise<JobOutcome> | undefined;
  controller?: AbortController | undefined;
}

export class JobScheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly timers: SchedulerTimers;
  private started = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: JobSchedulerOptions) {
    this.timers = options.timers ?? systemTimers;
  }

  /** Adds a job; it first runs when the scheduler starts (or has started). */
  add(job: Job): this {
    if (this.entries.has(job.name)) throw new Error(`a job named ${job.name} is already scheduled`);
    if (!(job.intervalMs > 0)) throw new Error(`job ${job.name}: the interval must be positive`);
    const entry: Entry = { job, log: this.options.logger.child({ job: job.name }) };
    this.entries.set(job.name, entry);
    if (this.started && !this.stopping) this.begin(entry);
    return this;
  }

  /** The names of the jobs, in the order they were added. */
  get jobNames(): string[] {
    return [...this.entries.keys()];
  }

  /** Starts every job's timer (and runs those marked runAtStart). Calling it again does nothing. */
  start(): void {
    if (this.started || this.stopping) return;
    this.started = true;
    for (const entry of this.entries.values()) this.begin(entry);
  }

  /**
   * Runs a job now, unless it is running already (then its current run is awaited, so a job
   * never overlaps itself). Never rejects: failures are logged and reported as 'failed'.
   */
  runNow(name: string): Promise<JobOutcome> {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no job named ${name}`);
    if (this.stopping) return Promise.resolve('stopped');
    entry.running ??= this.execute(entry).finally(() => {
      entry.running = undefined;
      entry.controller = undefined;
    });
    return entry.running;
  }

  /** Stops every timer, aborts the runs in progress and waits for them to end. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const running: Promise<JobOutcome>[] = [];
      for (const entry of this.entries.values()) {
        if (entry.timer !== undefined) this.timers.clearTimeout(entry.timer);
        entry.timer = undefined;
        entry.controller?.abort(new Error('the scheduler is stopping'));
        if (entry.running) running.push(entry.running);
      }
      await Promise.all(running);
    })();
    return this.stopping;
  }

  private begin(entry: Entry): void {
    if (entry.job.runAtStart) void this.turn(entry);
    else this.schedule(entry);
  }

  private schedule(entry: Entry): void {
    if (this.stopping) return;
    entry.timer = this.timers.setTimeout(() => {
      entry.timer = undefined;
      void this.turn(entry);
    }, entry.job.intervalMs);
  }

  /** One scheduled turn: run (or join the run in progress), then schedule the next. */
  private async turn(entry: Entry): Promise<void> {
    await this.runNow(entry.job.name);
    this.schedule(entry);
  }

  private async execute(entry: Entry): Promise<JobOutcome> {
    const controller = new AbortController();
    entry.controller = controller;
    const context: JobContext = { signal: controller.signal, log: entry.log };
    try {
      const { lock } = this.options;
      if (!entry.job.exclusive || !lock) {
        await entry.job.run(context);
        return 'done';
      }
      const ran = await lock.runExclusive(entry.job.name, async () => {
        await entry.job.run(context);
        return true;
      });
      if (ran) return 'done';
      entry.log.debug('another replica holds the job; skipped this turn');
      return 'locked';
    } catch (error) {
      if (controller.signal.aborted) {
        entry.log.info({ reason: error instanceof Error ? error.message : String(error) }, 'background job stopped');
        return 'stopped';
      }
      entry.log.error({ err: error }, 'background job failed');
      return 'failed';
    }
  }
}
