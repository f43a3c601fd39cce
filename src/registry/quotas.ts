// Quotas per namespace (a repository name's first path component): most bytes, counting each
// distinct blob or manifest once however many of the namespace's repositories link it, and
// optionally most repositories. QuotaService holds the rules (from the configuration file,
// read-only, and from the admin API, stored in lifecycle_rules), answers usage reports, and
// judges pushes; withQuotas() decorates the registry's interfaces (as the pull-through cache
// does) so that a push over quota is refused with 403 DENIED and a message clients print:
// at manifest PUT, and before an upload's bytes are stored when their size is known.
//
// Cost and approximation. Counting a namespace reads all of its links (usage-index.ts), so a push
// does not count each time: each process keeps, per namespace, the count it last made (for
// usageCacheMs, default 10 s) plus what it added since through these interfaces (completed
// uploads and manifests that were new to the namespace). A push that this estimate lets through
// is accepted; one that it would refuse is judged again on a fresh count, so a refusal is always
// exact at that moment. What this estimate can miss is what other replicas, and the
// pull-through cache's fills (which do not pass through here), added within the cache's lifetime,
// and concurrent pushes that each fit alone: the bound is then exceeded by at most that much.
// Deletes through these interfaces drop the estimate, so freed space counts at once here.
import { createHash } from 'node:crypto';
import { RegistryError } from '../errors/index.js';
import type { NamespaceUsage, QuotaRuleIndex, RepositoryUsage, UsageIndex } from '../metadata/index.js';
import { formatByteSize, parseByteSize } from '../oci/byte-size.js';
import { isValidRepositoryName, type Digest, type RepositoryName } from '../oci/index.js';
import { namespaceOf } from '../oci/repository-glob.js';
import type {
  BlobReader,
  BlobUploads,
  BlobWriter,
  CatalogLister,
  HealthReport,
  ManifestReader,
  ManifestWriter,
  Caller,
  QuotaWarning,
  ReferrerLister,
  RegistryServices,
  TagLister,
} from './interfaces.js';

/** A namespace's limits. */
export interface QuotaLimits {
  readonly namespace: string;
  /** Most bytes the namespace may hold. */
  readonly sizeBytes: number;
  /** Most repositories (with at least one manifest); undefined: no limit. */
  readonly repositories?: number | undefined;
  /** Fraction of sizeBytes from which usage reports flag the namespace (0 to 1); undefined: never. */
  readonly warnAt?: number | undefined;
}

/** A quota as the admin API and `berth usage` show it. */
export interface QuotaView extends QuotaLimits {
  /** 'config': from the configuration file, read-only; 'api': set through the admin API. */
  readonly source: 'config' | 'api';
  readonly createdAt?: string | undefined;
  readonly createdBy?: string | undefined;
}

/** A quota as the admin API receives it: size in bytes or with a unit ("10GiB"). */
export interface QuotaInput {
  readonly size: string | number;
  readonly repositories?: number | undefined;
  readonly warnAt?: number | undefined;
}

export interface NamespaceUsageReport extends NamespaceUsage {
  readonly quota: QuotaView | undefined;
  /** Whether usage reached the quota's warnAt fraction (or the quota itself). */
  readonly warning: boolean;
}

export interface NamespaceDetailReport extends NamespaceUsageReport {
  readonly repositoryUsage: readonly RepositoryUsage[];
}

export interface QuotaServiceOptions {
  /** How long a namespace's count is trusted, plus what this process added since (default 10 s). */
  readonly usageCacheMs?: number;
  /** How long the quotas stored in the database are trusted before being read again (default 5 s). */
  readonly rulesCacheMs?: number;
  /** The clock (milliseconds); tests replace it. */
  readonly now?: () => number;
}

/** What the service reads from the metadata index (MetadataStore's usage and quotaRules). */
export interface QuotaIndexes {
  readonly usage: UsageIndex;
  readonly quotaRules: QuotaRuleIndex;
}

interface UsageEstimate {
  bytes: number;
  repositories: number;
  readonly countedAt: number;
}

/** Whether a text is one repository path component (what a namespace is). */
export function isValidNamespace(namespace: string): boolean {
  return !namespace.includes('/') && isValidRepositoryName(namespace);
}

