// Request counts in fixed windows, kept in memory: the rate limiter's arithmetic. Windows are
// aligned to the epoch (a 6h window runs 00:00-06:00, 06:00-12:00, ... UTC), so every replica
// means the same window by the same key and their counts can be added up (shared-counts.ts).
// Each count remembers what it gained since it was last shared. The number of keys is bounded:
// beyond maxKeys, keys whose window has ended go first, then the oldest.
import type { WindowCountDelta } from '../../metadata/rate-limit-counters.js';

interface WindowCount {
  windowStart: number;
  readonly windowMs: number;
  /** Requests counted in the window: this replica's, plus the others' as of the last sync. */
  count: number;
  /** Of those, this replica's since the last sync. */
  unshared: number;
}

/** The outcome of counting one request. */
export interface CountResult {
  /** Whether it was within the limit (then it was counted; refused requests are not). */
  readonly allowed: boolean;
  /** The window's count after this request. */
  readonly count: number;
  /** When the window ends (ms since the epoch). */
  readonly windowEnd: number;
}

export class WindowCounts {
  private readonly counts = new Map<string, WindowCount>();

  constructor(private readonly maxKeys = 100_000) {}

  get size(): number {
    return this.counts.size;
  }

  /** Counts a request for `key` if the window holds fewer than `limit` already. */
  take(key: string, limit: number, windowMs: number, now: number): CountResult {
    const entry = this.current(key, windowMs, now);
    const windowEnd = entry.windowStart + windowMs;
    if (entry.count >= limit) return { allowed: false, count: entry.count, windowEnd };
    entry.count++;
    entry.unshared++;
    return { allowed: true, count: entry.count, windowEnd };
  }

  /** The count of `key`'s current window, without counting anything. */
  peek(key: string, windowMs: number, now: number): { count: number; windowEnd: number } {
    const windowStart = alignedStart(now, windowMs);
    const entry = this.counts.get(key);
    return { count: entry?.windowStart === windowStart ? entry.count : 0, windowEnd: windowStart + windowMs };
  }

  /** What this replica counted since the last call, per key and window; the counts keep it. */
  takeUnshared(now: number): WindowCountDelta[] {
    const deltas: WindowCountDelta[] = [];
    for (const [key, entry] of this.counts) {
      if (entry.unshared === 0) continue;
      if (entry.windowStart + entry.windowMs > now) {
        deltas.push({ key, windowStart: entry.windowStart, windowMs: entry.windowMs, added: entry.unshared });
      }
      entry.unshared = 0;
    }
    return deltas;
  }

  /** Takes in the shared totals (every replica's) after `deltas` were added to them. */
  applyShared(deltas: readonly WindowCountDelta[], totals: readonly number[]): void {
    deltas.forEach((delta, i) => {
      const entry = this.counts.get(delta.key);
      const total = totals[i];
      if (entry === undefined || total === undefined || entry.windowStart !== delta.windowStart) return;
      // Requests counted while the totals were on their way are not in them yet.
      entry.count = Math.max(entry.count, total + entry.unshared);
    });
  }

  /** Puts back deltas that could not be shared, to be tried again at the next sync. */
  restoreUnshared(deltas: readonly WindowCountDelta[]): void {
    for (const delta of deltas) {
      const entry = this.counts.get(delta.key);
      if (entry !== undefined && entry.windowStart === delta.windowStart) entry.unshared += delta.added;
    }
  }

  private current(key: string, windowMs: number, now: number): WindowCount {
    const windowStart = alignedStart(now, windowMs);
    const entry = this.counts.get(key);
    if (entry !== undefined) {
      if (entry.windowStart !== windowStart) {
        entry.windowStart = windowStart;
        entry.count = 0;
        entry.unshared = 0;
      }
      return entry;
    }
    if (this.counts.size >= this.maxKeys) this.makeRoom(now);
    const fresh: WindowCount = { windowStart, windowMs, count: 0, unshared: 0 };
    this.counts.set(key, fresh);
    return fresh;
  }

  /** Drops ended windows; if that frees too little, the oldest sixteenth of the keys. */
  private makeRoom(now: number): void {
    for (const [key, entry] of this.counts) {
      if (entry.windowStart + entry.windowMs <= now) this.counts.delete(key);
    }
    if (this.counts.size < this.maxKeys) return;
    let drop = Math.max(1, Math.ceil(this.maxKeys / 16));
    for (const key of this.counts.keys()) {
      if (drop-- === 0) break;
      this.counts.delete(key);
    }
  }
}

/** The start of the window `now` falls in, windows of `windowMs` aligned to the epoch. */
export function alignedStart(now: number, windowMs: number): number {
  return now - (now % windowMs);
}
