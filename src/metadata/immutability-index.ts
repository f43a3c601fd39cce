// What tag immutability asks of the index: the immutability rules created through the admin API
// (lifecycle_rules rows of kind 'immutability'; rules from the config file are not stored), and
// which tags of a repository point at a manifest, so a DELETE by digest that would take a
// protected tag with it can be refused. Times are ISO-8601 text, as everywhere in the index.
import type { Kysely } from 'kysely';
import { createLifecycleRule, deleteLifecycleRule, listLifecycleRules, type LifecycleRuleRecord } from './lifecycle-rules.js';
import type { Database } from './schema.js';

/** An immutability rule created through the admin API (its target a repository glob). */
export type ImmutabilityRuleRecord = LifecycleRuleRecord;

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

  listImmutabilityRules(): Promise<ImmutabilityRuleRecord[]> {
    return listLifecycleRules(this.db, 'immutability');
  }

  createImmutabilityRule(rule: ImmutabilityRuleRecord): Promise<void> {
    return createLifecycleRule(this.db, 'immutability', rule);
  }

  deleteImmutabilityRule(id: string): Promise<boolean> {
    return deleteLifecycleRule(this.db, 'immutability', id);
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
