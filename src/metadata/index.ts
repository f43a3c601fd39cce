// The metadata layer's public face.
export { MetadataStore, type NewManifest, type Page, type PageRequest, type RequiredReferences } from './metadata-store.js';
export { openSqlite } from './sqlite.js';
export type { Database, ManifestRow, UploadRow } from './schema.js';
