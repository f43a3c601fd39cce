// The upload purge (storage.maintenance.uploadpurging): upload sessions idle for longer than
// the age are removed with their bytes, on one replica of a cluster at a time, once at start-up
// and then every interval.
import type { Registry } from '../registry/index.js';
import type { Job } from './scheduler.js';

/** The name of the job, and of its cluster lock: replicas of every version must agree on it. */
export const UPLOAD_PURGE = 'upload-purge';

export interface UploadPurgeOptions {
  readonly ageMs: number;
  readonly intervalMs: number;
  /** List what would be purged without removing it. */
  readonly dryRun: boolean;
}

/** The purge over the registry's upload sessions (`registry.uploads`). */
export function uploadPurgeJob(uploads: Pick<Registry['uploads'], 'purgeIdle'>, options: UploadPurgeOptions): Job {
  return {
    name: UPLOAD_PURGE,
    intervalMs: options.intervalMs,
    runAtStart: true,
    exclusive: true,
    async run({ signal, log }) {
      signal.throwIfAborted();
      const purged = await uploads.purgeIdle(options.ageMs, options.dryRun, signal);
      if (purged.length > 0) log.info({ count: purged.length, dryrun: options.dryRun }, 'purged abandoned uploads');
    },
  };
}
