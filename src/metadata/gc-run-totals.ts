// Totals over the garbage-collection history (gc_runs) for the metrics: runs finished, failed and
// in progress, and the bytes the finished runs freed. Dry runs free nothing and are left out.
// Read when Prometheus scrapes, from the table every replica writes, so every replica reports
// the same totals. The table gains a row per run (hourly runs: under 9,000 a year), and a
// finished row's bytes are parsed once and remembered by its id.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface GcRunTotals {
  readonly finished: number;
  readonly failed: number;
  readonly running: number;
  readonly bytesFreed: number;
}

export class GcRunTotalsReader {
  /** Bytes freed by each finished run already parsed, by run id. */
  readonly #freedByRun = new Map<string, number>();

  constructor(private readonly db: Kysely<Database>) {}

  async read(): Promise<GcRunTotals> {
    const rows = await this.db.selectFrom('gc_runs').select(['id', 'status', 'stats']).where('dry_run', '=', 0).execute();
    let finished = 0;
    let failed = 0;
    let running = 0;
    let bytesFreed = 0;
    for (const row of rows) {
      if (row.status === 'running') running++;
      else if (row.status === 'failed') failed++;
      else finished++;
      if (row.status !== 'finished') continue;
      let freed = this.#freedByRun.get(row.id);
      if (freed === undefined) {
        freed = bytesFreedOf(row.stats);
        this.#freedByRun.set(row.id, freed);
      }
      bytesFreed += freed;
    }
    return { finished, failed, running, bytesFreed };
  }
}

/** stats.bytesFreed of a finished run's JSON, 0 when it is missing or unreadable. */
function bytesFreedOf(stats: string | null): number {
  if (stats === null) return 0;
  try {
    const value = (JSON.parse(stats) as { bytesFreed?: unknown }).bytesFreed;
    return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
  } catch {
    return 0;
  }
}
