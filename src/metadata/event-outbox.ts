// The event outbox (migration 8): events written in the same transaction as the change they
// report, and their deliveries to webhook endpoints. The index writes that change (a manifest
// push, a delete, a mount) and, when the caller passed a ChangeRecorder, asks it at the end of
// the transaction for the events of what it did and inserts them there: a change that commits
// has its events, one that rolls back has none. Deliverers (src/events/deliverer.ts) on any
// replica claim due deliveries with a lease (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's
// write transactions take turns), so two replicas do not send one event twice in the normal case.
// Pull events are written apart from any change, in batches (migration 10): one row holds a
// batch's events as a JSON array, and its events' ids are the row's id plus their index
// (batchEventId), so one is found by id with the primary key, and deliveries, attempts and
// redelivery are counted per row. The admin API's queries expand a batch into its events.
import type { Kysely } from 'kysely';
import type { Executor } from './links.js';
import type { Database, EventDeliveriesTable } from './schema.js';

/** What a write did, as the index tells the recorder (inside its transaction). */
export type RecordedChange =
  | {
      readonly kind: 'push';
      readonly repository: string;
      readonly digest: string;
      readonly mediaType: string;
      readonly size: number;
      readonly tags: readonly string[];
    }
  | {
      readonly kind: 'delete-manifest';
      readonly repository: string;
      readonly digest: string;
      readonly mediaType: string;
      readonly size: number;
      /** The tags the delete removed with it. */
      readonly tags: readonly string[];
    }
  | { readonly kind: 'delete-tag'; readonly repository: string; readonly tag: string; readonly digest: string }
  | { readonly kind: 'delete-blob'; readonly repository: string; readonly digest: string }
  | { readonly kind: 'mount'; readonly repository: string; readonly digest: string; readonly size: number };

/** The columns an event is found by, written and read alike. */
interface EventColumns {
  /** A UUIDv7: unique, and ordered by time. */
  readonly id: string;
  /** ISO-8601. */
  readonly createdAt: string;
  readonly action: string;
  readonly repository: string | undefined;
  readonly digest: string | undefined;
  readonly tag: string | undefined;
  readonly actor: string | undefined;
}

/** One event, or a batch of pull events, as the outbox stores it. */
export interface OutboxEvent extends EventColumns {
  /** The event as JSON, as the envelope carries it; a batch's events as a JSON array. */
  readonly body: string;
  /** The endpoints that will be sent the event (a delivery row each). */
  readonly endpoints: readonly string[];
  /**
   * Set for a batch: how many events the body holds and the last one's timestamp (createdAt is
   * the first's). Its id must be a batchRowId, and its events' ids batchEventId(id, 0 ... size - 1).
   */
  readonly batch?: { readonly size: number; readonly lastCreatedAt: string } | undefined;
}

/**
 * The most events one batch row holds. Their index takes the last 4 hex digits of the row's
 * id (UUIDv7's random bits), so at most 65,536 would fit; the writers keep rows far smaller.
 */
export const MAX_BATCH_EVENTS = 0x10000;

/** A UUIDv7 made a batch row's id: its last 4 hex digits zero, the index of its first event. */
export function batchRowId(uuid: string): string {
  return `${uuid.slice(0, -4)}0000`;
}

/**
 * The id of a batch's event at `index`: the row's id with the index in its last 4 hex digits. The
 * ids stay UUIDv7 (version and variant bits untouched), unique, and sort in the batch's order,
 * right after the row's id and before any id made a millisecond later.
 */
export function batchEventId(rowId: string, index: number): string {
  return `${rowId.slice(0, -4)}${index.toString(16).padStart(4, '0')}`;
}

/** Where an event of a batch would be: the row's id and its index there (for a single event, a row that does not exist). */
function batchPlace(eventId: string): { rowId: string; index: number } | undefined {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(eventId)) return undefined;
  return { rowId: batchRowId(eventId), index: Number.parseInt(eventId.slice(-4), 16) };
}

/**
 * Called by the index at the end of a write's transaction with what the write did; the events it
 * returns are inserted in that transaction. It must not do I/O (it runs while locks are held).
 */
export type ChangeRecorder = (change: RecordedChange) => readonly OutboxEvent[];

