// Webhook endpoints created through the admin API (migration 8's webhook_endpoints): one row per
// endpoint, its settings as JSON (their shape is src/events' business), and each endpoint's
// delivery history read from the outbox with what each event was. The file's endpoints
// (notifications.endpoints) are not stored.
import type { Kysely } from 'kysely';
import { type DeliveryRecord, toDeliveryRecord } from './event-outbox.js';
import type { Database } from './schema.js';

export interface WebhookEndpointRecord {
  readonly id: string;
  /** '' for every repository. */
  readonly namespace: string;
  readonly name: string;
  readonly definition: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
  readonly createdBy: string | undefined;
}

/** One delivery of an endpoint's history, with the event it carried. */
export interface EndpointDeliveryRecord extends DeliveryRecord {
  readonly eventCreatedAt: string;
  readonly action: string;
  readonly repository: string | undefined;
  readonly tag: string | undefined;
  readonly digest: string | undefined;
}

export class WebhookEndpointQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async list(): Promise<WebhookEndpointRecord[]> {
    const rows = await this.db.selectFrom('webhook_endpoints').selectAll().orderBy('id').execute();
    return rows.map(toRecord);
  }

  async find(id: string): Promise<WebhookEndpointRecord | undefined> {
    const row = await this.db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toRecord(row);
  }

  async add(endpoint: WebhookEndpointRecord): Promise<void> {
    await this.db
      .insertInto('webhook_endpoints')
      .values({
        id: endpoint.id,
        namespace: endpoint.namespace,
        name: endpoint.name,
        definition: JSON.stringify(endpoint.definition),
        created_at: endpoint.createdAt,
        created_by: endpoint.createdBy ?? null,
      })
      .execute();
  }

  /** Replaces the endpoint's name and settings; false when there is no such endpoint. */
  async update(id: string, change: { name: string; definition: Readonly<Record<string, unknown>> }): Promise<boolean> {
    const result = await this.db
      .updateTable('webhook_endpoints')
      .set({ name: change.name, definition: JSON.stringify(change.definition) })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Removes the endpoint and its deliveries (delivered or not); false when there is no such endpoint. */
  async remove(id: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx.deleteFrom('webhook_endpoints').where('id', '=', id).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return false;
      await trx.deleteFrom('event_deliveries').where('endpoint', '=', id).execute();
      return true;
    });
  }

  /** The endpoint's deliveries, newest event first; pages continue with `before` = the last eventId returned. */
  async deliveries(
    endpoint: string,
    options: { state?: 'pending' | 'delivered' | undefined; before?: string | undefined; limit: number },
  ): Promise<EndpointDeliveryRecord[]> {
    const rows = await this.db
      .selectFrom('event_deliveries as d')
      .innerJoin('events as e', 'e.id', 'd.event_id')
      .selectAll('d')
      .select(['e.created_at as event_created_at', 'e.action', 'e.repository', 'e.tag', 'e.digest'])
      .where('d.endpoint', '=', endpoint)
      .$if(options.state !== undefined, (q) => q.where('d.state', '=', options.state ?? 'pending'))
      .$if(options.before !== undefined, (q) => q.where('d.event_id', '<', options.before ?? ''))
      .orderBy('d.event_id', 'desc')
      .limit(options.limit)
      .execute();
    return rows.map((row) => ({
      ...toDeliveryRecord(row),
      eventCreatedAt: row.event_created_at,
      action: row.action,
      repository: row.repository ?? undefined,
      tag: row.tag ?? undefined,
      digest: row.digest ?? undefined,
    }));
  }
}

function toRecord(row: Database['webhook_endpoints']): WebhookEndpointRecord {
  return {
    id: row.id,
    namespace: row.namespace,
    name: row.name,
    definition: JSON.parse(row.definition) as Record<string, unknown>,
    createdAt: row.created_at,
    createdBy: row.created_by ?? undefined,
  };
}
