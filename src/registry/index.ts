// The registry layer's public face: use cases over storage and metadata. Knows no HTTP.
export { Registry } from './registry.js';
export type { RegistryOptions } from './options.js';
export type { BlobContent } from './blob-service.js';
// Blob bodies that can write themselves into a response (filesystem content), for the HTTP layer.
export { isSelfSending, type SelfSendingStream } from '../storage/driver.js';
export type { CacheService, CachedManifest } from './cache-service.js';
export type { Reference, ManifestPush, StoredManifest } from './manifest-service.js';
export { rangeHeaderValue, type ChunkOptions, type UploadStatus } from './upload-service.js';
export type { ReferrersPage } from './referrers-service.js';
export type { HealthReport } from './health.js';
export type { Page, PageRequest } from '../metadata/index.js';
