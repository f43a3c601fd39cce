// The tables of the metadata index, as Kysely sees them. Timestamps are ISO-8601 text (sortable,
// and the same in SQLite and PostgreSQL); sizes are bigint. Keys are natural keys (repository
// name, digest) so the schema needs no dialect-specific auto-increment.
import type { Selectable } from 'kysely';

export interface RepositoriesTable {
  name: string;
  created_at: string;
}

/** A blob whose bytes are complete and verified in the blob store. */
export interface BlobsTable {
  digest: string;
  size: number;
  created_at: string;
}

/** A blob as one repository sees it: only linked blobs can be read through the repository. */
export interface RepositoryBlobsTable {
  repository: string;
  digest: string;
  created_at: string;
}

export interface ManifestsTable {
  repository: string;
  digest: string;
  media_type: string;
  size: number;
  artifact_type: string | null;
  subject_digest: string | null;
  /** The manifest's annotations as JSON text, for the referrers API. */
  annotations: string | null;
  created_at: string;
}

/** What a manifest references: its config and layers (blobs) or its children (manifests). */
export interface ManifestReferencesTable {
  repository: string;
  manifest_digest: string;
  referenced_digest: string;
  kind: 'blob' | 'manifest';
}

export interface TagsTable {
  repository: string;
  name: string;
  manifest_digest: string;
  updated_at: string;
}

/** An upload in progress; its bytes so far live in the blob store under its upload key. */
export interface UploadsTable {
  id: string;
  repository: string;
  created_at: string;
  updated_at: string;
}

export interface Database {
  repositories: RepositoriesTable;
  blobs: BlobsTable;
  repository_blobs: RepositoryBlobsTable;
  manifests: ManifestsTable;
  manifest_references: ManifestReferencesTable;
  tags: TagsTable;
  uploads: UploadsTable;
}

export type ManifestRow = Selectable<ManifestsTable>;
export type UploadRow = Selectable<UploadsTable>;
