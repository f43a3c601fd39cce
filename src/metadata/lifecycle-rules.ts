// Rules created through the admin API for the storage lifecycle (retention and immutability;
// quotas keep one row per namespace in quota-rule-index.ts), one lifecycle_rules row each: the
// kind, a repository glob, and the rule itself as JSON that only its use case reads. Rules from
// the configuration file are never stored. Times are ISO-8601 text, as everywhere in the index.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export type LifecycleRuleKind = 'retention' | 'immutability';

/** A stored rule: a repository glob and the rule as JSON. */
export interface LifecycleRuleRecord {
  readonly id: string;
  /** The repository glob the rule applies to. */
  readonly target: string;
  /** The rule as JSON text (its shape is its use case's; the index does not read it). */
  readonly definition: string;
  readonly createdAt: string;
  readonly createdBy: string | undefined;
}

/** Every stored rule of the kind, oldest first. */
export async function listLifecycleRules(db: Kysely<Database>, kind: LifecycleRuleKind): Promise<LifecycleRuleRecord[]> {
  const rows = await db
    .selectFrom('lifecycle_rules')
    .select(['id', 'target', 'definition', 'created_at', 'created_by'])
    .where('kind', '=', kind)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((row) => ({
    id: row.id,
    target: row.target,
    definition: row.definition,
    createdAt: row.created_at,
    createdBy: row.created_by ?? undefined,
  }));
}

export async function createLifecycleRule(db: Kysely<Database>, kind: LifecycleRuleKind, rule: LifecycleRuleRecord): Promise<void> {
  await db
    .insertInto('lifecycle_rules')
    .values({
      id: rule.id,
      kind,
      target: rule.target,
      definition: rule.definition,
      created_at: rule.createdAt,
      created_by: rule.createdBy ?? null,
    })
    .execute();
}

/** False when there is no rule of the kind with that id. */
export async function deleteLifecycleRule(db: Kysely<Database>, kind: LifecycleRuleKind, id: string): Promise<boolean> {
  const deleted = await db.deleteFrom('lifecycle_rules').where('kind', '=', kind).where('id', '=', id).executeTakeFirst();
  return Number(deleted.numDeletedRows) > 0;
}
