// The registry layer's public face: use cases over storage and metadata. Knows no HTTP.
export { Registry } from './registry.js';
export {
  GARBAGE_COLLECTION,
  GarbageCollector,
  GcAlreadyRunning,
  type GcOptions,
  type GcProgress,
  type GcReport,
  type GcStats,
} from './garbage-collector.js';
export { PullThroughLedgerService } from './pull-through-ledger.js';
export type { CacheEvictionPolicy } from './cache-eviction.js';
export type { RegistryOptions } from './options.js';
export type {
  AuditedRequest,
  BlobContent,
  BlobInfo,
  BlobRead,
  BlobReader,
  BlobRedirect,
  BlobUploads,
  BlobWriter,
  CachedManifest,
  CatalogLister,
  ChunkOptions,
  CompleteOptions,
  HealthReport,
  ManifestPush,
  ManifestReader,
  ManifestWriter,
  PullThroughLedger,
  Reference,
  ReferrerLister,
  ReferrersPage,
  RegistryServices,
  RequestScope,
  Caller,
  WriteScope,
  StoredManifest,
  TagLister,
  UploadStatus,
} from './interfaces.js';
// Blob bodies that can write themselves into a response (filesystem content), for the HTTP layer.
export { isSelfSending, type SelfSendingStream } from '../storage/driver.js';
export { rangeHeaderValue } from './upload-service.js';
export type { Page, PageRequest } from '../metadata/index.js';
// The event outbox's and audit log's records, as the admin API lists them (http sees no metadata).
export type { AuditFilter, AuditRecord, DeliveryRecord, EventFilter, EventRecord } from '../metadata/index.js';
