// Scheduled garbage collection (gc.interval; off by default): a run every interval with the
// configured grace period, on one replica at a time. The run's own lease (registry/
// garbage-collector.ts) keeps it to one holder across replicas and `berth gc`, so the job is not
// marked exclusive: that lock would hold a PostgreSQL transaction open for the whole run.
import { GcAlreadyRunning, type GcOptions, type GcReport } from '../registry/index.js';
import type { Job } from './scheduler.js';

export interface GarbageCollectionJobOptions {
  readonly intervalMs: number;
  readonly graceMs: number;
  readonly deleteUntagged: boolean;
  readonly dryRun: boolean;
  /** Upload sessions idle longer than this are purged by the run too (storage.maintenance.uploadpurging). */
  readonly uploadMaxIdleMs: number | undefined;
}

export function garbageCollectionJob(gc: { run(options: GcOptions): Promise<GcReport> }, options: GarbageCollectionJobOptions): Job {
  return {
    name: 'garbage-collection',
    intervalMs: options.intervalMs,
    async run({ signal, log }) {
      try {
        const report = await gc.run({
          trigger: 'schedule',
          graceMs: options.graceMs,
          deleteUntagged: options.deleteUntagged,
          dryRun: options.dryRun,
          uploadMaxIdleMs: options.uploadMaxIdleMs,
          signal,
        });
        log.info({ run: report.runId, dryrun: report.dryRun, ...report.stats }, 'garbage collection finished');
      } catch (error) {
        if (error instanceof GcAlreadyRunning) {
          log.info('garbage collection skipped: another run holds the lease');
          return;
        }
        throw error;
      }
    },
  };
}
