// What the pull-through cache holds for each upstream, for the admin API's upstream list (and the
// web UI's page of it): the repositories and items (manifests and blobs) recorded in
// cached_items under the upstream's name, their bytes (each digest once per upstream, its size
// from blobs) and the last pull. One grouped scan of cached_items, which holds one row per
// cached item, so it costs time in proportion to the cache's size; an admin page reads it on
// demand, nothing on the request path does.
import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.js';

export interface UpstreamCacheUsage {
  readonly upstream: string;
  readonly repositories: number;
  readonly items: number;
  readonly bytes: number;
  /** ISO-8601; the latest pull through the cache of any of its items. */
  readonly lastPulledAt: string | null;
}

/** Every upstream that has anything cached, by name. */
export async function upstreamCacheUsage(db: Kysely<Database>): Promise<UpstreamCacheUsage[]> {
  const counts = await db
    .selectFrom('cached_items')
    .select([
      'upstream',
      sql<string | number>`count(distinct repository)`.as('repositories'),
      sql<string | number>`count(*)`.as('items'),
      sql<string | null>`max(last_pulled_at)`.as('lastPulledAt'),
    ])
    .groupBy('upstream')
    .orderBy('upstream')
    .execute();
  const sizes = await db
    .selectFrom((sub) => sub.selectFrom('cached_items').select(['upstream', 'digest']).distinct().as('cached'))
    .innerJoin('blobs', 'blobs.digest', 'cached.digest')
    .select(['cached.upstream', sql<string | number | null>`sum(blobs.size)`.as('bytes')])
    .groupBy('cached.upstream')
    .execute();
  const bytesOf = new Map(sizes.map((row) => [row.upstream, Number(row.bytes ?? 0)]));
  return counts.map((row) => ({
    upstream: row.upstream,
    repositories: Number(row.repositories),
    items: Number(row.items),
    bytes: bytesOf.get(row.upstream) ?? 0,
    lastPulledAt: row.lastPulledAt,
  }));
}
