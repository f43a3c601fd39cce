// What retention asks of the index: each tag of a repository with its push time, last pull and
// manifest; the untagged manifests old enough to go; repositories by glob; the conditional untag
// that spares a tag re-pushed while retention runs; the bounded-rate pull records retention's
// "not pulled for" reads; and the retention rules created through the admin API (lifecycle_rules
// rows of kind 'retention'). Times are ISO-8601 text, as everywhere in the index.
import type { Kysely } from 'kysely';
import { repositoryGlob } from '../oci/repository-glob.js';
import type { Executor } from './links.js';
import { createLifecycleRule, deleteLifecycleRule, listLifecycleRules, type LifecycleRuleRecord } from './lifecycle-rules.js';
import type { Database } from './schema.js';

/** A tag as retention judges it. */
export interface RetentionTagRecord {
  readonly tag: string;
  readonly manifestDigest: string;
  /**
   * When the tag was last pushed (tags.updated_at), exactly as stored: untagIfUnchanged compares
   * it, so a tag pushed again after the plan was made has another value and is left alone.
   */
  readonly pushedAt: string;
  /** The last recorded pull by this tag; undefined when never pulled (since pulls were recorded). */
  readonly lastPulledAt: string | undefined;
}

/** A manifest no tag points at, as retention's untaggedfor judges it. */
export interface UntaggedManifestRecord {
  readonly digest: string;
  /** The manifest's last push (created_at where pushed_at predates migration 6). */
  readonly pushedAt: string;
  readonly lastPulledAt: string | undefined;
}

/** What a pull by tag or by digest records. */
export interface PullRecord {
  readonly repository: string;
  /** Set for a pull by tag: the tag's last pull moves too, and the manifest it points at. */
  readonly tag?: string | undefined;
  /** The manifest served (for an old client asking by tag, possibly a child of the tagged index). */
  readonly digest: string;
}

/** A retention rule created through the admin API (its target a repository glob). */
export type RetentionRuleRecord = LifecycleRuleRecord;

export interface RetentionIndex {
  /** Repositories whose name matches the glob (oci/repository-glob.ts syntax), in byte order. */
  repositoriesMatching(glob: string): Promise<string[]>;
  /** Every tag of the repository, most recently pushed first (ties by name). */
  retentionTags(repository: string): Promise<RetentionTagRecord[]>;
  /**
   * Manifests of the repository that no tag points at, pushed before the cutoff, leaving out
   * those the repository still needs: children of an index in the repository, and referrers
   * whose subject is in the repository (they go with their subject, or on a later run).
   */
  untaggedManifests(repository: string, pushedBefore: Date): Promise<UntaggedManifestRecord[]>;
  /**
   * Deletes the tag only if it still points at the manifest and still has the push time read
   * when the plan was made; false when it was moved, re-pushed or deleted meanwhile.
   */
  untagIfUnchanged(repository: string, tag: string, manifestDigest: string, pushedAt: string): Promise<boolean>;
  /** Moves the last pull of the tag (if any) and of the manifests forward to `at` (never back). */
  recordPull(pull: PullRecord, at: Date): Promise<void>;
  listRetentionRules(): Promise<RetentionRuleRecord[]>;
  createRetentionRule(rule: RetentionRuleRecord): Promise<void>;
  /** False when there is no retention rule with that id. */
  deleteRetentionRule(id: string): Promise<boolean>;
}

/** How many repository names are read per query while matching a glob. */
const REPOSITORY_PAGE = 1000;

export class RetentionQueries implements RetentionIndex {
  constructor(private readonly db: Kysely<Database>) {}

  async repositoriesMatching(glob: string): Promise<string[]> {
    const pattern = repositoryGlob(glob);
    const matching: string[] = [];
    let after: string | undefined;
    // A glob cannot be turned into SQL LIKE exactly ('_' and '%' are literal in names), so
    // names are read in pages and matched here.
    for (;;) {
      const rows = await this.db
        .selectFrom('repositories')
        .select('name')
        .$if(after !== undefined, (query) => query.where('name', '>', after ?? ''))
        .orderBy('name')
        .limit(REPOSITORY_PAGE)
        .execute();
      for (const { name } of rows) if (pattern.test(name)) matching.push(name);
      if (rows.length < REPOSITORY_PAGE) return matching;
      after = rows.at(-1)?.name;
    }
  }

