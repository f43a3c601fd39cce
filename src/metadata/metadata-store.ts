// The metadata index: every query the registry makes, written once with Kysely in SQL that
// both SQLite and PostgreSQL run. The registry layer above never sees SQL or rows: it asks the
// interfaces below (BlobIndex, ManifestIndex, ListingIndex, UploadIndex) and gets camelCase
// records. MetadataStore implements them all over one database, each part in its own file;
// accounts and the pull-through cache's records sit on the same database.
import { Migrator, PostgresIntrospector, sql, type Kysely } from 'kysely';
import { AccountStore } from './account-store.js';
import { BlobQueries, type BlobIndex } from './blob-index.js';
import { CachedContentIndex } from './cached-content-index.js';
import { ImmutabilityQueries } from './immutability-index.js';
import { EventOutboxQueries, type ChangeRecorder } from './event-outbox.js';
import { AuditLogQueries } from './audit-log-index.js';
import { WebhookEndpointQueries } from './webhook-endpoint-index.js';
import { GcQueries, type GcIndex } from './gc-index.js';
import { GcRunQueries, type GcRunIndex } from './gc-runs.js';
import { LeaseQueries, type LeaseIndex } from './leases.js';
import { ListingQueries, type ListingIndex } from './listing-index.js';
import {
  ManifestQueries,
  type ManifestDeletion,
  type ManifestIndex,
  type ManifestPutResult,
  type ManifestRecord,
  type NewManifest,
  type ReferrerRecord,
  type RequiredReferences,
} from './manifest-index.js';
import { migrationProvider } from './migrations/index.js';
import type { Page, PageRequest } from './page.js';
import {
  RetentionQueries,
  type PullRecord,
  type RetentionIndex,
  type RetentionRuleRecord,
  type RetentionTagRecord,
  type UntaggedManifestRecord,
} from './retention-index.js';
import { QuotaRuleQueries } from './quota-rule-index.js';
import type { Database } from './schema.js';
import { UploadQueries, type UploadIndex, type UploadRecord } from './upload-index.js';
import { UsageQueries } from './usage-index.js';

/** Everything the registry's use cases ask of the index. */
export interface RegistryIndex extends BlobIndex, ManifestIndex, ListingIndex, UploadIndex {
  /** A cheap query that fails when the database is unusable (for readiness checks). */
  ping(): Promise<void>;
}

export class MetadataStore implements RegistryIndex, RetentionIndex {
  /** Users, teams, namespaces, grants, API tokens and settings, on the same database. */
  readonly accounts: AccountStore;

  /** The pull-through cache's records (cached tags and items), on the same database. */
  readonly cachedContent: CachedContentIndex;

  /** Immutability rules created through the admin API, and the tags of a manifest. */
  readonly immutability: ImmutabilityQueries;

  /** Storage usage per namespace and repository (quotas, the admin API, `berth usage`). */
  readonly usage: UsageQueries;

  /** Quotas set through the admin API (lifecycle_rules of kind 'quota'). */
  readonly quotaRules: QuotaRuleQueries;

  /**
   * Whether the database takes row locks (PostgreSQL; SQLite runs one write transaction at a
   * time and has no FOR UPDATE syntax). With several writers, the reference checks of a push
   * and of a blob unlink must lock the link rows, or each can pass its check before the other
   * commits.
   */
  private readonly rowLocks: boolean;
  private readonly blobs: BlobQueries;
  private readonly manifests: ManifestQueries;
  private readonly listings: ListingQueries;
  private readonly uploads: UploadQueries;
  private readonly retention: RetentionQueries;

  /** Garbage collection's queries: candidates, and removals that re-check under the push locks. */
  readonly gc: GcIndex;

  /** The history of garbage-collection runs. */
  readonly gcRuns: GcRunIndex;

  /** One holder at a time for long background work, across replicas and command-line runs. */
  readonly leases: LeaseIndex;

  /** The event outbox and its deliveries (event-outbox.ts). */
  readonly events: EventOutboxQueries;

  /** Webhook endpoints created through the admin API. */
  readonly webhookEndpoints: WebhookEndpointQueries;

  /** The audit log. */
  readonly audit: AuditLogQueries;

  constructor(private readonly db: Kysely<Database>) {
    this.rowLocks = db.introspection instanceof PostgresIntrospector;
    this.accounts = new AccountStore(db);
    this.cachedContent = new CachedContentIndex(db);
    this.immutability = new ImmutabilityQueries(db);
    this.usage = new UsageQueries(db, this.rowLocks);
    this.quotaRules = new QuotaRuleQueries(db);
    this.blobs = new BlobQueries(db, this.rowLocks);
    this.manifests = new ManifestQueries(db, this.rowLocks);
    this.listings = new ListingQueries(db);
    this.uploads = new UploadQueries(db, this.rowLocks);
    this.gc = new GcQueries(db, this.rowLocks);
    this.gcRuns = new GcRunQueries(db);
    this.leases = new LeaseQueries(db, this.rowLocks);
    this.events = new EventOutboxQueries(db, this.rowLocks);
    this.webhookEndpoints = new WebhookEndpointQueries(db);
    this.audit = new AuditLogQueries(db);
    this.retention = new RetentionQueries(db);
  }

