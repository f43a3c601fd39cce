// Online garbage collection: mark from the metadata index, sweep the blob store, while pushes
// and pulls go on. One run, in order:
// 0. Pull-through cache eviction (cache-eviction.ts): cached manifests not pulled for their
//    upstream's maxage, or beyond its maxsize the least recently pulled, leave their repository;
//    the phases below then free what only they used.
// 1. Per repository (the mark phase, from the index alone): untagged manifests that nothing
//    kept reaches (with --delete-untagged), then blob links no remaining manifest references.
//    Each removal re-checks its item inside a transaction under the locks a push takes
//    (metadata/gc-index.ts), so an item a push reached meanwhile stays.
// 2. Blobs no repository links any more, and orphan bytes in the store with no record at all
//    (a crash between writing bytes and indexing them), are deleted under the digest's
//    exclusive lock, only if their record and their bytes are older than the grace period.
// 3. Upload sessions idle for longer than the purge age, upload folders with no session, and
//    what writers that died left in the store (S3 multipart uploads, tails, temporary files).
// Everything written within the grace period stays. A dry run does the mark phase in memory and
// reports what a run would delete and the bytes it would free, changing nothing.
import { randomUUID } from 'node:crypto';
import { PathNotFoundError } from '../errors/index.js';
import type { GcIndex, GcRunIndex, GcRunRecord, LeaseIndex, ManifestNode, UploadIndex } from '../metadata/index.js';
import { Digest } from '../oci/index.js';
import type { StorageDriver } from '../storage/driver.js';
import { evictPlanned, planCacheEviction, type CacheEvictionPolicy, type EvictionCandidate } from './cache-eviction.js';
import { blobKey, isValidUploadId, uploadDataKey, uploadFolderKey } from './paths.js';
import type { GcRunEnded } from './interfaces.js';

/** The name of the run's cluster-wide lease (and of its scheduled job). */
export const GARBAGE_COLLECTION = 'garbage-collection';

/** How long a run's lease lasts without renewal; it is renewed well before. */
const LEASE_TTL_MS = 60_000;
const LEASE_RENEW_MS = 15_000;
const PAGE = 500;
/** Most items a dry run lists by name (the counts and bytes are always complete). */
const LISTED_MAX = 1000;
/**
 * Unfinished writes are swept only when nobody wrote to them for this long at least (or the grace
 * period, if longer): a request streaming a blob straight to its address holds a temporary file or
 * multipart upload there, with no session to claim it, and may pause for a while without being dead.
 */
const ABANDONED_WRITE_MIN_AGE_MS = 60 * 60 * 1000;

export interface GcOptions {
  readonly dryRun?: boolean;
  /** Remove manifests no tag, kept index or kept subject reaches (Distribution's --delete-untagged). */
  readonly deleteUntagged?: boolean;
  /** Anything written more recently than this stays. */
  readonly graceMs: number;
  /** Upload sessions idle longer than this are removed with their bytes; none when undefined. */
  readonly uploadMaxIdleMs?: number | undefined;
  /** Unfinished writes untouched for this long are swept; default the grace period, at least an hour. */
  readonly abandonedWriteAgeMs?: number | undefined;
  /** What started the run, for its history: 'schedule', 'api' or 'cli'. */
  readonly trigger: string;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((progress: GcProgress) => void) | undefined;
  /** Told the run's id once it holds the lease and its history row exists. */
  readonly onStart?: ((runId: string) => void) | undefined;
}

export interface GcProgress {
  readonly phase: 'cache' | 'manifests' | 'blobs' | 'orphans' | 'uploads';
  /** Items of the phase done so far, and in all when known. */
  readonly done: number;
  readonly total: number | undefined;
}

