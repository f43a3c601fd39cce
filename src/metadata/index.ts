// The metadata layer's public face.
export { MetadataStore, type NewManifest, type Page, type PageRequest, type RequiredReferences } from './metadata-store.js';
export { openSqlite } from './sqlite.js';
export type { Database, ManifestRow, UploadRow } from './schema.js';
export {
  AccountStore,
  type AccessControlCounts,
  type ApiTokenRecord,
  type GrantRecord,
  type GrantSubjectKind,
  type NamespaceRecord,
  type NamespaceRole,
  type NamespaceVisibility,
  type NewApiToken,
  type NewUser,
  type TeamRecord,
  type TokenAction,
  type TokenScope,
  type UserRecord,
} from './account-store.js';
export {
  CacheStore,
  type CachedItemRecord,
  type CachedManifestEntry,
  type CachedTagRecord,
} from './cache-store.js';
