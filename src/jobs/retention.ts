// Scheduled retention (retention.interval): the policies of the configuration file and of the
// admin API applied on one replica of a cluster at a time, every interval (the first run one
// interval after start-up, so a restart loop never untags in a hurry). Off unless the interval
// is set. What a run untags and deletes is logged; with retention.dryrun only the plan is.
import type { Retention } from '../registry/retention.js';
import type { Job } from './scheduler.js';

/** The name of the job, and of its cluster lock: replicas of every version must agree on it. */
export const RETENTION = 'retention';

export interface RetentionJobOptions {
  readonly intervalMs: number;
  readonly dryRun: boolean;
}

export function retentionJob(retention: Pick<Retention, 'run'>, options: RetentionJobOptions): Job {
  return {
    name: RETENTION,
    intervalMs: options.intervalMs,
    exclusive: true,
    async run({ signal, log }) {
      const report = await retention.run({ dryRun: options.dryRun, signal });
      for (const id of report.unreadableRules) log.warn({ rule: id }, 'retention rule cannot be read; ignored');
      for (const repository of report.repositories) {
        log.info(
          {
            repository: repository.repository,
            policy: repository.policy,
            dryrun: options.dryRun,
            tags: options.dryRun ? repository.deleteTags.map((t) => t.tag) : repository.untagged,
            manifests: options.dryRun ? repository.deleteManifests.map((m) => m.digest) : repository.deleted,
            skipped: repository.skipped.length,
          },
          options.dryRun ? 'retention would untag' : 'retention untagged',
        );
      }
      log.info({ dryrun: options.dryRun, tags: report.totals.tags, manifests: report.totals.manifests }, 'retention run finished');
    },
  };
}
