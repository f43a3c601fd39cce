// Migration 8: events and the audit log (src/events, docs/events.md, docs/audit.md).
// - events: the outbox. A row is written in the same transaction as the change it reports (a
//   manifest push, a delete, a mount), so a change that commits has its event and one that rolls
//   back has none. body is the event as Distribution's envelope carries it (JSON).
// - event_deliveries: one row per event and webhook endpoint that wants it, written with the
//   event; deliverers on any replica claim due rows (a lease), send them and keep the history
//   (state, attempts, response code, last error).
// - webhook_endpoints: endpoints created through the admin API (the file's endpoints are not stored).
// - audit_log: who did what, from where, with what outcome (every write, denial, login and
//   change of accounts and rules; pulls when sampled).
// Ids are UUIDv7 (time-ordered): rows sort by id in the order they were made, which the admin
// API's cursor pagination uses.
import type { Kysely } from 'kysely';
import { keyColumnType } from './key-column.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  const key = keyColumnType(db);

  await db.schema
    .createTable('events')
    .addColumn('id', key, (c) => c.primaryKey())
    .addColumn('created_at', 'text', (c) => c.notNull())
    /** push, pull, delete, mount, or one of Berth's own (docs/events.md). */
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('repository', key)
    .addColumn('digest', 'text')
    .addColumn('tag', 'text')
    .addColumn('actor', 'text')
    /** The event as JSON, exactly as it is delivered inside the envelope. */
    .addColumn('body', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('events_created').on('events').column('created_at').execute();
  await db.schema.createIndex('events_repository').on('events').columns(['repository', 'id']).execute();

  await db.schema
    .createTable('event_deliveries')
    .addColumn('endpoint', key, (c) => c.notNull())
    .addColumn('event_id', key, (c) => c.notNull())
    /** 'pending' | 'delivered' */
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    /** Milliseconds since the epoch: not sent before then. */
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    /** A deliverer's claim: others leave the row alone until then (milliseconds since the epoch). */
    .addColumn('lease_until', 'bigint')
    .addColumn('lease_owner', 'text')
    .addColumn('response_code', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('delivered_at', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('event_deliveries_pk', ['endpoint', 'event_id'])
    .execute();
  await db.schema.createIndex('event_deliveries_due').on('event_deliveries').columns(['state', 'endpoint', 'next_attempt_at']).execute();
  await db.schema.createIndex('event_deliveries_event').on('event_deliveries').column('event_id').execute();

  await db.schema
    .createTable('webhook_endpoints')
    .addColumn('id', key, (c) => c.primaryKey())
    /** The namespace whose repositories' events it receives; '' for every repository. */
    .addColumn('namespace', key, (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    /** The endpoint's settings (url, format, secret, headers, filters, retries) as JSON. */
    .addColumn('definition', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', key, (c) => c.primaryKey())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('actor', key)
    .addColumn('address', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('repository', key)
    /** 'success' | 'denied' | 'failed' */
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('status', 'integer')
    .addColumn('request_id', 'text')
    /** What else was recorded (method, path, target, user agent) as JSON; never a secret. */
    .addColumn('detail', 'text')
    .execute();
  await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
  await db.schema.createIndex('audit_log_actor').on('audit_log').columns(['actor', 'id']).execute();
  await db.schema.createIndex('audit_log_repository').on('audit_log').columns(['repository', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_log').execute();
  await db.schema.dropTable('webhook_endpoints').execute();
  await db.schema.dropTable('event_deliveries').execute();
  await db.schema.dropTable('events').execute();
}