/** Checks a quota's limits (the admin API's input and the configuration file's entries alike). */
export function parseQuota(namespace: string, input: QuotaInput): QuotaLimits {
  const invalid = (reason: string): RegistryError => new RegistryError('REQUEST_INVALID', { reason });
  if (!isValidNamespace(namespace)) {
    throw invalid('namespace must be one repository path component: lower-case [a-z0-9] joined by ".", "_", "__" or dashes');
  }
  const sizeBytes = parseByteSize(input.size);
  if (sizeBytes === undefined) throw invalid('size must be a number of bytes, or a number with a unit such as "10GiB" or "500MB"');
  const { repositories, warnAt } = input;
  if (repositories !== undefined && (!Number.isSafeInteger(repositories) || repositories < 0)) {
    throw invalid('repositories must be a whole number, 0 or more');
  }
  if (warnAt !== undefined && !(Number.isFinite(warnAt) && warnAt > 0 && warnAt <= 1)) {
    throw invalid('warnAt must be a fraction of the size, above 0 and at most 1 (0.9 warns at 90%)');
  }
  return { namespace, sizeBytes, repositories, warnAt };
}

export class QuotaService {
  private warningListener: ((warning: QuotaWarning) => void) | undefined;
  private readonly configQuotas: ReadonlyMap<string, QuotaView>;
  private readonly estimates = new Map<string, UsageEstimate>();
  private stored: { rules: Map<string, QuotaView>; readAt: number } | undefined;
  private storedLoading: Promise<Map<string, QuotaView>> | undefined;
  private readonly usageCacheMs: number;
  private readonly rulesCacheMs: number;
  private readonly now: () => number;

  constructor(
    private readonly indexes: QuotaIndexes,
    configQuotas: readonly QuotaLimits[],
    options: QuotaServiceOptions = {},
  ) {
    this.configQuotas = new Map(configQuotas.map((quota) => [quota.namespace, { ...quota, source: 'config' as const }]));
    this.usageCacheMs = options.usageCacheMs ?? 10_000;
    this.rulesCacheMs = options.rulesCacheMs ?? 5_000;
    this.now = options.now ?? Date.now;
  }

  /** Told when a push takes a namespace from below its warnAt fraction to at or above it (once per crossing, per process). */
  onWarning(listener: (warning: QuotaWarning) => void): void {
    this.warningListener = listener;
  }

  // ---- the rules

  /** The namespace's quota: the configuration file's, else the one set through the admin API. */
  async quotaFor(namespace: string): Promise<QuotaView | undefined> {
    return this.configQuotas.get(namespace) ?? (await this.storedRules()).get(namespace);
  }

  /** Every quota, by namespace; a namespace with both shows the configuration file's (it wins). */
  async listQuotas(): Promise<QuotaView[]> {
    const all = new Map(await this.storedRules(true));
    for (const [namespace, quota] of this.configQuotas) all.set(namespace, quota);
    return [...all.values()].sort((a, b) => compare(a.namespace, b.namespace));
  }

  /** Sets (or replaces) a namespace's quota; refused for one the configuration file sets. */
  async setQuota(namespace: string, input: QuotaInput, by: string | undefined): Promise<QuotaView> {
    const limits = parseQuota(namespace, input);
    this.assertNotConfigured(namespace);
    const createdAt = new Date(this.now()).toISOString();
    await this.indexes.quotaRules.putQuotaRule({
      namespace,
      sizeBytes: limits.sizeBytes,
      repositories: limits.repositories,
      warnAt: limits.warnAt,
      createdAt,
      createdBy: by,
    });
    this.stored = undefined;
    return { ...limits, source: 'api', createdAt, createdBy: by };
  }

  async deleteQuota(namespace: string): Promise<void> {
    this.assertNotConfigured(namespace);
    const deleted = await this.indexes.quotaRules.deleteQuotaRule(namespace);
    this.stored = undefined;
    if (!deleted) throw new RegistryError('RESOURCE_UNKNOWN', { namespace }, { message: `namespace ${namespace} has no quota` });
  }

  private assertNotConfigured(namespace: string): void {
    if (this.configQuotas.has(namespace)) {
      throw new RegistryError(
        'RESOURCE_EXISTS',
        { namespace },
        { message: `the quota of ${namespace} is set in the configuration file (quotas); change it there` },
      );
    }
  }

