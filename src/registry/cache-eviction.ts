// Eviction of pull-through cache content, the first phase of a garbage-collection run. Per
// upstream with a policy: cached manifests not pulled for maxage go, then, while the upstream's
// cached bytes (each distinct blob once) stay above maxsize, the least recently pulled ones. Only
// manifests are removed here (with their cached tags), each re-checked under the push locks
// (metadata/cache-eviction-index.ts); GC's mark phase then unlinks the blobs no remaining
// manifest references and its blob sweep frees their bytes. Evicted content is fetched again
// from the upstream on its next pull.
import type { CachedManifestItem, GcIndex, ManifestNode } from '../metadata/index.js';

/** What a configured upstream allows the cache to keep. */
export interface CacheEvictionPolicy {
  /** The upstream's configured name (cached_items.upstream). */
  readonly upstream: string;
  /** Manifests not pulled for this long are evicted; 0: never by age. */
  readonly maxAgeMs: number;
  /** Most cached bytes of the upstream; beyond it the least recently pulled go first. */
  readonly maxBytes?: number | undefined;
}

/** A manifest chosen for eviction. */
export interface EvictionCandidate extends CachedManifestItem {
  readonly upstream: string;
  readonly reason: 'age' | 'size';
}

/**
 * A manifest written more than this after its last recorded pull was pushed here since (the
 * cache records its fetch and its write within moments of each other): hosted, it stays.
 */
const REPUSH_SLACK_MS = 60_000;

type EvictionIndex = Pick<GcIndex, 'cache' | 'manifestGraph'>;

/** The manifests a run evicts for one upstream, least recently pulled first. */
export async function planCacheEviction(
  index: EvictionIndex,
  policy: CacheEvictionPolicy,
  nowMs: number,
  pushedBefore: string,
): Promise<EvictionCandidate[]> {
  if (policy.maxAgeMs <= 0 && policy.maxBytes === undefined) return [];
  const eligible = (await index.cache.cachedManifests(policy.upstream)).filter(
    (m) => !m.hostedTag && m.pushedAt < pushedBefore && Date.parse(m.pushedAt) <= Date.parse(m.lastPulledAt) + REPUSH_SLACK_MS,
  );
  const chosen = new Map<string, EvictionCandidate>();
  if (policy.maxAgeMs > 0) {
    const pulledBefore = new Date(nowMs - policy.maxAgeMs).toISOString();
    for (const m of eligible) {
      if (m.lastPulledAt < pulledBefore) chosen.set(keyOf(m.repository, m.digest), { ...m, upstream: policy.upstream, reason: 'age' });
    }
  }
  if (policy.maxBytes !== undefined) await chooseOverCap(index, policy, policy.maxBytes, eligible, chosen);
  return [...chosen.values()];
}

/**
 * Adds the least recently pulled manifests to `chosen` until the upstream's cached bytes, as they
 * will be once the chosen manifests and what only they reference are gone, fit in maxBytes. An
 * index goes before its children (a child an index still lists is never evicted).
 */
async function chooseOverCap(
  index: EvictionIndex,
  policy: CacheEvictionPolicy,
  maxBytes: number,
  eligible: readonly CachedManifestItem[],
  chosen: Map<string, EvictionCandidate>,
): Promise<void> {
  const usage = new CachedUsage(await index.cache.cachedItemSizes(policy.upstream));
  for (const repository of usage.repositories) usage.addGraph(repository, await index.manifestGraph(repository));
  for (const candidate of chosen.values()) usage.release(candidate.repository, candidate.digest);
  for (let i = 0; i < eligible.length && usage.bytes > maxBytes; i++) {
    const m = eligible[i] as CachedManifestItem;
    const key = keyOf(m.repository, m.digest);
    if (chosen.has(key) || usage.isListedByIndex(m.repository, m.digest)) continue;
    chosen.set(key, { ...m, upstream: policy.upstream, reason: 'size' });
    // An index going frees its children to go too: start again from the least recently pulled.
    if (usage.release(m.repository, m.digest)) i = -1;
  }
}