export interface GcStats {
  readonly repositories: number;
  /** Pull-through cache manifests evicted (by age or size cap) before the mark phase. */
  readonly cacheEvicted: number;
  readonly manifestsDeleted: number;
  readonly linksRemoved: number;
  readonly blobsDeleted: number;
  /** Bytes in the store with no record (left by a crash), deleted. */
  readonly orphansDeleted: number;
  readonly bytesFreed: number;
  readonly uploadsPurged: number;
  readonly uploadFoldersRemoved: number;
  /** Unfinished writes no live upload claims (S3 multipart uploads and tails, temporary files), removed. */
  readonly abandonedWrites: number;
  /** Candidates that a push reached (or wrote again) before their removal, and so stayed. */
  readonly kept: number;
  readonly durationMs: number;
}

export interface GcReport {
  readonly runId: string;
  readonly dryRun: boolean;
  readonly stats: GcStats;
  /** What was (or on a dry run would be) deleted, up to a thousand of each. */
  readonly deleted: {
    readonly manifests: readonly string[];
    /** Evicted cache content, as upstream:repository@digest. */
    readonly evicted: readonly string[];
    readonly links: readonly string[];
    readonly blobs: readonly { digest: string; size: number }[];
  };
}

/** Another run holds the lease (on this or another replica, or `berth gc`). */
export class GcAlreadyRunning extends Error {
  constructor() {
    super('a garbage collection is already running');
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class GarbageCollector {
  private endedListener: ((run: GcRunEnded) => void) | undefined;

  constructor(
    private readonly storage: StorageDriver,
    private readonly metadata: { gc: GcIndex; gcRuns: GcRunIndex; leases: LeaseIndex } & Pick<UploadIndex, 'findUpload'>,
    private readonly purgeIdleUploads: (maxIdleMs: number, dryRun: boolean, signal?: AbortSignal) => Promise<string[]>,
    private readonly now: () => number = Date.now,
    /** The pull-through cache's upstreams with maxage or maxsize. */
    private readonly cacheEviction: readonly CacheEvictionPolicy[] = [],
  ) {}

  /** Told of every run of this process that ends, finished or failed (the gc.run event). */
  onRunEnded(listener: (run: GcRunEnded) => void): void {
    this.endedListener = listener;
  }

  /** Past runs, newest first. */
  history(limit: number, before?: string): Promise<GcRunRecord[]> {
    return this.metadata.gcRuns.listGcRuns(limit, before);
  }

  findRun(id: string): Promise<GcRunRecord | undefined> {
    return this.metadata.gcRuns.findGcRun(id);
  }

  /** Runs once; throws GcAlreadyRunning when another run holds the lease. */
  async run(options: GcOptions): Promise<GcReport> {
    const runId = randomUUID();
    if (!(await this.metadata.leases.acquireLease(GARBAGE_COLLECTION, runId, LEASE_TTL_MS))) throw new GcAlreadyRunning();
    const renew = setInterval(() => {
      this.metadata.leases.acquireLease(GARBAGE_COLLECTION, runId, LEASE_TTL_MS).catch(() => undefined);
    }, LEASE_RENEW_MS);
    renew.unref();
    const started = this.now();
    const dryRun = options.dryRun === true;
    const recorded = { graceMs: options.graceMs, deleteUntagged: options.deleteUntagged === true };
    try {
      await this.metadata.gcRuns.failAbandonedGcRuns(runId, new Date(started));
      await this.metadata.gcRuns.startGcRun({
        id: runId,
        trigger: options.trigger,
        dryRun,
        options: recorded,
        startedAt: new Date(started),
      });
      options.onStart?.(runId);
      try {
        const report = await new GcPass(
          this.storage,
          this.metadata,
          this.purgeIdleUploads,
          runId,
          options,
          started,
          this.now,
          this.cacheEviction,
        ).run();
        await this.metadata.gcRuns.finishGcRun(runId, { status: 'finished', stats: { ...report.stats }, finishedAt: new Date(this.now()) });
        this.endedListener?.({ runId, trigger: options.trigger, dryRun, status: 'finished', stats: report.stats });
        return report;
      } catch (error) {
        const message = String((error as Error).message ?? error);
        await this.metadata.gcRuns
          .finishGcRun(runId, { status: 'failed', error: message, finishedAt: new Date(this.now()) })
          .catch(() => undefined);
        this.endedListener?.({ runId, trigger: options.trigger, dryRun, status: 'failed', error: message });
        throw error;
      }
    } finally {
      clearInterval(renew);
      await this.metadata.leases.releaseLease(GARBAGE_COLLECTION, runId).catch(() => undefined);
    }
  }
}

/** One run's state: its cutoff, its counters and what it deleted. */
class GcPass {
  private readonly cutoff: string;
  private readonly cutoffMs: number;
  private readonly dryRun: boolean;
  private readonly stats: Mutable<Omit<GcStats, 'durationMs'>> = {
    repositories: 0,
    cacheEvicted: 0,
    manifestsDeleted: 0,
    linksRemoved: 0,
    blobsDeleted: 0,
    orphansDeleted: 0,
    bytesFreed: 0,
    uploadsPurged: 0,
    uploadFoldersRemoved: 0,
    abandonedWrites: 0,
    kept: 0,
  };
  private readonly deleted = {
    manifests: [] as string[],
    evicted: [] as string[],
    links: [] as string[],
    blobs: [] as { digest: string; size: number }[],
  };
  /** Dry run: links the run would remove, per digest (to tell which blobs would lose their last link). */
  private readonly wouldUnlink = new Map<string, number>();
  /** Dry run: cached manifests the run would evict, as repository@digest (the mark phase sees them gone). */
  private readonly wouldEvict = new Set<string>();

  constructor(
    private readonly storage: StorageDriver,
    private readonly metadata: { gc: GcIndex } & Pick<UploadIndex, 'findUpload'>,
    private readonly purgeIdleUploads: (maxIdleMs: number, dryRun: boolean, signal?: AbortSignal) => Promise<string[]>,
    private readonly runId: string,
    private readonly options: GcOptions,
    private readonly started: number,
    private readonly now: () => number,
    private readonly cacheEviction: readonly CacheEvictionPolicy[],
  ) {
    this.cutoffMs = started - options.graceMs;
    this.cutoff = new Date(this.cutoffMs).toISOString();
    this.dryRun = options.dryRun === true;
  }

  async run(): Promise<GcReport> {
    await this.evictCachedContent();
    await this.markAndUnlink();
    await this.sweepUnlinkedBlobs();
    await this.sweepOrphanBytes();
    await this.sweepUploads();
    return {
      runId: this.runId,
      dryRun: this.dryRun,
      stats: { ...this.stats, durationMs: this.now() - this.started },
      deleted: this.deleted,
    };
  }

  private checkpoint(): void {
    this.options.signal?.throwIfAborted();
  }

  private progress(phase: GcProgress['phase'], done: number, total?: number): void {
    this.options.onProgress?.({ phase, done, total });
  }

  // ---- 0. pull-through cache eviction

  private async evictCachedContent(): Promise<void> {
    for (const policy of this.cacheEviction) {
      this.checkpoint();
      const planned = await planCacheEviction(this.metadata.gc, policy, this.started, this.cutoff);
      if (this.dryRun) {
        for (const candidate of planned) this.noteEvicted(candidate);
        for (const candidate of planned) this.wouldEvict.add(`${candidate.repository}@${candidate.digest}`);
      } else {
        const { evicted, kept } = await evictPlanned(this.metadata.gc, planned, this.cutoff, () => this.checkpoint());
        for (const candidate of evicted) this.noteEvicted(candidate);
        this.stats.kept += kept;
      }
      this.progress('cache', this.stats.cacheEvicted);
    }
  }

  private noteEvicted(candidate: EvictionCandidate): void {
    this.stats.cacheEvicted++;
    if (this.deleted.evicted.length < LISTED_MAX)
      this.deleted.evicted.push(`${candidate.upstream}:${candidate.repository}@${candidate.digest}`);
  }

  // ---- 1. manifests and links, repository by repository

  private async markAndUnlink(): Promise<void> {
    let after: string | undefined;
    for (;;) {
      const repositories = await this.metadata.gc.gcRepositories(after, PAGE);
      for (const repository of repositories) {
        this.checkpoint();
        await this.collectRepository(repository);
        this.stats.repositories++;
        this.progress('manifests', this.stats.repositories);
      }
      if (repositories.length < PAGE) return;
      after = repositories.at(-1);
    }
  }

  private async collectRepository(repository: string): Promise<void> {
    // A dry run's evictions have not happened: the graph is read as if they had.
    const evicted = new Set<string>();
    const graph = (await this.metadata.gc.manifestGraph(repository)).filter((m) => {
      const gone = this.wouldEvict.has(`${repository}@${m.digest}`);
      if (gone) evicted.add(m.digest);
      return !gone;
    });
    for (const digest of evicted) this.wouldUnlink.set(digest, (this.wouldUnlink.get(digest) ?? 0) + 1);
    const doomed = this.options.deleteUntagged ? unreachableManifests(graph, this.cutoff) : new Set<string>();
    if (doomed.size > 0) {
      if (this.dryRun) {
        for (const digest of doomed) {
          this.noteManifest(repository, digest);
          // Its own link goes with it.
          this.wouldUnlink.set(digest, (this.wouldUnlink.get(digest) ?? 0) + 1);
        }
      } else {
        await this.deleteManifests(repository, doomed);
      }
    }
    // Which blobs the manifests that stay still reference (on a real run, re-read: a push may
    // have added some meanwhile, and a manifest GC kept stays referenced).
    const remaining = this.dryRun ? graph.filter((m) => !doomed.has(m.digest)) : await this.metadata.gc.manifestGraph(repository);
    const referenced = new Set<string>();
    for (const manifest of remaining) {
      referenced.add(manifest.digest);
      for (const blob of manifest.blobs) referenced.add(blob);
      for (const child of manifest.children) referenced.add(child);
    }
    for (const link of await this.metadata.gc.repositoryLinks(repository)) {
      if (referenced.has(link.digest) || doomed.has(link.digest) || evicted.has(link.digest) || link.linkedAt >= this.cutoff) continue;
      this.checkpoint();
      if (this.dryRun) {
        this.noteLink(repository, link.digest);
        this.wouldUnlink.set(link.digest, (this.wouldUnlink.get(link.digest) ?? 0) + 1);
      } else if (await this.metadata.gc.unlinkUnreferenced(repository, link.digest, this.cutoff)) {
        this.noteLink(repository, link.digest);
      } else {
        this.stats.kept++;
      }
    }
  }

  /**
   * Deletes in rounds: an index before its children, a subject before its referrers (the
   * re-check refuses a child an index still lists, and a referrer whose subject is still there).
   */
  private async deleteManifests(repository: string, doomed: Set<string>): Promise<void> {
    const pending = new Set(doomed);
    for (let progress = true; progress && pending.size > 0; ) {
      progress = false;
      for (const digest of [...pending]) {
        this.checkpoint();
        if (await this.metadata.gc.deleteUntaggedManifest(repository, digest, this.cutoff)) {
          pending.delete(digest);
          this.noteManifest(repository, digest);
          progress = true;
        }
      }
    }
    this.stats.kept += pending.size;
  }

  private noteManifest(repository: string, digest: string): void {
    this.stats.manifestsDeleted++;
    if (this.deleted.manifests.length < LISTED_MAX) this.deleted.manifests.push(`${repository}@${digest}`);
  }

  private noteLink(repository: string, digest: string): void {
    this.stats.linksRemoved++;
    if (this.deleted.links.length < LISTED_MAX) this.deleted.links.push(`${repository}@${digest}`);
  }

  // ---- 2. blobs no repository links, and bytes with no record

  private async sweepUnlinkedBlobs(): Promise<void> {
    let after: string | undefined;
    let done = 0;
    for (;;) {
      const blobs = await this.metadata.gc.unlinkedBlobs(this.cutoff, after, PAGE);
      for (const blob of blobs) {
        this.checkpoint();
        await this.deleteBlob(blob.digest, blob.size);
        this.progress('blobs', ++done);
      }
      if (blobs.length < PAGE) break;
      after = blobs.at(-1)?.digest;
    }
    if (this.dryRun) await this.countBlobsLosingTheirLastLink();
  }

  /** Dry run: blobs whose every link the run would remove would be deleted too. */
  private async countBlobsLosingTheirLastLink(): Promise<void> {
    const digests = [...this.wouldUnlink.keys()];
    const counts = await this.metadata.gc.linkCounts(digests);
    const lastLinks = digests.filter((digest) => counts.get(digest) === this.wouldUnlink.get(digest));
    const sizes = await this.storedSizes(lastLinks);
    for (const [digest, size] of sizes) this.noteBlob(digest, size, false);
  }

  private async storedSizes(digests: readonly string[]): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    for (const digest of digests) {
      const stat = await this.statBytes(digest);
      if (stat) sizes.set(digest, stat.size);
    }
    return sizes;
  }

  private async deleteBlob(digest: string, size: number, orphan = false): Promise<void> {
    if (this.dryRun) {
      const stat = await this.statBytes(digest);
      if (stat === undefined || stat.modifiedAt.getTime() < this.cutoffMs) this.noteBlob(digest, stat?.size ?? size, orphan);
      return;
    }
    let freed = 0;
    const removal = await this.metadata.gc.deleteUnlinkedBlob(digest, this.cutoff, async () => {
      const stat = await this.statBytes(digest);
      if (stat === undefined) return true; // already gone: only the record was left
      if (stat.modifiedAt.getTime() >= this.cutoffMs) return false; // written again just now
      await this.storage.delete(blobFolderKey(digest)).catch(ignoreNotFound);
      freed = stat.size;
      return true;
    });
    if (removal === 'deleted') this.noteBlob(digest, freed, orphan);
    else this.stats.kept++;
  }

  private noteBlob(digest: string, size: number, orphan: boolean): void {
    if (orphan) this.stats.orphansDeleted++;
    else this.stats.blobsDeleted++;
    this.stats.bytesFreed += size;
    if (this.deleted.blobs.length < LISTED_MAX) this.deleted.blobs.push({ digest, size });
  }

  private async statBytes(digest: string): Promise<{ size: number; modifiedAt: Date } | undefined> {
    try {
      const stat = await this.storage.stat(blobKey(Digest.parse(digest)));
      return { size: stat.size, modifiedAt: stat.modifiedAt };
    } catch (error) {
      if (error instanceof PathNotFoundError) return undefined;
      throw error;
    }
  }

  /** Bytes under blobs/ whose digest has no record in the index: left by a crash (or a failed push). */
  private async sweepOrphanBytes(): Promise<void> {
    let done = 0;
    for (const algorithm of await this.listOrEmpty('blobs')) {
      for (const fan of await this.listOrEmpty(algorithm)) {
        this.checkpoint();
        const digests = (await this.listOrEmpty(fan)).flatMap((key) => digestOfFolder(key) ?? []);
        const recorded = await this.metadata.gc.recordedBlobs(digests);
        for (const digest of digests) {
          if (recorded.has(digest)) continue;
          this.checkpoint();
          await this.deleteBlob(digest, 0, true);
        }
        done += digests.length;
        this.progress('orphans', done);
      }
    }
  }

  private async listOrEmpty(prefix: string): Promise<string[]> {
    try {
      return await this.storage.list(prefix);
    } catch (error) {
      if (error instanceof PathNotFoundError) return [];
      throw error;
    }
  }

  // ---- 3. uploads

  private async sweepUploads(): Promise<void> {
    if (this.options.uploadMaxIdleMs !== undefined) {
      this.stats.uploadsPurged += (await this.purgeIdleUploads(this.options.uploadMaxIdleMs, this.dryRun, this.options.signal)).length;
    }
    let done = 0;
    for (const key of await this.listOrEmpty('uploads')) {
      this.checkpoint();
      const id = key.slice('uploads/'.length);
      this.progress('uploads', ++done);
      // A session is created before any of its bytes, so a folder without one was left behind;
      // recently written bytes still wait for the grace period.
      if (!isValidUploadId(id) || (await this.metadata.findUpload(id))) continue;
      const modifiedAt = await this.storage
        .stat(uploadDataKey(id))
        .then((stat) => stat.modifiedAt.getTime())
        .catch((error: unknown) => {
          if (error instanceof PathNotFoundError) return 0;
          throw error;
        });
      if (modifiedAt >= this.cutoffMs) continue;
      if (!this.dryRun) await this.storage.delete(uploadFolderKey(id)).catch(ignoreNotFound);
      this.stats.uploadFoldersRemoved++;
    }
    await this.sweepAbandonedWrites();
  }

  /** Unfinished writes nobody touched for abandonedWriteAgeMs that no upload session claims (driver.ts). */
  private async sweepAbandonedWrites(): Promise<void> {
    if (!this.storage.sweepAbandonedWrites) return;
    const age = this.options.abandonedWriteAgeMs ?? Math.max(this.options.graceMs, ABANDONED_WRITE_MIN_AGE_MS);
    const olderThan = new Date(this.started - age);
    const swept = await this.storage.sweepAbandonedWrites(olderThan, (key) => isLiveUploadKey(key, this.metadata), {
      dryRun: this.dryRun,
      ...(this.options.signal ? { signal: this.options.signal } : {}),
    });
    this.stats.abandonedWrites += swept.removed;
    this.stats.bytesFreed += swept.bytes;
  }
}

/**
 * Manifests of a repository that nothing kept reaches: kept are the tagged ones, those pushed
 * within the grace period, and everything a kept index lists or that refers to a kept subject
 * (signatures, SBOMs), transitively.
 */
export function unreachableManifests(graph: readonly ManifestNode[], cutoff: string): Set<string> {
  const byDigest = new Map(graph.map((m) => [m.digest, m]));
  const referrers = new Map<string, string[]>();
  for (const m of graph) {
    if (m.subjectDigest === undefined) continue;
    const list = referrers.get(m.subjectDigest) ?? [];
    list.push(m.digest);
    referrers.set(m.subjectDigest, list);
  }
  const kept = new Set<string>();
  const queue = graph.filter((m) => m.tagged || m.pushedAt >= cutoff).map((m) => m.digest);
  while (queue.length > 0) {
    const digest = queue.pop() as string;
    if (kept.has(digest)) continue;
    kept.add(digest);
    for (const child of byDigest.get(digest)?.children ?? []) queue.push(child);
    for (const referrer of referrers.get(digest) ?? []) queue.push(referrer);
  }
  return new Set(graph.filter((m) => !kept.has(m.digest)).map((m) => m.digest));
}

/** Whether a key lies in the folder of an upload that still has a session (uploads/<id>/...). */
export async function isLiveUploadKey(key: string, uploads: Pick<UploadIndex, 'findUpload'>): Promise<boolean> {
  const [root, id] = key.split('/');
  if (root !== 'uploads' || id === undefined || !isValidUploadId(id)) return false;
  return (await uploads.findUpload(id)) !== undefined;
}

/** blobs/sha256/ab/abcdef...: the folder holding a blob's data. */
function blobFolderKey(digest: string): string {
  return blobKey(Digest.parse(digest)).slice(0, -'/data'.length);
}

/** The digest a blob folder key (blobs/<algorithm>/<fan>/<hex>) stands for, if it is one. */
function digestOfFolder(key: string): string | undefined {
  const [root, algorithm, fan, hex] = key.split('/');
  if (root !== 'blobs' || algorithm === undefined || fan === undefined || hex === undefined) return undefined;
  const text = `${algorithm}:${hex}`;
  try {
    return Digest.parse(text).toString() === text && hex.startsWith(fan) ? text : undefined;
  } catch {
    return undefined;
  }
}

function ignoreNotFound(error: unknown): void {
  if (!(error instanceof PathNotFoundError)) throw error;
}