  async retentionTags(repository: string): Promise<RetentionTagRecord[]> {
    const rows = await this.db
      .selectFrom('tags')
      .select(['name', 'manifest_digest', 'updated_at', 'last_pulled_at'])
      .where('repository', '=', repository)
      .orderBy('updated_at', 'desc')
      .orderBy('name')
      .execute();
    return rows.map((row) => ({
      tag: row.name,
      manifestDigest: row.manifest_digest,
      pushedAt: row.updated_at,
      lastPulledAt: row.last_pulled_at ?? undefined,
    }));
  }

  async untaggedManifests(repository: string, pushedBefore: Date): Promise<UntaggedManifestRecord[]> {
    const cutoff = pushedBefore.toISOString();
    const rows = await this.db
      .selectFrom('manifests as m')
      .select(['m.digest', 'm.pushed_at', 'm.created_at', 'm.last_pulled_at'])
      .where('m.repository', '=', repository)
      .where((eb) => eb.or([eb('m.pushed_at', '<', cutoff), eb.and([eb('m.pushed_at', 'is', null), eb('m.created_at', '<', cutoff)])]))
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('tags as t')
              .select('t.name')
              .whereRef('t.repository', '=', 'm.repository')
              .whereRef('t.manifest_digest', '=', 'm.digest'),
          ),
        ),
      )
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('manifest_references as r')
              .select('r.manifest_digest')
              .whereRef('r.repository', '=', 'm.repository')
              .whereRef('r.referenced_digest', '=', 'm.digest')
              .where('r.kind', '=', 'manifest'),
          ),
        ),
      )
      .where(({ or, eb, not, exists, selectFrom }) =>
        or([
          eb('m.subject_digest', 'is', null),
          not(
            exists(
              selectFrom('manifests as s')
                .select('s.digest')
                .whereRef('s.repository', '=', 'm.repository')
                .whereRef('s.digest', '=', 'm.subject_digest'),
            ),
          ),
        ]),
      )
      .orderBy('m.digest')
      .execute();
    return rows.map((row) => ({
      digest: row.digest,
      pushedAt: row.pushed_at ?? row.created_at,
      lastPulledAt: row.last_pulled_at ?? undefined,
    }));
  }

  async untagIfUnchanged(repository: string, tag: string, manifestDigest: string, pushedAt: string): Promise<boolean> {
    // One statement: the check and the delete cannot be split by a push in between.
    const result = await this.db
      .deleteFrom('tags')
      .where('repository', '=', repository)
      .where('name', '=', tag)
      .where('manifest_digest', '=', manifestDigest)
      .where('updated_at', '=', pushedAt)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async recordPull(pull: PullRecord, at: Date): Promise<void> {
    const when = at.toISOString();
    await this.db.transaction().execute(async (trx) => {
      if (pull.tag !== undefined) await touchTag(trx, pull.repository, pull.tag, when);
      const tag = pull.tag;
      await trx
        .updateTable('manifests')
        .set({ last_pulled_at: when })
        .where('repository', '=', pull.repository)
        .where((eb) =>
          tag === undefined
            ? eb('digest', '=', pull.digest)
            : eb.or([
                eb('digest', '=', pull.digest),
                eb(
                  'digest',
                  'in',
                  eb.selectFrom('tags').select('manifest_digest').where('repository', '=', pull.repository).where('name', '=', tag),
                ),
              ]),
        )
        .where((eb) => eb.or([eb('last_pulled_at', 'is', null), eb('last_pulled_at', '<', when)]))
        .execute();
    });
  }

  listRetentionRules(): Promise<RetentionRuleRecord[]> {
    return listLifecycleRules(this.db, 'retention');
  }

  createRetentionRule(rule: RetentionRuleRecord): Promise<void> {
    return createLifecycleRule(this.db, 'retention', rule);
  }

  deleteRetentionRule(id: string): Promise<boolean> {
    return deleteLifecycleRule(this.db, 'retention', id);
  }
}

async function touchTag(db: Executor, repository: string, tag: string, when: string): Promise<void> {
  await db
    .updateTable('tags')
    .set({ last_pulled_at: when })
    .where('repository', '=', repository)
    .where('name', '=', tag)
    .where((eb) => eb.or([eb('last_pulled_at', 'is', null), eb('last_pulled_at', '<', when)]))
    .execute();
}
