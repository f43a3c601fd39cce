// What tag immutability asks of the index: the immutability rules created through the admin API
// (lifecycle_rules rows of kind 'immutability'; rules from the config file are not stored), and
// which tags of a repository point at a manifest, so a DELETE by digest that would take a
// protected tag with it can be refused. Times are ISO-8601 text, as everywhere in the index.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** An immutability rule created through the admin API: a repository glob and the rule as JSON. */
export interface ImmutabilityRuleRecord {
  readonly id: string;
  /** The repository glob the rule applies to. */
  readonly target: string;
  /** The rule as JSON text (its shape is the registry's; the index does not read it). */
  readonly definition: string;
  readonly createdAt: string;
  readonly createdBy: string | undefined;
}

export interface ImmutabilityIndex {
  /** Every stored rule, oldest first. */
  listImmutabilityRules(): Promise<ImmutabilityRuleRecord[]>;
  createImmutabilityRule(rule: ImmutabilityRuleRecord): Promise<void>;
  /** False when there is no immutability rule with that id. */
  deleteImmutabilityRule(id: string): Promise<boolean>;
  /** The tags of the repository that point at the manifest, sorted. */
  tagsOfManifest(repository: string, digest: string): Promise<string[]>;
}

/** ImmutabilityIndex over the lifecycle_rules and tags tables. */
export class ImmutabilityQueries implements ImmutabilityIndex {
  constructor(private readonly db: Kysely<Database>) {}

  async listImmutabilityRules(): Promise<ImmutabilityRuleRecord[]> {
    const rows = await this.db
      .selectFrom('lifecycle_rules')
      .select(['id', 'target', 'definition', 'created_at', 'created_by'])
      .where('kind', '=', 'immutability')
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

  async createImmutabilityRule(rule: ImmutabilityRuleRecord): Promise<void> {
    await this.db
      .insertInto('lifecycle_rules')
      .values({
        id: rule.id,
        kind: 'immutability',
        target: rule.target,
        definition: rule.definition,
        created_at: rule.createdAt,
        created_by: rule.createdBy ?? null,
      })
      .execute();
  }

  async deleteImmutabilityRule(id: string): Promise<boolean> {
    const deleted = await this.db.deleteFrom('lifecycle_rules').where('kind', '=', 'immutability').where('id', '=', id).executeTakeFirst();
    return Number(deleted.numDeletedRows) > 0;
  }

  async tagsOfManifest(repository: string, digest: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('tags')
      .select('name')
      .where('repository', '=', repository)
      .where('manifest_digest', '=', digest)
      .execute();
    return rows.map((row) => row.name).sort();
  }
}
