// Migration 10: pull events written in batches, one outbox row per batch. A busy registry pulls
// thousands of manifests a second; an event row and a delivery row per endpoint for each of them
// (written at the pull, then claimed and marked delivered) cost about as much CPU as the pull
// itself. Pull events are therefore queued in memory and written together
// (src/events/pull-events.ts): the pulls of one repository by one actor for one set of endpoints
// become ONE events row, whose body is a JSON array of Distribution's event objects, with one
// delivery row per endpoint. Writes (pushes, deletes, mounts) keep one row per event.
// - batch_size: how many events the row's body (an array) holds; null for a row holding one
//   event (its body an object), as every row before this migration does.
// - last_created_at: the timestamp of a batch's last event (created_at is its first's), so the
//   admin API's time filters find a batch by any of its events; null for one event.
// A batch's events have ids of their own, derived from the row's (docs/events.md#pull-batches):
// found by id with the primary key alone, so no index is added.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('events').addColumn('batch_size', 'integer').execute();
  await db.schema.alterTable('events').addColumn('last_created_at', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('events').dropColumn('last_created_at').execute();
  await db.schema.alterTable('events').dropColumn('batch_size').execute();
}
