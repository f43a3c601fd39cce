// Records manifest pulls for retention's "not pulled for" rule: a GET by tag moves the tag's
// last pull and its manifest's, a GET by digest the manifest's (HEAD is not a pull, as on Docker
// Hub). Off the request path: record() only notes the pull and returns; one writer in the
// background sends the notes to the index one at a time, so a pull never waits for a database
// write and a burst of pulls never becomes a burst of writes. Bounded in three ways: each
// (repository, tag or digest) is written at most once a minute per process (the rule of the
// pull-through cache's ledger), at most MAX_PENDING notes wait at once (more are dropped: a pull
// record is a hint, and the next pull after the minute records again), and the throttle map is
// trimmed like the ledger's. A failed write is reported to `warn` and never thrown.
import type { PullRecord } from '../metadata/index.js';
import type { Digest, RepositoryName } from '../oci/index.js';
import type { Reference } from './interfaces.js';

/** What the recorder writes to: MetadataStore.recordPull. */
export interface PullIndex {
  recordPull(pull: PullRecord, at: Date): Promise<void>;
}

/** What ManifestService calls on a GET; the recorder below, or nothing. */
export interface PullSink {
  /** Notes a pull; returns at once, never throws. */
  record(repository: RepositoryName, reference: Reference, served: Digest): void;
}

export interface PullRecorderOptions {
  /** Milliseconds since the epoch; Date.now by default (tests step it). */
  readonly now?: (() => number) | undefined;
  /** Where failed writes are reported (they are never thrown); by default nowhere. */
  readonly warn?: ((error: unknown, message: string) => void) | undefined;
}

/** Pulls of one tag or digest are recorded at most this often per process. */
export const PULL_RECORD_INTERVAL_MS = 60_000;
/** Bound on the throttle's memory; entries older than the interval are dropped past it. */
const MAX_THROTTLE_ENTRIES = 10_000;
/** Bound on the notes waiting to be written. */
const MAX_PENDING = 1_000;

export class PullRecorder implements PullSink {
  /** When each item's pull was last noted, per process: a cache, safe to lose. */
  private readonly lastNoted = new Map<string, number>();
  /** Notes waiting for the writer, by item: a second pull before the write just moves the time. */
  private readonly pending = new Map<string, { pull: PullRecord; at: number }>();
  /** The background writer while it runs. */
  private draining: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly index: PullIndex,
    private readonly options: PullRecorderOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  record(repository: RepositoryName, reference: Reference, served: Digest): void {
    const at = this.now();
    const pull: PullRecord =
      reference.kind === 'tag' ? { repository, tag: reference.tag, digest: served.toString() } : { repository, digest: served.toString() };
    const key = reference.kind === 'tag' ? `${repository}:${reference.tag}` : `${repository}@${pull.digest}`;
    const last = this.lastNoted.get(key);
    if (last !== undefined && at - last < PULL_RECORD_INTERVAL_MS) return;
    if (!this.pending.has(key) && this.pending.size >= MAX_PENDING) return;
    this.lastNoted.set(key, at);
    if (this.lastNoted.size > MAX_THROTTLE_ENTRIES) this.forgetBefore(at - PULL_RECORD_INTERVAL_MS);
    this.pending.set(key, { pull, at });
    this.draining ??= this.drain();
  }

  /** Notes not yet written (for tests and for shutdown). */
  get backlog(): number {
    return this.pending.size;
  }

  /** Resolves once every note made so far is written (or has failed and been reported). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    // Started from record(): let the request that noted the pull answer first.
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      for (;;) {
        const next = this.pending.entries().next();
        if (next.done) return;
        const [key, { pull, at }] = next.value;
        this.pending.delete(key);
        try {
          await this.index.recordPull(pull, new Date(at));
        } catch (error) {
          this.options.warn?.(error, 'could not record a manifest pull');
        }
      }
    } finally {
      this.draining = undefined;
    }
  }

  private forgetBefore(cutoff: number): void {
    for (const [key, at] of this.lastNoted) if (at < cutoff) this.lastNoted.delete(key);
    // Still too many recent ones: start over (the worst case is one extra write per item).
    if (this.lastNoted.size > MAX_THROTTLE_ENTRIES) this.lastNoted.clear();
  }
}