/**
 * The most rows one insert writes. Statements come in few shapes (sqlite-statement-cache.ts keeps
 * each prepared): a batch is written as runs of 64, 32, ... 1 rows, and a list of ids in a
 * query is padded to a power of two (its last id repeated, which changes nothing), so a batch of
 * any length reuses prepared statements instead of preparing new ones that would push the
 * registry's own out of the cache.
 */
const MAX_ROWS_PER_INSERT = 64;

/** The items in runs whose lengths are powers of two, largest first (at most `max`, a power of two). */
export function powerOfTwoRuns<T>(items: readonly T[], max = MAX_ROWS_PER_INSERT): T[][] {
  const runs: T[][] = [];
  let start = 0;
  while (start < items.length) {
    let size = max;
    while (size > items.length - start) size /= 2;
    runs.push(items.slice(start, start + size));
    start += size;
  }
  return runs;
}

/** The ids padded to a power of two with the last one repeated (a list of any length matches a few statements). */
export function paddedIds(ids: readonly string[]): readonly string[] {
  let size = 1;
  while (size < ids.length) size *= 2;
  if (size === ids.length) return ids;
  const last = ids[ids.length - 1] as string;
  return [...ids, ...Array.from({ length: size - ids.length }, () => last)];
}

/** Inserts events and their pending deliveries with the executor given (the change's transaction). */
export async function writeOutbox(db: Executor, events: readonly OutboxEvent[]): Promise<void> {
  if (events.length === 0) return;
  for (const run of powerOfTwoRuns(events)) await insertEvents(db, run);
}

async function insertEvents(db: Executor, events: readonly OutboxEvent[]): Promise<void> {
  await db
    .insertInto('events')
    .values(
      events.map((event) => ({
        id: event.id,
        created_at: event.createdAt,
        action: event.action,
        repository: event.repository ?? null,
        digest: event.digest ?? null,
        tag: event.tag ?? null,
        actor: event.actor ?? null,
        body: event.body,
        batch_size: event.batch?.size ?? null,
        last_created_at: event.batch?.lastCreatedAt ?? null,
      })),
    )
    .execute();
  const at = Date.now();
  const deliveries = events.flatMap((event) =>
    event.endpoints.map((endpoint) => ({
      endpoint,
      event_id: event.id,
      state: 'pending' as const,
      attempts: 0,
      next_attempt_at: at,
      lease_until: null,
      lease_owner: null,
      response_code: null,
      last_error: null,
      delivered_at: null,
      updated_at: event.createdAt,
    })),
  );
  for (const run of powerOfTwoRuns(deliveries)) await db.insertInto('event_deliveries').values(run).execute();
}

/** Records the change's events, if a recorder was given. */
export async function recordChange(db: Executor, recorder: ChangeRecorder | undefined, change: RecordedChange): Promise<void> {
  if (recorder === undefined) return;
  await writeOutbox(db, recorder(change));
}

/** An event (or a batch of pull events) claimed for delivery to one endpoint. */
export interface ClaimedDelivery {
  /** The row's id: the event's, or a batch's first event's. */
  readonly eventId: string;
  /** The event's JSON; a batch's events as a JSON array. */
  readonly body: string;
  readonly attempts: number;
  /** How many events a batch holds; undefined for one event. */
  readonly batchSize: number | undefined;
}

export interface DeliveryRecord {
  readonly endpoint: string;
  readonly eventId: string;
  readonly state: 'pending' | 'delivered';
  readonly attempts: number;
  /** ISO-8601: when the next attempt is due (pending only). */
  readonly nextAttemptAt: string | undefined;
  readonly responseCode: number | undefined;
  readonly lastError: string | undefined;
  readonly deliveredAt: string | undefined;
  readonly updatedAt: string;
}

export interface EventRecord extends EventColumns {
  /** The event as delivered. */
  readonly event: Readonly<Record<string, unknown>>;
  /**
   * Set for a pull event written in a batch: the batch's id (its first event's), which its
   * deliveries are kept and redelivered by, and how many events it holds.
   */
  readonly batch?: { readonly id: string; readonly size: number } | undefined;
}

export interface EventFilter {
  readonly action?: string | undefined;
  readonly repository?: string | undefined;
  readonly actor?: string | undefined;
  /** ISO-8601 bounds on created_at. */
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  /** Only events with an id before this one (the next page of a newest-first listing). */
  readonly before?: string | undefined;
  readonly limit: number;
}

