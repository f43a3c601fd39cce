// The tables of the metadata index, as Kysely sees them. Timestamps are ISO-8601 text (sortable,
// and the same in SQLite and PostgreSQL); sizes are bigint. Keys are natural keys (repository
// name, digest) so the schema needs no dialect-specific auto-increment.
import type { Kysely } from 'kysely';
import type { Role } from '../oci/access.js';

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
  /** The last push of these bytes to the repository (created_at is the first); null only before migration 6 ran. */
  pushed_at: string | null;
  /** The last recorded pull (written at a bounded rate); null when never pulled since migration 6. */
  last_pulled_at: string | null;
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
  /** When the tag was last pushed (pointed at a manifest). */
  updated_at: string;
  /** The last recorded pull by this tag (written at a bounded rate); null when never pulled. */
  last_pulled_at: string | null;
}

/** An upload in progress; its bytes so far live in the blob store under its upload key. */
export interface UploadsTable {
  id: string;
  repository: string;
  created_at: string;
  updated_at: string;
  /** Set when the upload's verified bytes start moving to this digest's address (GC keeps them). */
  digest: string | null;
}

/** An account kept in the database (htpasswd users live in their file, not here). */
export interface UsersTable {
  name: string;
  password_hash: string;
  /** 1 for a registry-wide administrator, else 0 (integers: SQLite has no boolean). */
  admin: number;
  created_at: string;
}

export interface TeamsTable {
  name: string;
  created_at: string;
}

/** Membership by user name, so htpasswd users can belong to teams too. */
export interface TeamMembersTable {
  team: string;
  user_name: string;
}

/** A repository namespace (first path component); a namespace without a row is private. */
export interface NamespacesTable {
  name: string;
  visibility: 'public' | 'private';
  created_at: string;
}

/** One role on a namespace for one user or team; roles are cumulative (pull < push < delete < admin). */
export interface NamespaceGrantsTable {
  namespace: string;
  subject_kind: 'user' | 'team';
  subject: string;
  role: Role;
}

/** An API token: only the SHA-256 of its secret is kept; scopes are JSON text. */
export interface ApiTokensTable {
  id: string;
  owner: string;
  name: string;
  secret_hash: string;
  scopes: string;
  expires_at: string | null;
  created_at: string;
  last_used_at: string | null;
}

/** Small shared values every replica must agree on (such as a generated signing key). */
export interface SettingsTable {
  key: string;
  value: string;
}

/** A tag fetched from an upstream by the pull-through cache (a tag without a row is hosted). */
export interface CachedTagsTable {
  repository: string;
  tag: string;
  /** The upstream's configured name. */
  upstream: string;
  /** The manifest the upstream gave for the tag; a local tag elsewhere was pushed over it. */
  manifest_digest: string;
  /** When the upstream was last asked about the tag. */
  checked_at: string;
}

/** A manifest or blob of a repository fetched from an upstream, for eviction by age. */
export interface CachedItemsTable {
  repository: string;
  digest: string;
  upstream: string;
  last_pulled_at: string;
}

/** One garbage-collection run, running or done. */
export interface GcRunsTable {
  id: string;
  started_at: string;
  finished_at: string | null;
  trigger: string;
  dry_run: number;
  /** JSON. */
  options: string;
  status: 'running' | 'finished' | 'failed';
  /** JSON, once finished. */
  stats: string | null;
  error: string | null;
}

/** A retention, immutability or quota rule created through the admin API. */
export interface LifecycleRulesTable {
  id: string;
  kind: 'retention' | 'immutability' | 'quota';
  /** A repository glob, or a namespace for a quota. */
  target: string;
  /** JSON; its shape depends on kind. */
  definition: string;
  created_at: string;
  created_by: string | null;
}

/** Requests counted for a rate limit in one window, summed over replicas (rate-limit-counters.ts). */
export interface RateLimitCountsTable {
  /** The kind of request and who made it ("pull|a:192.0.2.7", "other|u:alice"). */
  key: string;
  /** Milliseconds since the epoch (bigint: a string from PostgreSQL, a number from SQLite). */
  window_start: number | string;
  window_end: number | string;
  count: number | string;
}

/**
 * An open metadata database, as openSqlite and openPostgres return it. The layers above pass it
 * on (to MetadataStore, AccountStore, copyMetadata) without knowing the query builder.
 */
export type MetadataDatabase = Kysely<Database>;

/**
 * The outbox (migration 8): one row per event, written in the transaction of its change, or
 * (migration 10) one row per batch of pull events.
 */
export interface EventsTable {
  /** The event's id; a batch's is its first event's. */
  id: string;
  /** A batch's first event's timestamp. */
  created_at: string;
  action: string;
  repository: string | null;
  /** Null for a batch (its events name theirs). */
  digest: string | null;
  /** Null for a batch (its events name theirs). */
  tag: string | null;
  actor: string | null;
  /** The event as JSON, as the envelope carries it; a batch's events as a JSON array. */
  body: string;
  /** How many events a batch holds; null for a single event. */
  batch_size: number | null;
  /** A batch's last event's timestamp; null for a single event. */
  last_created_at: string | null;
}

/** One event's delivery to one webhook endpoint. */
export interface EventDeliveriesTable {
  endpoint: string;
  event_id: string;
  state: 'pending' | 'delivered';
  attempts: number;
  /** Milliseconds since the epoch. */
  next_attempt_at: number;
  lease_until: number | null;
  lease_owner: string | null;
  response_code: number | null;
  last_error: string | null;
  delivered_at: string | null;
  updated_at: string;
}

/** A webhook endpoint created through the admin API. */
export interface WebhookEndpointsTable {
  id: string;
  namespace: string;
  name: string;
  /** JSON. */
  definition: string;
  created_at: string;
  created_by: string | null;
}

/** One audited request or change. */
export interface AuditLogTable {
  id: string;
  at: string;
  actor: string | null;
  address: string | null;
  action: string;
  repository: string | null;
  outcome: 'success' | 'denied' | 'failed';
  status: number | null;
  request_id: string | null;
  /** JSON. */
  detail: string | null;
}

export interface Database {
  repositories: RepositoriesTable;
  blobs: BlobsTable;
  repository_blobs: RepositoryBlobsTable;
  manifests: ManifestsTable;
  manifest_references: ManifestReferencesTable;
  tags: TagsTable;
  uploads: UploadsTable;
  users: UsersTable;
  teams: TeamsTable;
  team_members: TeamMembersTable;
  namespaces: NamespacesTable;
  namespace_grants: NamespaceGrantsTable;
  api_tokens: ApiTokensTable;
  settings: SettingsTable;
  cached_tags: CachedTagsTable;
  cached_items: CachedItemsTable;
  gc_runs: GcRunsTable;
  lifecycle_rules: LifecycleRulesTable;
  rate_limit_counts: RateLimitCountsTable;
  events: EventsTable;
  event_deliveries: EventDeliveriesTable;
  webhook_endpoints: WebhookEndpointsTable;
  audit_log: AuditLogTable;
}
