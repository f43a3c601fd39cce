// The background work of a server process, on the one job scheduler: the upload purge
// (storage.maintenance.uploadpurging, one replica at a time under the metadata store's lock),
// scheduled garbage collection (gc.interval, one run at a time under its own lease) and,
// with http.tls, the check for renewed certificate files. buildApp creates it; serve() starts it;
// the app's close() stops it, waiting for runs in progress before the database closes.
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { garbageCollectionJob, JobScheduler, uploadPurgeJob } from '../jobs/index.js';
import type { MetadataStore } from '../metadata/index.js';
import type { Registry } from '../registry/index.js';
import { retentionJob } from '../jobs/retention.js';
import type { Retention } from '../registry/retention.js';
import { CERTIFICATE_POLL_MS, type TlsServers } from './tls.js';

export function createJobScheduler(
  config: Config,
  registry: Registry,
  metadata: MetadataStore,
  tls: TlsServers | undefined,
  logger: Logger,
  retention?: Retention,
): JobScheduler {
  const jobs = new JobScheduler({ logger, lock: metadata });
  const purging = config.storage.maintenance.uploadpurging;
  if (purging.enabled) {
    jobs.add(uploadPurgeJob(registry.uploads, { ageMs: purging.ageMs, intervalMs: purging.intervalMs, dryRun: purging.dryrun }));
  }
  // Retention (retention.interval): off unless set; one replica at a time under the lock.
  if (retention && config.retention.intervalMs > 0) {
    jobs.add(retentionJob(retention, { intervalMs: config.retention.intervalMs, dryRun: config.retention.dryRun }));
  }
  if (config.gc.intervalMs > 0) {
    jobs.add(
      garbageCollectionJob(registry.gc, {
        intervalMs: config.gc.intervalMs,
        graceMs: config.gc.graceMs,
        deleteUntagged: config.gc.deleteUntagged,
        dryRun: config.gc.dryRun,
        uploadMaxIdleMs: purging.enabled ? purging.ageMs : undefined,
      }),
    );
  }
  if (tls) {
    jobs.add({
      name: 'tls-certificate-reload',
      intervalMs: CERTIFICATE_POLL_MS,
      run: async () => {
        await tls.reloadIfChanged();
      },
    });
  }
  return jobs;
}