/**
 * An upstream's cached bytes: each distinct digest that is a cached item of some repository and
 * still held there (by a manifest of that repository, as itself, a blob or a child) counts once.
 * Cached blobs no manifest holds are left out: the mark phase unlinks them anyway.
 */
class CachedUsage {
  bytes = 0;
  private readonly sizes = new Map<string, number>();
  /** repository@digest of the upstream's cached items. */
  private readonly cached = new Set<string>();
  /** repository@digest -> how many manifests of the repository hold it. */
  private readonly holders = new Map<string, number>();
  /** repository@digest -> how many indexes of the repository list it. */
  private readonly parents = new Map<string, number>();
  private readonly nodes = new Map<string, ManifestNode>();
  /** digest -> in how many repositories it is cached and held. */
  private readonly heldIn = new Map<string, number>();

  constructor(items: readonly { repository: string; digest: string; size: number }[]) {
    for (const item of items) {
      this.cached.add(keyOf(item.repository, item.digest));
      this.repositories.add(item.repository);
      this.sizes.set(item.digest, item.size);
    }
  }

  /** The repositories holding cached items of the upstream. */
  readonly repositories = new Set<string>();

  addGraph(repository: string, graph: readonly ManifestNode[]): void {
    for (const node of graph) {
      this.nodes.set(keyOf(repository, node.digest), node);
      for (const digest of heldBy(node)) this.hold(repository, digest);
      for (const child of node.children) increment(this.parents, keyOf(repository, child), 1);
    }
  }

  isListedByIndex(repository: string, digest: string): boolean {
    return (this.parents.get(keyOf(repository, digest)) ?? 0) > 0;
  }

  /** The manifest goes: what it held may stop counting. Returns whether it listed children. */
  release(repository: string, digest: string): boolean {
    const node = this.nodes.get(keyOf(repository, digest));
    if (!node) return false;
    this.nodes.delete(keyOf(repository, digest));
    for (const child of node.children) increment(this.parents, keyOf(repository, child), -1);
    for (const held of heldBy(node)) {
      const key = keyOf(repository, held);
      if (increment(this.holders, key, -1) > 0 || !this.cached.has(key)) continue;
      if (increment(this.heldIn, held, -1) === 0) this.bytes -= this.sizes.get(held) ?? 0;
    }
    return node.children.length > 0;
  }

  private hold(repository: string, digest: string): void {
    const key = keyOf(repository, digest);
    if (increment(this.holders, key, 1) !== 1 || !this.cached.has(key)) return;
    if (increment(this.heldIn, digest, 1) === 1) this.bytes += this.sizes.get(digest) ?? 0;
  }
}

/** What a manifest keeps in its repository: itself, its blobs and its children (each once). */
function heldBy(node: ManifestNode): Set<string> {
  return new Set([node.digest, ...node.blobs, ...node.children]);
}

function increment(map: Map<string, number>, key: string, by: number): number {
  const value = (map.get(key) ?? 0) + by;
  map.set(key, value);
  return value;
}

function keyOf(repository: string, digest: string): string {
  return `${repository}@${digest}`;
}

/**
 * Evicts the planned manifests in rounds, an index before its children (the removal refuses a
 * child an index still lists). Returns those evicted, and how many stayed because a pull, a push
 * or a hosted tag reached them meanwhile.
 */
export async function evictPlanned(
  index: EvictionIndex,
  planned: readonly EvictionCandidate[],
  pushedBefore: string,
  checkpoint: () => void,
): Promise<{ evicted: EvictionCandidate[]; kept: number }> {
  const evicted: EvictionCandidate[] = [];
  let pending = [...planned];
  for (let progress = true; progress && pending.length > 0; ) {
    progress = false;
    const next: EvictionCandidate[] = [];
    for (const candidate of pending) {
      checkpoint();
      if (await index.cache.evictCachedManifest(candidate.repository, candidate.digest, candidate, pushedBefore)) {
        evicted.push(candidate);
        progress = true;
      } else {
        next.push(candidate);
      }
    }
    pending = next;
  }
  return { evicted, kept: pending.length };
}
