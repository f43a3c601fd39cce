// The registry's use cases, assembled over one blob store and one metadata index: the
// RegistryServices that http calls and that the pull-through cache (and events) decorate.
import type { MetadataStore } from '../metadata/index.js';
import type { StorageDriver } from '../storage/driver.js';
import { BlobService } from './blob-service.js';
import { GarbageCollector } from './garbage-collector.js';
import { checkHealth } from './health.js';
import type { HealthReport, RegistryServices } from './interfaces.js';
import { ListingService } from './listing-service.js';
import { ManifestService } from './manifest-service.js';
import type { RegistryOptions } from './options.js';
import { PullRecorder } from './pull-recorder.js';
import { ReferrersService } from './referrers-service.js';
import { UploadService } from './upload-service.js';

export class Registry implements RegistryServices {
  readonly blobs: BlobService;
  readonly uploads: UploadService;
  readonly manifests: ManifestService;
  readonly listings: ListingService;
  readonly referrers: ReferrersService;
  /** Manifest GETs, written as last-pull times in the background (retention reads them). */
  readonly pulls: PullRecorder;
  /** Online garbage collection over this blob store and index (one run at a time across replicas). */
  readonly gc: GarbageCollector;

  constructor(
    readonly storage: StorageDriver,
    readonly metadata: MetadataStore,
    options: RegistryOptions,
  ) {
    this.blobs = new BlobService(storage, metadata, options);
    this.uploads = new UploadService(storage, metadata, options);
    this.pulls = new PullRecorder(metadata, { now: options.now, warn: options.warn });
    this.manifests = new ManifestService(storage, metadata, options, this.pulls);
    this.listings = new ListingService(metadata);
    this.referrers = new ReferrersService(metadata);
    this.gc = new GarbageCollector(
      storage,
      metadata,
      (maxIdleMs, dryRun, signal) => this.uploads.purgeIdle(maxIdleMs, dryRun, signal),
      Date.now,
      options.cacheEviction,
    );
  }

  /** Every name is hosted here: pushes are refused only by decorators (a pull-through cache). */
  assertPushable(): void {}

  /** Whether the blob store and the metadata database answer (readiness). */
  health(): Promise<HealthReport> {
    return checkHealth(this.storage, this.metadata);
  }
}
