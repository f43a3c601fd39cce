// Retention: policies that untag what a team no longer needs, per repository glob. Garbage
// collection then reclaims the bytes; retention itself deletes no blob.
//
// Which policy applies: the policies of the configuration file (in file order), then the rules
// created through the admin API (oldest first). A repository is judged by the FIRST policy whose
// glob matches it, and only by that one; a repository no policy matches is left alone.
//
// What one policy deletes, tag by tag:
//
//   deleted = (falls outside keeplast  OR  olderthan matches  OR  notpulledfor matches)
//             AND NOT (among the keeplast newest  OR  matches a keeptags pattern  OR  immutable)
//
// - keeplast N: the N most recently pushed tags of the repository (by push time, ties by name)
//   are kept; every other tag "falls outside keeplast". A policy with only keeplast deletes
//   everything beyond the N newest.
// - olderthan D: the tag was last pushed more than D ago.
// - notpulledfor D: the tag was last pulled more than D ago; a tag never pulled counts from its
//   push, so a new tag is not deleted for not having been pulled yet. Pulls are recorded at most
//   once a minute per process (pull-recorder.ts), so this is accurate to about a minute.
// - keeptags: tag patterns (`*` any run, `?` one character) whose tags are always kept.
// - immutable: tags an immutability rule protects (TagProtection) are never untagged.
// - A policy with no keeplast, olderthan or notpulledfor deletes no tag.
// - untaggedfor D: manifests no tag points at, pushed more than D ago, are deleted, except
//   children of an index in the repository and referrers of a manifest still in it. A manifest
//   this run untags goes on a later run (the plan is made before anything changes).
//
// A dry run returns the plan and changes nothing. A real run makes the plan of one repository
// and applies it at once, with a conditional untag: a tag pushed again (or moved) after the plan
// was read is left alone, and so is one an immutability rule protects by then.
import { randomUUID } from 'node:crypto';
import { RegistryError } from '../errors/index.js';
import type { RetentionIndex, RetentionTagRecord } from '../metadata/index.js';
import { formatAge } from '../oci/age.js';
import { repositoryGlob } from '../oci/repository-glob.js';
import { parseRetentionRule, type RetentionRule, type RuleProblem } from '../oci/retention-rule.js';

/** Whether a tag must never be untagged (immutability rules); implemented by registry/immutability.ts. */
export interface TagProtection {
  protects(repository: string, tag: string): Promise<boolean>;
}

/** The default: no tag is protected beyond the policies' own keep rules. */
export const NOTHING_PROTECTED: TagProtection = { protects: async () => false };

/** Deletes a manifest only if it is still untagged, pushed before the cutoff and needed by nothing (the GC index). */
export interface UntaggedManifestRemover {
  deleteUntaggedManifest(repository: string, digest: string, pushedBefore: string): Promise<boolean>;
}

/** A policy with where it comes from. */
export interface RetentionPolicy {
  /** "config:<index>" for the configuration file's, the rule's id for the admin API's. */
  readonly id: string;
  readonly origin: 'config' | 'api';
  readonly rule: RetentionRule;
  /** Set for the admin API's rules. */
  readonly createdAt?: string | undefined;
  readonly createdBy?: string | undefined;
}

/** Why a tag is deleted: the delete rules that match it (one or more). */
export type DeleteReason = 'keeplast' | 'olderthan' | 'notpulledfor';

export interface PlannedTag {
  readonly tag: string;
  readonly digest: string;
  readonly pushedAt: string;
  readonly lastPulledAt: string | undefined;
  readonly reasons: readonly DeleteReason[];
}

export interface PlannedManifest {
  readonly digest: string;
  readonly pushedAt: string;
}

/** What one policy does to one repository. */
export interface RepositoryPlan {
  readonly repository: string;
  /** The id of the policy that judged it. */
  readonly policy: string;
  readonly deleteTags: readonly PlannedTag[];
  /** How many tags stay. */
  readonly keptTags: number;
  readonly deleteManifests: readonly PlannedManifest[];
}

/** What a run did to one repository, beside its plan. */
export interface RepositoryOutcome extends RepositoryPlan {
  /** Tags untagged. */
  readonly untagged: readonly string[];
  /** Untagged manifests deleted. */
  readonly deleted: readonly string[];
  /** What the plan named but the run left alone, and why. */
  readonly skipped: readonly {
    readonly tag?: string;
    readonly digest?: string;
    readonly reason: 'changed' | 'immutable' | 'unsupported';
  }[];
}

