// The metadata layer's public face.
export { MetadataStore, type RegistryIndex } from './metadata-store.js';
export type { BlobIndex } from './blob-index.js';
export type {
  ManifestDeletion,
  ManifestIndex,
  ManifestPutResult,
  ManifestRecord,
  NewManifest,
  ReferrerRecord,
  RequiredReferences,
} from './manifest-index.js';
export type { ListingIndex } from './listing-index.js';
export type { UploadIndex, UploadRecord } from './upload-index.js';
export type { GcRunIndex, GcRunRecord } from './gc-runs.js';
export type { LeaseIndex } from './leases.js';
export type { BlobRemoval, GcIndex, LinkRecord, ManifestNode, UnlinkedBlob } from './gc-index.js';
export type { CacheEvictionIndex, CachedItemSize, CachedManifestItem } from './cache-eviction-index.js';
export type {
  PullRecord,
  RetentionIndex,
  RetentionRuleRecord,
  RetentionTagRecord,
  UntaggedManifestRecord,
} from './retention-index.js';
export type { Page, PageRequest } from './page.js';
export { ImmutabilityQueries, type ImmutabilityIndex, type ImmutabilityRuleRecord } from './immutability-index.js';
export { openSqlite, openSqliteReadOnly } from './sqlite.js';
export type { Database, MetadataDatabase } from './schema.js';
export { AccountStore } from './account-store.js';
export type {
  AccessControlCounts,
  ApiTokenRecord,
  GrantRecord,
  GrantSubjectKind,
  NamespaceRecord,
  NamespaceVisibility,
  NewApiToken,
  NewUser,
  TeamRecord,
  TokenScope,
  UserRecord,
} from './account-records.js';
export {
  CachedContentIndex,
  type CachedItemRecord,
  type CachedManifestEntry,
  type CachedTagRecord,
} from './cached-content-index.js';
export type { NamespaceUsage, RepositoryUsage, UsageIndex } from './usage-index.js';
export type { QuotaRuleIndex, QuotaRuleRecord } from './quota-rule-index.js';
export {
  batchEventId,
  batchRowId,
  EventOutboxQueries,
  MAX_BATCH_EVENTS,
  type ChangeRecorder,
  type ClaimedDelivery,
  type DeliveryRecord,
  type EventFilter,
  type EventRecord,
  type OutboxEvent,
  type RecordedChange,
} from './event-outbox.js';
export { WebhookEndpointQueries, type EndpointDeliveryRecord, type WebhookEndpointRecord } from './webhook-endpoint-index.js';
export { AuditLogQueries, type AuditEntry, type AuditFilter, type AuditRecord } from './audit-log-index.js';
