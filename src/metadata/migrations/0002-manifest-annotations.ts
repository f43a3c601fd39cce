// Migration 2: keep each manifest's annotations (JSON text), which the referrers API returns.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('manifests').addColumn('annotations', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('manifests').dropColumn('annotations').execute();
}