export interface RetentionReport {
  readonly dryRun: boolean;
  /** The time the ages were measured from (ISO-8601). */
  readonly at: string;
  /** Admin API rules whose stored definition no longer reads as a rule (they are ignored). */
  readonly unreadableRules: readonly string[];
  /** Repositories with something to delete (dry run) or something done or skipped (run). */
  readonly repositories: readonly RepositoryOutcome[];
  readonly totals: { readonly tags: number; readonly manifests: number };
}

export interface RetentionOptions {
  /** The policies of the configuration file, in file order. */
  readonly configPolicies: readonly RetentionRule[];
  readonly protection?: TagProtection | undefined;
  /** Deletes untagged manifests (untaggedfor); without it they are planned but skipped as 'unsupported'. */
  readonly untaggedManifests?: UntaggedManifestRemover | undefined;
  /** Milliseconds since the epoch; Date.now by default. */
  readonly now?: (() => number) | undefined;
}

export class Retention {
  private readonly protection: TagProtection;
  private readonly now: () => number;

  constructor(
    private readonly index: RetentionIndex,
    private readonly options: RetentionOptions,
  ) {
    this.protection = options.protection ?? NOTHING_PROTECTED;
    this.now = options.now ?? Date.now;
  }

  /** Every policy in the order they are matched: the configuration file's, then the admin API's. */
  async policies(): Promise<{ policies: RetentionPolicy[]; unreadable: string[] }> {
    const policies: RetentionPolicy[] = this.options.configPolicies.map((rule, i) => ({ id: `config:${i}`, origin: 'config', rule }));
    const unreadable: string[] = [];
    for (const stored of await this.index.listRetentionRules()) {
      const parsed = parseStored(stored.definition);
      if (parsed.problems) unreadable.push(stored.id);
      else policies.push({ id: stored.id, origin: 'api', rule: parsed.rule, createdAt: stored.createdAt, createdBy: stored.createdBy });
    }
    return { policies, unreadable };
  }

  /** Stores a rule given through the admin API; REQUEST_INVALID names every problem of the input. */
  async createRule(input: unknown, createdBy: string | undefined): Promise<RetentionPolicy> {
    const parsed = parseRetentionRule(input);
    if (parsed.problems) throw new RegistryError('REQUEST_INVALID', { reason: 'invalid retention rule', issues: parsed.problems });
    const id = randomUUID();
    const createdAt = new Date(this.now()).toISOString();
    await this.index.createRetentionRule({
      id,
      target: parsed.rule.repositories,
      definition: JSON.stringify(describeRule(parsed.rule)),
      createdAt,
      createdBy,
    });
    return { id, origin: 'api', rule: parsed.rule, createdAt, createdBy };
  }

  /** Deletes a rule of the admin API; rules of the configuration file cannot be (RESOURCE_UNKNOWN). */
  async deleteRule(id: string): Promise<void> {
    if (!(await this.index.deleteRetentionRule(id))) {
      throw new RegistryError(
        'RESOURCE_UNKNOWN',
        { retentionRule: id },
        { message: `no retention rule ${id} (rules of the configuration file are changed there)` },
      );
    }
  }

  /** Plans (dryRun) or runs retention over every repository a policy matches. */
  async run(options: { readonly dryRun: boolean; readonly signal?: AbortSignal | undefined }): Promise<RetentionReport> {
    const at = this.now();
    const { policies, unreadable } = await this.policies();
    const judged = new Set<string>();
    const outcomes: RepositoryOutcome[] = [];
    for (const policy of policies) {
      for (const repository of await this.index.repositoriesMatching(policy.rule.repositories)) {
        options.signal?.throwIfAborted();
        // First match wins: a repository an earlier policy judged is not judged again.
        if (judged.has(repository)) continue;
        judged.add(repository);
        const plan = await this.planRepository(repository, policy, at);
        if (plan.deleteTags.length === 0 && plan.deleteManifests.length === 0) continue;
        outcomes.push(options.dryRun ? { ...plan, untagged: [], deleted: [], skipped: [] } : await this.apply(plan, policy.rule, at));
      }
    }
    return {
      dryRun: options.dryRun,
      at: new Date(at).toISOString(),
      unreadableRules: unreadable,
      repositories: outcomes,
      totals: {
        tags: sum(outcomes, (o) => (options.dryRun ? o.deleteTags.length : o.untagged.length)),
        manifests: sum(outcomes, (o) => (options.dryRun ? o.deleteManifests.length : o.deleted.length)),
      },
    };
  }

