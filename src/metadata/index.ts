// The metadata layer's public face.
export { MetadataStore, type RegistryIndex } from './metadata-store.js';
export type { BlobIndex } from './blob-index.js';
export type {
  ManifestDeletion,
  ManifestIndex,
  ManifestRecord,
  NewManifest,
  ReferrerRecord,
  RequiredReferences,
} from './manifest-index.js';
export type { ListingIndex } from './listing-index.js';
export type { UploadIndex, UploadRecord } from './upload-index.js';
export type { Page, PageRequest } from './page.js';
export { openSqlite, openSqliteReadOnly } from './sqlite.js';
export type { Database, MetadataDatabase } from './schema.js';
export {
  AccountStore,
  type AccessControlCounts,
  type ApiTokenRecord,
  type GrantRecord,
  type GrantSubjectKind,
  type NamespaceRecord,
  type NamespaceVisibility,
  type NewApiToken,
  type NewUser,
  type TeamRecord,
  type TokenScope,
  type UserRecord,
} from './account-store.js';
export {
  CacheStore,
  type CachedItemRecord,
  type CachedManifestEntry,
  type CachedTagRecord,
} from './cache-store.js';