/** The outbox's queries for deliverers, the admin API and retention. */
export class EventOutboxQueries {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly rowLocks: boolean,
  ) {}

  /** Records events outside any other change (pulls, Berth's own events), in one transaction. */
  async record(events: readonly OutboxEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.db.transaction().execute((trx) => writeOutbox(trx, events));
  }

  /**
   * Claims up to `limit` due deliveries of the endpoint, oldest event first, for `leaseMs`: other
   * deliverers skip them until the lease ends (a deliverer that died leaves them to the others then).
   */
  async claim(endpoint: string, owner: string, limit: number, leaseMs: number, at = Date.now()): Promise<ClaimedDelivery[]> {
    return this.db.transaction().execute(async (trx) => {
      const due = await trx
        .selectFrom('event_deliveries')
        .select(['event_id', 'attempts'])
        .where('endpoint', '=', endpoint)
        .where('state', '=', 'pending')
        .where('next_attempt_at', '<=', at)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', at)]))
        .orderBy('event_id')
        .limit(limit)
        .$if(this.rowLocks, (query) => query.forUpdate().skipLocked())
        .execute();
      if (due.length === 0) return [];
      const ids = paddedIds(due.map((row) => row.event_id));
      await trx
        .updateTable('event_deliveries')
        .set({ lease_until: at + leaseMs, lease_owner: owner })
        .where('endpoint', '=', endpoint)
        .where('event_id', 'in', ids)
        .execute();
      const events = new Map(
        (await trx.selectFrom('events').select(['id', 'body', 'batch_size']).where('id', 'in', ids).execute()).map((row) => [row.id, row]),
      );
      return due.flatMap((row) => {
        const event = events.get(row.event_id);
        if (event === undefined) return [];
        return [{ eventId: row.event_id, body: event.body, attempts: Number(row.attempts), batchSize: event.batch_size ?? undefined }];
      });
    });
  }

  /** The deliveries were accepted by the endpoint. */
  async markDelivered(endpoint: string, eventIds: readonly string[], responseCode: number, at = new Date()): Promise<void> {
    if (eventIds.length === 0) return;
    await this.db
      .updateTable('event_deliveries')
      .set((eb) => ({
        state: 'delivered',
        attempts: eb('attempts', '+', 1),
        response_code: responseCode,
        last_error: null,
        lease_until: null,
        lease_owner: null,
        delivered_at: at.toISOString(),
        updated_at: at.toISOString(),
      }))
      .where('endpoint', '=', endpoint)
      .where('event_id', 'in', paddedIds(eventIds))
      .execute();
  }

  /** The attempt failed: counted, and due again at `nextAttemptAt`. */
  async markFailed(
    endpoint: string,
    eventIds: readonly string[],
    failure: { responseCode: number | undefined; error: string; nextAttemptAt: number },
    at = new Date(),
  ): Promise<void> {
    if (eventIds.length === 0) return;
    await this.db
      .updateTable('event_deliveries')
      .set((eb) => ({
        attempts: eb('attempts', '+', 1),
        response_code: failure.responseCode ?? null,
        last_error: failure.error.slice(0, 1000),
        next_attempt_at: failure.nextAttemptAt,
        lease_until: null,
        lease_owner: null,
        updated_at: at.toISOString(),
      }))
      .where('endpoint', '=', endpoint)
      .where('event_id', 'in', paddedIds(eventIds))
      .where('state', '=', 'pending')
      .execute();
  }

  /** Keeps this deliverer's claims until `until` (ms). */
  async extendLease(endpoint: string, eventIds: readonly string[], owner: string, until: number): Promise<void> {
    if (eventIds.length === 0) return;
    await this.db
      .updateTable('event_deliveries')
      .set({ lease_until: until })
      .where('endpoint', '=', endpoint)
      .where('event_id', 'in', paddedIds(eventIds))
      .where('lease_owner', '=', owner)
      .where('state', '=', 'pending')
      .execute();
  }

  /** Gives claimed deliveries back unsent (the deliverer is stopping, or skipped them). */
  async release(endpoint: string, eventIds: readonly string[]): Promise<void> {
    if (eventIds.length === 0) return;
    await this.db
      .updateTable('event_deliveries')
      .set({ lease_until: null, lease_owner: null })
      .where('endpoint', '=', endpoint)
      .where('event_id', 'in', paddedIds(eventIds))
      .where('state', '=', 'pending')
      .execute();
  }

  /**
   * Sends the event again: its deliveries (to `endpoint`, or to every endpoint it had) become
   * pending and due now; a pull event's are its batch's, so the whole batch is sent again.
   * Returns how many deliveries were reset; 0 when the event has none.
   */
  async redeliver(eventId: string, endpoint?: string, at = Date.now()): Promise<number> {
    const rowId = await this.rowIdOf(eventId);
    if (rowId === undefined) return 0;
    const result = await this.db
      .updateTable('event_deliveries')
      .set({ state: 'pending', next_attempt_at: at, lease_until: null, lease_owner: null, updated_at: new Date(at).toISOString() })
      .where('event_id', '=', rowId)
      .$if(endpoint !== undefined, (query) => query.where('endpoint', '=', endpoint ?? ''))
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Adds a pending delivery of an existing event to an endpoint that never had it (a test delivery). */
  async addDelivery(eventId: string, endpoint: string, at = Date.now()): Promise<void> {
    await this.db
      .insertInto('event_deliveries')
      .values({
        endpoint,
        event_id: eventId,
        state: 'pending',
        attempts: 0,
        next_attempt_at: at,
        lease_until: null,
        lease_owner: null,
        response_code: null,
        last_error: null,
        delivered_at: null,
        updated_at: new Date(at).toISOString(),
      })
      .onConflict((oc) =>
        oc.columns(['endpoint', 'event_id']).doUpdateSet({ state: 'pending', next_attempt_at: at, lease_until: null, lease_owner: null }),
      )
      .execute();
  }

  /** Undelivered events per endpoint (the queue depth metric). */
  async pendingByEndpoint(): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('event_deliveries')
      .select(['endpoint', (eb) => eb.fn.countAll<number | string>().as('count')])
      .where('state', '=', 'pending')
      .groupBy('endpoint')
      .execute();
    return new Map(rows.map((row) => [row.endpoint, Number(row.count)]));
  }

  /**
   * Events newest first, filtered; pages continue with `before` = the last id returned. A batch
   * row is expanded into its events (they sort by id as they happened), which are filtered again
   * one by one: the rows are chosen by the filters that hold for the whole row (action,
   * repository and actor are the same for all of a batch's events) and by time and id bounds
   * any of its events may meet.
   */
  async listEvents(filter: EventFilter): Promise<EventRecord[]> {
    const found: EventRecord[] = [];
    let before = filter.before;
    while (found.length < filter.limit) {
      const wanted = filter.limit - found.length;
      const rows = await this.db
        .selectFrom('events')
        .selectAll()
        .$if(filter.action !== undefined, (q) => q.where('action', '=', filter.action ?? ''))
        .$if(filter.repository !== undefined, (q) => q.where('repository', '=', filter.repository ?? ''))
        .$if(filter.actor !== undefined, (q) => q.where('actor', '=', filter.actor ?? ''))
        .$if(filter.since !== undefined, (q) =>
          q.where((eb) => eb(eb.fn.coalesce('last_created_at', 'created_at'), '>=', filter.since ?? '')),
        )
        .$if(filter.until !== undefined, (q) => q.where('created_at', '<', filter.until ?? ''))
        .$if(before !== undefined, (q) => q.where('id', '<', before ?? ''))
        .orderBy('id', 'desc')
        .limit(wanted)
        .execute();
      for (const row of rows) {
        for (const record of recordsOf(row).reverse()) if (inFilter(record, filter)) found.push(record);
      }
      if (rows.length < wanted) break;
      before = rows[rows.length - 1]?.id;
    }
    return found.slice(0, filter.limit);
  }

  /** The event with this id, whether it has a row of its own or is in a batch. */
  async findEvent(id: string): Promise<EventRecord | undefined> {
    const own = await this.db.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst();
    if (own !== undefined) return recordsOf(own)[0];
    const place = batchPlace(id);
    if (place === undefined) return undefined;
    const batch = await this.db.selectFrom('events').selectAll().where('id', '=', place.rowId).executeTakeFirst();
    if (batch === undefined || batch.batch_size === null) return undefined;
    return recordsOf(batch)[place.index];
  }

  /** The row holding the event (its own, or its batch's); undefined when there is none. */
  private async rowIdOf(eventId: string): Promise<string | undefined> {
    const own = await this.db.selectFrom('events').select('id').where('id', '=', eventId).executeTakeFirst();
    if (own !== undefined) return own.id;
    const place = batchPlace(eventId);
    if (place === undefined) return undefined;
    const batch = await this.db.selectFrom('events').select(['id', 'batch_size']).where('id', '=', place.rowId).executeTakeFirst();
    return batch !== undefined && batch.batch_size !== null && place.index < batch.batch_size ? batch.id : undefined;
  }

  /** The deliveries of one event, or (without eventId) the newest of an endpoint's. */
  async listDeliveries(options: {
    eventId?: string | undefined;
    endpoint?: string | undefined;
    state?: 'pending' | 'delivered' | undefined;
    limit: number;
  }): Promise<DeliveryRecord[]> {
    const rows = await this.db
      .selectFrom('event_deliveries')
      .selectAll()
      .$if(options.eventId !== undefined, (q) => q.where('event_id', '=', options.eventId ?? ''))
      .$if(options.endpoint !== undefined, (q) => q.where('endpoint', '=', options.endpoint ?? ''))
      .$if(options.state !== undefined, (q) => q.where('state', '=', options.state ?? 'pending'))
      .orderBy('event_id', 'desc')
      .orderBy('endpoint')
      .limit(options.limit)
      .execute();
    return rows.map(toDeliveryRecord);
  }

  /**
   * Deletes events created before the cutoff, with their deliveries, delivered or not (the
   * outbox is bounded); returns how many events went.
   */
  async prune(cutoff: Date): Promise<number> {
    const before = cutoff.toISOString();
    return this.db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom('event_deliveries')
        .where('event_id', 'in', (eb) => eb.selectFrom('events').select('id').where('created_at', '<', before))
        .execute();
      const deleted = await trx.deleteFrom('events').where('created_at', '<', before).executeTakeFirst();
      return Number(deleted.numDeletedRows);
    });
  }

  /** How many events the outbox holds, each of a batch counted (for tests and the admin API). */
  async countEvents(): Promise<number> {
    const row = await this.db
      .selectFrom('events')
      .select((eb) => eb.fn.sum<number | string | null>(eb.fn.coalesce('batch_size', eb.lit(1))).as('count'))
      .executeTakeFirstOrThrow();
    return Number(row.count ?? 0);
  }
}