  /** Brings the schema up to the newest migration. */
  async migrate(): Promise<void> {
    const { error, results } = await new Migrator({ db: this.db, provider: migrationProvider }).migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
      throw new Error(`metadata migration ${failed} failed: ${String(error)}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  /**
   * Runs a background job (upload purge, later garbage collection) on one replica at a time:
   * on PostgreSQL under a transaction-scoped advisory lock named after the job, skipped
   * (undefined) when another replica holds it. SQLite has a single writer process, so the job
   * simply runs.
   */
  async runExclusive<T>(job: string, run: () => Promise<T>): Promise<T | undefined> {
    if (!this.rowLocks) return run();
    return this.db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(hashtext(${job})) as locked`.execute(trx);
      return rows[0]?.locked ? run() : undefined;
    });
  }

  async ping(): Promise<void> {
    await this.db.selectFrom('repositories').select('name').limit(1).execute();
  }

  // ---- blobs (blob-index.ts)

  addBlobToRepository(repository: string, digest: string, size: number, finishedUpload?: string): Promise<void> {
    return this.blobs.addBlobToRepository(repository, digest, size, finishedUpload);
  }

  findRepositoryBlob(repository: string, digest: string): Promise<{ size: number } | undefined> {
    return this.blobs.findRepositoryBlob(repository, digest);
  }

  linkExistingBlob(repository: string, digest: string, record?: ChangeRecorder): Promise<boolean> {
    return this.blobs.linkExistingBlob(repository, digest, record);
  }

  linkedBlobDigests(repository: string, digests: readonly string[]): Promise<Set<string>> {
    return this.blobs.linkedBlobDigests(repository, digests);
  }

  unlinkBlob(repository: string, digest: string, record?: ChangeRecorder): Promise<'unlinked' | 'unknown' | 'referenced'> {
    return this.blobs.unlinkBlob(repository, digest, record);
  }

  // ---- manifests and tags (manifest-index.ts)

  putManifest(manifest: NewManifest): Promise<ManifestPutResult> {
    return this.manifests.putManifest(manifest);
  }

  findMissingReference(repository: string, required: RequiredReferences): Promise<string | undefined> {
    return this.manifests.findMissingReference(repository, required);
  }

  findManifest(repository: string, digest: string): Promise<ManifestRecord | undefined> {
    return this.manifests.findManifest(repository, digest);
  }

  findManifestByTag(repository: string, tag: string): Promise<ManifestRecord | undefined> {
    return this.manifests.findManifestByTag(repository, tag);
  }

  manifestDigests(repository: string, digests: readonly string[]): Promise<Set<string>> {
    return this.manifests.manifestDigests(repository, digests);
  }

  deleteManifest(repository: string, digest: string, record?: ChangeRecorder): Promise<ManifestDeletion> {
    return this.manifests.deleteManifest(repository, digest, record);
  }

  deleteTag(repository: string, tag: string, record?: ChangeRecorder): Promise<boolean> {
    return this.manifests.deleteTag(repository, tag, record);
  }

  listReferrers(
    repository: string,
    subjectDigest: string,
    page: PageRequest & { artifactType?: string | undefined },
  ): Promise<Page<ReferrerRecord>> {
    return this.manifests.listReferrers(repository, subjectDigest, page);
  }

  // ---- listings (listing-index.ts)

  repositoryExists(repository: string): Promise<boolean> {
    return this.listings.repositoryExists(repository);
  }

  listTags(repository: string, page: PageRequest): Promise<Page<string>> {
    return this.listings.listTags(repository, page);
  }

  listRepositories(page: PageRequest): Promise<Page<string>> {
    return this.listings.listRepositories(page);
  }

  // ---- uploads (upload-index.ts)

  createUpload(id: string, repository: string, at?: Date): Promise<void> {
    return this.uploads.createUpload(id, repository, at);
  }

  findUpload(id: string): Promise<UploadRecord | undefined> {
    return this.uploads.findUpload(id);
  }

  touchUpload(id: string, at?: Date): Promise<void> {
    return this.uploads.touchUpload(id, at);
  }

  deleteUpload(id: string): Promise<void> {
    return this.uploads.deleteUpload(id);
  }

  listUploadsIdleSince(cutoff: Date): Promise<UploadRecord[]> {
    return this.uploads.listUploadsIdleSince(cutoff);
  }

  // ---- retention and pull records (retention-index.ts)

  claimUploadDigest(id: string, digest: string, at?: Date): Promise<void> {
    return this.uploads.claimUploadDigest(id, digest, at);
  }

  repositoriesMatching(glob: string): Promise<string[]> {
    return this.retention.repositoriesMatching(glob);
  }

  retentionTags(repository: string): Promise<RetentionTagRecord[]> {
    return this.retention.retentionTags(repository);
  }

  untaggedManifests(repository: string, pushedBefore: Date): Promise<UntaggedManifestRecord[]> {
    return this.retention.untaggedManifests(repository, pushedBefore);
  }

  untagIfUnchanged(repository: string, tag: string, manifestDigest: string, pushedAt: string): Promise<boolean> {
    return this.retention.untagIfUnchanged(repository, tag, manifestDigest, pushedAt);
  }

  recordPull(pull: PullRecord, at: Date): Promise<void> {
    return this.retention.recordPull(pull, at);
  }

  listRetentionRules(): Promise<RetentionRuleRecord[]> {
    return this.retention.listRetentionRules();
  }

  createRetentionRule(rule: RetentionRuleRecord): Promise<void> {
    return this.retention.createRetentionRule(rule);
  }

  deleteRetentionRule(id: string): Promise<boolean> {
    return this.retention.deleteRetentionRule(id);
  }
}
