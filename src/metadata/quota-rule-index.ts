// Quotas created through the admin API, kept in lifecycle_rules as kind 'quota' with the
// namespace as target and the limits as JSON (quotas from the configuration file are not stored).
// One quota per namespace: its row id is derived from the namespace, so setting one again
// replaces it in a single statement on both databases.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface QuotaRuleRecord {
  readonly namespace: string;
  /** Most bytes the namespace may hold. */
  readonly sizeBytes: number;
  /** Most repositories the namespace may hold; undefined: no limit. */
  readonly repositories: number | undefined;
  /** Fraction of sizeBytes at which a warning is due (0 to 1); undefined: none. */
  readonly warnAt: number | undefined;
  readonly createdAt: string;
  readonly createdBy: string | undefined;
}

interface StoredDefinition {
  size: number;
  repositories?: number;
  warnAt?: number;
}

const ruleId = (namespace: string): string => `quota:${namespace}`;

/** What the quota use case asks of the index about stored quotas. */
export interface QuotaRuleIndex {
  listQuotaRules(): Promise<QuotaRuleRecord[]>;
  /** Creates or replaces the namespace's quota. */
  putQuotaRule(rule: QuotaRuleRecord): Promise<void>;
  /** False when the namespace had no stored quota. */
  deleteQuotaRule(namespace: string): Promise<boolean>;
}

export class QuotaRuleQueries implements QuotaRuleIndex {
  constructor(private readonly db: Kysely<Database>) {}

  async listQuotaRules(): Promise<QuotaRuleRecord[]> {
    const rows = await this.db.selectFrom('lifecycle_rules').selectAll().where('kind', '=', 'quota').orderBy('target').execute();
    return rows.map((row) => {
      const definition = JSON.parse(row.definition) as StoredDefinition;
      return {
        namespace: row.target,
        sizeBytes: definition.size,
        repositories: definition.repositories,
        warnAt: definition.warnAt,
        createdAt: row.created_at,
        createdBy: row.created_by ?? undefined,
      };
    });
  }

  async putQuotaRule(rule: QuotaRuleRecord): Promise<void> {
    const stored: StoredDefinition = { size: rule.sizeBytes };
    if (rule.repositories !== undefined) stored.repositories = rule.repositories;
    if (rule.warnAt !== undefined) stored.warnAt = rule.warnAt;
    const definition = JSON.stringify(stored);
    await this.db
      .insertInto('lifecycle_rules')
      .values({
        id: ruleId(rule.namespace),
        kind: 'quota',
        target: rule.namespace,
        definition,
        created_at: rule.createdAt,
        created_by: rule.createdBy ?? null,
      })
      .onConflict((oc) => oc.column('id').doUpdateSet({ definition, created_at: rule.createdAt, created_by: rule.createdBy ?? null }))
      .execute();
  }

  async deleteQuotaRule(namespace: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('lifecycle_rules')
      .where('id', '=', ruleId(namespace))
      .where('kind', '=', 'quota')
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