/** The fields of a Distribution event that the admin API's records repeat as columns. */
interface EventFields {
  readonly id: string;
  readonly timestamp: string;
  readonly action: string;
  readonly target?: { readonly repository?: string; readonly digest?: string; readonly tag?: string };
  readonly actor?: { readonly name?: string };
}

/** The events of a row, oldest first: its one event, or a batch's (parsed; the admin API's only). */
function recordsOf(row: Database['events']): EventRecord[] {
  const columns = {
    id: row.id,
    createdAt: row.created_at,
    action: row.action,
    repository: row.repository ?? undefined,
    digest: row.digest ?? undefined,
    tag: row.tag ?? undefined,
    actor: row.actor ?? undefined,
  };
  if (row.batch_size === null) return [{ ...columns, event: JSON.parse(row.body) as Record<string, unknown> }];
  const batch = { id: row.id, size: row.batch_size };
  return (JSON.parse(row.body) as EventFields[]).map((event) => ({
    ...columns,
    id: event.id,
    createdAt: event.timestamp,
    digest: event.target?.digest,
    tag: event.target?.tag,
    event: event as unknown as Record<string, unknown>,
    batch,
  }));
}

/** Whether one event of a batch meets the filter (its row met the filters its events share). */
function inFilter(record: EventRecord, filter: EventFilter): boolean {
  if (record.batch === undefined) return true;
  if (filter.before !== undefined && record.id >= filter.before) return false;
  if (filter.since !== undefined && record.createdAt < filter.since) return false;
  if (filter.until !== undefined && record.createdAt >= filter.until) return false;
  return true;
}

export function toDeliveryRecord(row: EventDeliveriesTable): DeliveryRecord {
  return {
    endpoint: row.endpoint,
    eventId: row.event_id,
    state: row.state,
    attempts: Number(row.attempts),
    nextAttemptAt: row.state === 'pending' ? new Date(Number(row.next_attempt_at)).toISOString() : undefined,
    responseCode: row.response_code ?? undefined,
    lastError: row.last_error ?? undefined,
    deliveredAt: row.delivered_at ?? undefined,
    updatedAt: row.updated_at,
  };
}
