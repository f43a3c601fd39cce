// Webhook endpoints created through the admin API (migration 8's webhook_endpoints): one row per
// endpoint, its settings as JSON (their shape is src/events' business). The file's endpoints
// (notifications.endpoints) are not stored.
import type { Kysely } from 'kysely';
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

export class WebhookEndpointQueries {
  constructor(private readonly db: Kysely<Database>) {}

  async list(): Promise<WebhookEndpointRecord[]> {
    const rows = await this.db.selectFrom('webhook_endpoints').selectAll().orderBy('id').execute();
    return rows.map((row) => ({
      id: row.id,
      namespace: row.namespace,
      name: row.name,
      definition: JSON.parse(row.definition) as Record<string, unknown>,
      createdAt: row.created_at,
      createdBy: row.created_by ?? undefined,
    }));
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

  /** False when there is no such endpoint. */
  async remove(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('webhook_endpoints').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