  /** The stored rules, read again once rulesCacheMs has passed (or when `fresh`). */
  private async storedRules(fresh = false): Promise<Map<string, QuotaView>> {
    if (!fresh && this.stored && this.now() - this.stored.readAt < this.rulesCacheMs) return this.stored.rules;
    // Requests arriving while the rules are read share the one read.
    this.storedLoading ??= (async () => {
      try {
        const readAt = this.now();
        const records = await this.indexes.quotaRules.listQuotaRules();
        const rules = new Map<string, QuotaView>(
          records.map((record) => [
            record.namespace,
            {
              namespace: record.namespace,
              sizeBytes: record.sizeBytes,
              repositories: record.repositories,
              warnAt: record.warnAt,
              source: 'api' as const,
              createdAt: record.createdAt,
              createdBy: record.createdBy,
            },
          ]),
        );
        this.stored = { rules, readAt };
        return rules;
      } finally {
        this.storedLoading = undefined;
      }
    })();
    return this.storedLoading;
  }

  // ---- usage reports (always counted now)

  /** Every namespace that holds anything or has a quota, with its quota. */
  async usage(): Promise<NamespaceUsageReport[]> {
    const [counted, quotas] = await Promise.all([this.indexes.usage.allNamespaceUsage(), this.listQuotas()]);
    const byNamespace = new Map<string, NamespaceUsage>(counted.map((usage) => [usage.namespace, usage]));
    for (const quota of quotas) {
      if (!byNamespace.has(quota.namespace)) byNamespace.set(quota.namespace, { namespace: quota.namespace, bytes: 0, repositories: 0 });
    }
    const quotaOf = new Map(quotas.map((quota) => [quota.namespace, quota]));
    return [...byNamespace.values()]
      .sort((a, b) => compare(a.namespace, b.namespace))
      .map((usage) => report(usage, quotaOf.get(usage.namespace)));
  }

  /** One namespace's usage, quota and repositories. */
  async namespaceUsage(namespace: string): Promise<NamespaceDetailReport> {
    if (!isValidNamespace(namespace))
      throw new RegistryError('REQUEST_INVALID', { reason: 'not a namespace (one repository path component)' });
    const [usage, repositoryUsage, quota] = await Promise.all([
      this.count(namespace),
      this.indexes.usage.repositoryUsage(namespace),
      this.quotaFor(namespace),
    ]);
    return { ...report(usage, quota), repositoryUsage };
  }

  // ---- judging pushes (withQuotas calls these)