  /** What the policy deletes in the repository now (see the header for the rules). */
  async planRepository(repository: string, policy: RetentionPolicy, at: number): Promise<RepositoryPlan> {
    const { rule } = policy;
    const tags = await this.index.retentionTags(repository); // most recently pushed first
    const keepPatterns = rule.keeptags.map((pattern) => repositoryGlob(pattern));
    const deleteTags: PlannedTag[] = [];
    for (const [rank, tag] of tags.entries()) {
      const reasons = deleteReasons(rule, tag, rank, at);
      if (reasons.length === 0) continue;
      // The keep rules win over every delete rule.
      const keptByKeeplast = rule.keeplast !== undefined && rank < rule.keeplast;
      const keptByPattern = keepPatterns.some((pattern) => pattern.test(tag.tag));
      if (keptByKeeplast || keptByPattern || (await this.protection.protects(repository, tag.tag))) continue;
      deleteTags.push({ tag: tag.tag, digest: tag.manifestDigest, pushedAt: tag.pushedAt, lastPulledAt: tag.lastPulledAt, reasons });
    }
    const deleteManifests =
      rule.untaggedforMs === undefined
        ? []
        : (await this.index.untaggedManifests(repository, new Date(at - rule.untaggedforMs))).map((m) => ({
            digest: m.digest,
            pushedAt: m.pushedAt,
          }));
    return { repository, policy: policy.id, deleteTags, keptTags: tags.length - deleteTags.length, deleteManifests };
  }

  private async apply(plan: RepositoryPlan, rule: RetentionRule, at: number): Promise<RepositoryOutcome> {
    const untagged: string[] = [];
    const deleted: string[] = [];
    const skipped: RepositoryOutcome['skipped'][number][] = [];
    for (const tag of plan.deleteTags) {
      // An immutability rule added since the plan was made still wins.
      if (await this.protection.protects(plan.repository, tag.tag)) {
        skipped.push({ tag: tag.tag, reason: 'immutable' });
      } else if (await this.index.untagIfUnchanged(plan.repository, tag.tag, tag.digest, tag.pushedAt)) {
        untagged.push(tag.tag);
      } else {
        skipped.push({ tag: tag.tag, reason: 'changed' });
      }
    }
    if (plan.deleteManifests.length > 0 && rule.untaggedforMs !== undefined) {
      const cutoff = new Date(at - rule.untaggedforMs).toISOString();
      const remover = this.options.untaggedManifests;
      for (const manifest of plan.deleteManifests) {
        if (!remover) skipped.push({ digest: manifest.digest, reason: 'unsupported' });
        else if (await remover.deleteUntaggedManifest(plan.repository, manifest.digest, cutoff)) deleted.push(manifest.digest);
        else skipped.push({ digest: manifest.digest, reason: 'changed' });
      }
    }
    return { ...plan, untagged, deleted, skipped };
  }
}

/** The delete rules of the policy that match the tag (its rank: 0 for the most recently pushed). */
function deleteReasons(rule: RetentionRule, tag: RetentionTagRecord, rank: number, at: number): DeleteReason[] {
  const reasons: DeleteReason[] = [];
  if (rule.keeplast !== undefined && rank >= rule.keeplast) reasons.push('keeplast');
  const pushed = Date.parse(tag.pushedAt);
  if (rule.olderthanMs !== undefined && pushed < at - rule.olderthanMs) reasons.push('olderthan');
  // Never pulled (or not since pulls were recorded): counted from the push.
  const pulled = tag.lastPulledAt === undefined ? pushed : Math.max(pushed, Date.parse(tag.lastPulledAt));
  if (rule.notpulledforMs !== undefined && pulled < at - rule.notpulledforMs) reasons.push('notpulledfor');
  return reasons;
}

/** A stored rule's JSON read back; a row that cannot be read is reported and ignored, never guessed at. */
function parseStored(definition: string): ReturnType<typeof parseRetentionRule> {
  try {
    return parseRetentionRule(JSON.parse(definition));
  } catch {
    return { problems: [{ path: '', message: 'not JSON' }] };
  }
}

/** The rule as written (ages as text), for listings and for storing. */
export function describeRule(rule: RetentionRule): Record<string, unknown> {
  return {
    repositories: rule.repositories,
    ...(rule.keeplast !== undefined ? { keeplast: rule.keeplast } : {}),
    ...(rule.keeptags.length > 0 ? { keeptags: rule.keeptags } : {}),
    ...(rule.olderthanMs !== undefined ? { olderthan: formatAge(rule.olderthanMs) } : {}),
    ...(rule.notpulledforMs !== undefined ? { notpulledfor: formatAge(rule.notpulledforMs) } : {}),
    ...(rule.untaggedforMs !== undefined ? { untaggedfor: formatAge(rule.untaggedforMs) } : {}),
  };
}

export type { RuleProblem };

function sum<T>(items: readonly T[], count: (item: T) => number): number {
  return items.reduce((total, item) => total + count(item), 0);
}
