// The jobs layer's public surface: the scheduler and the background jobs that run on it.
export {
  JobScheduler,
  type ClusterLock,
  type Job,
  type JobContext,
  type JobOutcome,
  type JobSchedulerOptions,
  type SchedulerTimers,
} from './scheduler.js';
export { garbageCollectionJob, type GarbageCollectionJobOptions } from './garbage-collection.js';
export { uploadPurgeJob, type UploadPurgeOptions } from './upload-purge.js';
