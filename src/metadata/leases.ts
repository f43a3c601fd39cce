// Leases: "one holder at a time" for long background work (garbage collection) across replicas
// and command-line runs, kept as a settings row (`lease:<name>` → holder and expiry as JSON) so
// it works the same on SQLite and PostgreSQL without holding a transaction or a connection for
// the whole run. The holder renews it while working; a holder that dies lets it expire.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface LeaseIndex {
  /** Takes the lease for ttlMs unless another holder has it unexpired; true when taken (or renewed). */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease back if this holder has it. */
  releaseLease(name: string, holder: string): Promise<void>;
}

interface LeaseValue {
  readonly holder: string;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
}

export class LeaseQueries implements LeaseIndex {
  /** rowLocks: PostgreSQL (see MetadataStore). */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly rowLocks: boolean,
  ) {}

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const key = `lease:${name}`;
    return this.db.transaction().execute(async (trx) => {
      // A write first: on SQLite it takes the write lock, so the read below is the latest.
      await trx
        .insertInto('settings')
        .values({ key, value: '' })
        .onConflict((oc) => oc.column('key').doNothing())
        .execute();
      const row = await trx
        .selectFrom('settings')
        .select('value')
        .where('key', '=', key)
        .$if(this.rowLocks, (q) => q.forUpdate())
        .executeTakeFirstOrThrow();
      const current = parseLease(row.value);
      const now = Date.now();
      if (current && current.holder !== holder && current.expiresAt > now) return false;
      const value: LeaseValue = { holder, expiresAt: now + ttlMs };
      await trx
        .updateTable('settings')
        .set({ value: JSON.stringify(value) })
        .where('key', '=', key)
        .execute();
      return true;
    });
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    const key = `lease:${name}`;
    await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('settings')
        .select('value')
        .where('key', '=', key)
        .$if(this.rowLocks, (q) => q.forUpdate())
        .executeTakeFirst();
      if (row && parseLease(row.value)?.holder === holder) {
        await trx.updateTable('settings').set({ value: '' }).where('key', '=', key).execute();
      }
    });
  }
}

function parseLease(value: string): LeaseValue | undefined {
  if (value === '') return undefined;
  try {
    const parsed = JSON.parse(value) as Partial<LeaseValue>;
    return typeof parsed.holder === 'string' && typeof parsed.expiresAt === 'number'
      ? { holder: parsed.holder, expiresAt: parsed.expiresAt }
      : undefined;
  } catch {
    return undefined;
  }
}