  /**
   * Refuses a manifest push that would take the namespace over its quota: the namespace's usage
   * (with the layers this push uploaded, linked already) plus the manifest's own bytes, and one
   * more repository when the push creates one. Resolves to what the push adds when it succeeds
   * (for noteAdded), or undefined when the namespace has no quota.
   */
  async checkManifest(repository: RepositoryName, bytes: Buffer, digest: string | undefined): Promise<PushCost | undefined> {
    const namespace = namespaceOf(repository);
    const quota = await this.quotaFor(namespace);
    if (!quota) return undefined;
    const newRepository = quota.repositories !== undefined && !(await this.indexes.usage.hasManifests(repository));
    const cost: PushCost = { namespace, bytes: bytes.length, repositories: newRepository ? 1 : 0, quota };
    const estimate = await this.estimate(namespace);
    if (!this.exceeds(quota, estimate, cost)) return cost;
    // The estimate would refuse: judge on a fresh count, and count a manifest the namespace
    // already holds (pushed again, or under another repository) as adding nothing.
    const counted = await this.count(namespace);
    const manifestDigest = digest ?? `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (await this.indexes.usage.isLinkedInNamespace(namespace, manifestDigest)) cost.bytes = 0;
    if (quota.repositories !== undefined && cost.repositories > 0 && counted.repositories + 1 > quota.repositories) {
      throw quotaExceeded(`quota exceeded: ${namespace} has ${counted.repositories} of ${quota.repositories} repositories`, quota, counted);
    }
    if (counted.bytes + cost.bytes > quota.sizeBytes) {
      throw quotaExceeded(
        `quota exceeded: ${namespace} uses ${formatByteSize(counted.bytes)} of ${formatByteSize(quota.sizeBytes)}, and this manifest is ${formatByteSize(cost.bytes)}`,
        quota,
        counted,
      );
    }
    return cost;
  }

  /**
   * Refuses an upload whose size is known before its bytes are stored, when the namespace's
   * usage plus the upload's whole size would pass the quota.
   */
  async checkUpload(repository: RepositoryName, size: number): Promise<void> {
    const namespace = namespaceOf(repository);
    const quota = await this.quotaFor(namespace);
    if (!quota) return;
    const cost: PushCost = { namespace, bytes: size, repositories: 0 };
    if (!this.exceeds(quota, await this.estimate(namespace), cost)) return;
    const counted = await this.count(namespace);
    if (counted.bytes + size > quota.sizeBytes) {
      throw quotaExceeded(
        `quota exceeded: ${namespace} uses ${formatByteSize(counted.bytes)} of ${formatByteSize(quota.sizeBytes)}, and this upload is ${formatByteSize(size)}`,
        quota,
        counted,
      );
    }
  }

  /** Whether the namespace has a quota (so the decorator can skip its bookkeeping when not). */
  async hasQuota(repository: RepositoryName): Promise<boolean> {
    return (await this.quotaFor(namespaceOf(repository))) !== undefined;
  }

  /** Whether a blob is linked somewhere in the repository's namespace already. */
  isLinkedInNamespace(repository: RepositoryName, digest: Digest): Promise<boolean> {
    return this.indexes.usage.isLinkedInNamespace(namespaceOf(repository), digest.toString());
  }

  /** Adds what a push that succeeded added to the namespace's estimate (if one is held), and warns when it crossed warnAt. */
  noteAdded(cost: PushCost, pushed?: { repository: string; caller: Caller | undefined }): void {
    const estimate = this.estimates.get(cost.namespace);
    if (!estimate) return;
    const before = estimate.bytes;
    estimate.bytes += cost.bytes;
    estimate.repositories += cost.repositories;
    const warnAt = cost.quota?.warnAt;
    if (cost.quota === undefined || warnAt === undefined || pushed === undefined || this.warningListener === undefined) return;
    const warnFrom = cost.quota.sizeBytes * warnAt;
    if (before < warnFrom && estimate.bytes >= warnFrom) {
      this.warningListener({
        namespace: cost.namespace,
        repository: pushed.repository,
        bytes: estimate.bytes,
        sizeBytes: cost.quota.sizeBytes,
        warnAt,
        caller: pushed.caller,
      });
    }
  }

  /** Drops the namespace's estimate (after a delete): the next push counts again. */
  forget(repository: RepositoryName): void {
    this.estimates.delete(namespaceOf(repository));
  }

  private exceeds(quota: QuotaLimits, usage: { bytes: number; repositories: number }, cost: PushCost): boolean {
    if (usage.bytes + cost.bytes > quota.sizeBytes) return true;
    return quota.repositories !== undefined && cost.repositories > 0 && usage.repositories + cost.repositories > quota.repositories;
  }

  private async estimate(namespace: string): Promise<{ bytes: number; repositories: number }> {
    const held = this.estimates.get(namespace);
    if (held && this.now() - held.countedAt < this.usageCacheMs) return held;
    return this.count(namespace);
  }

  private async count(namespace: string): Promise<NamespaceUsage> {
    const countedAt = this.now();
    const usage = await this.indexes.usage.namespaceUsage(namespace);
    // Bounded: a process serving very many namespaces keeps the most recently counted ones.
    if (this.estimates.size >= 10_000) this.estimates.clear();
    this.estimates.set(namespace, { bytes: usage.bytes, repositories: usage.repositories, countedAt });
    return usage;
  }
}

/** What one push adds to its namespace. */
export interface PushCost {
  readonly namespace: string;
  bytes: number;
  repositories: number;
  /** The namespace's quota (a manifest push's cost carries it, for the warning). */
  readonly quota?: QuotaLimits | undefined;
}

function quotaExceeded(message: string, quota: QuotaLimits, usage: NamespaceUsage): RegistryError {
  return new RegistryError(
    'QUOTA_EXCEEDED',
    {
      namespace: quota.namespace,
      bytes: usage.bytes,
      quota: quota.sizeBytes,
      repositories: usage.repositories,
      repositoryQuota: quota.repositories,
    },
    { message },
  );
}

function report(usage: NamespaceUsage, quota: QuotaView | undefined): NamespaceUsageReport {
  const warnFrom = quota ? quota.sizeBytes * (quota.warnAt ?? 1) : Number.POSITIVE_INFINITY;
  const overRepositories = quota?.repositories !== undefined && usage.repositories >= quota.repositories;
  return { ...usage, quota, warning: quota !== undefined && (usage.bytes >= warnFrom || overRepositories) };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---- the decorator

/**
 * The registry's interfaces with quotas enforced: manifest PUTs and uploads of known size into a
 * namespace with a quota are judged first; completed uploads, manifests and deletes keep this
 * process's estimate current. Everything else is the decorated services'.
 */
export function withQuotas(services: RegistryServices, quotas: QuotaService): RegistryServices {
  return {
    blobs: quotaBlobs(services.blobs, quotas),
    uploads: quotaUploads(services.uploads, quotas),
    manifests: quotaManifests(services.manifests, quotas),
    listings: services.listings satisfies TagLister & CatalogLister,
    referrers: services.referrers satisfies ReferrerLister,
    assertPushable: (repository) => services.assertPushable(repository),
    health: (): Promise<HealthReport> => services.health(),
  };
}

function quotaManifests(manifests: ManifestReader & ManifestWriter, quotas: QuotaService): ManifestReader & ManifestWriter {
  return {
    describe: (repository, reference, accept, scope) => manifests.describe(repository, reference, accept, scope),
    get: (repository, reference, accept, scope) => manifests.get(repository, reference, accept, scope),
    put: async (push) => {
      const digest = push.reference.kind === 'digest' ? push.reference.digest.toString() : undefined;
      const cost = await quotas.checkManifest(push.repository, push.bytes, digest);
      const stored = await manifests.put(push);
      if (cost) quotas.noteAdded(cost, { repository: push.repository, caller: push.scope?.caller });
      return stored;
    },
    delete: async (repository, reference, scope) => {
      await manifests.delete(repository, reference, scope);
      quotas.forget(repository);
    },
  };
}

function quotaBlobs(blobs: BlobReader & BlobWriter, quotas: QuotaService): BlobReader & BlobWriter {
  return {
    stat: (repository, digest, scope) => blobs.stat(repository, digest, scope),
    open: (repository, digest, read, scope) => blobs.open(repository, digest, read, scope),
    mount: async (repository, from, digest, scope) => {
      const mounted = await blobs.mount(repository, from, digest, scope);
      // A mount from another namespace may add bytes here: count again at the next push.
      if (mounted && namespaceOf(from) !== namespaceOf(repository)) quotas.forget(repository);
      return mounted;
    },
    delete: async (repository, digest, scope) => {
      await blobs.delete(repository, digest, scope);
      quotas.forget(repository);
    },
  };
}

function quotaUploads(uploads: BlobUploads, quotas: QuotaService): BlobUploads {
  /** The upload's whole size once this chunk is in, when the request says it; else undefined. */
  const sizeAfter = async (repository: RepositoryName, id: string, options: { range?: { end: number }; length?: number } | undefined) => {
    if (options?.range !== undefined) return options.range.end + 1;
    if (options?.length === undefined) return undefined;
    return (await uploads.status(repository, id)).size + options.length;
  };
  return {
    start: (repository) => uploads.start(repository),
    status: (repository, id) => uploads.status(repository, id),
    cancel: (repository, id) => uploads.cancel(repository, id),
    append: async (repository, id, chunk, options) => {
      if (await quotas.hasQuota(repository)) {
        const size = await sizeAfter(repository, id, options);
        if (size !== undefined) await quotas.checkUpload(repository, size);
      }
      return uploads.append(repository, id, chunk, options);
    },
    complete: async (repository, id, digest, lastChunk, options) => {
      if (!(await quotas.hasQuota(repository))) return uploads.complete(repository, id, digest, lastChunk, options);
      // A blob the namespace links already adds nothing, and is never refused.
      if (await quotas.isLinkedInNamespace(repository, digest)) return uploads.complete(repository, id, digest, lastChunk, options);
      // Without a last chunk the size is what has arrived; with one, only when the request says it.
      const size = lastChunk === undefined ? (await uploads.status(repository, id)).size : await sizeAfter(repository, id, options);
      if (size !== undefined) await quotas.checkUpload(repository, size);
      const blob = await uploads.complete(repository, id, digest, lastChunk, options);
      quotas.noteAdded({ namespace: namespaceOf(repository), bytes: blob.size, repositories: 0 });
      return blob;
    },
  };
}
