// Rate-limit counts shared by replicas on one PostgreSQL: every sync interval, each replica adds
// what it counted since the last sync to the shared counts (one statement for all keys) and takes
// the totals back, which include the other replicas' requests. No request waits for this.
//
// The approximation, as docs/security.md states it: a replica learns of the others' requests at
// its next sync, so for each key a replica may admit up to what it receives in about one sync
// interval (plus the round trip) beyond the limit; a replica that has not yet seen a key counts it
// from zero until its first sync for that key. If the database cannot be reached, each replica
// goes on counting alone and shares what it counted once the database answers again.
import type { SharedWindowCounts } from '../../metadata/rate-limit-counters.js';
import type { WindowCounts } from './window-counts.js';

/** How often ended windows are deleted from the shared counts. */
const CLEANUP_INTERVAL_MS = 60_000;

export class SharedCountSync {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastCleanup = 0;

  constructor(
    private readonly counts: WindowCounts,
    private readonly store: SharedWindowCounts,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void,
    private readonly clock: () => number = Date.now,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.syncNow(), this.intervalMs);
    this.timer.unref();
  }

  /** One sync (or the one already running); never rejects: failures go to onError. */
  syncNow(): Promise<void> {
    this.running ??= this.sync().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Stops the timer and shares what is left. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    await this.syncNow();
  }

  private async sync(): Promise<void> {
    const now = this.clock();
    const deltas = this.counts.takeUnshared(now);
    try {
      if (deltas.length > 0) this.counts.applyShared(deltas, await this.store.add(deltas));
    } catch (error) {
      this.counts.restoreUnshared(deltas);
      this.onError(error);
      return;
    }
    if (now - this.lastCleanup >= CLEANUP_INTERVAL_MS) {
      this.lastCleanup = now;
      await this.store.deleteEnded(now).catch(this.onError);
    }
  }
}
