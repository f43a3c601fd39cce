// How many blob upload sessions the index holds: the uploads in progress, on every replica at
// once (a session lives in the index until it completes, is cancelled or is purged). Read when
// Prometheus scrapes (berth_uploads_in_progress), so it is one indexed count, never per request.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export async function countUploadSessions(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('uploads')
    .select((eb) => eb.fn.countAll<number | string | bigint>().as('count'))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}
