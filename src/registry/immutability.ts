// Tag immutability: rules (a repository glob, the tag patterns it protects, the patterns it leaves
// alone) from the configuration file and from the admin API (lifecycle_rules rows of kind
// 'immutability'), and the question every writer asks: does a rule protect this tag? A protected
// tag, once it exists, is never moved to another manifest, deleted, or untagged by retention.
// Rules change at run time: each process re-reads the stored ones at most every refreshMs (2 s),
// so a rule created on one replica holds on every replica within seconds, and at once on the
// replica that made it. The writers that enforce the rules are in immutable-manifests.ts.
import { randomUUID } from 'node:crypto';
import { RegistryError } from '../errors/index.js';
import type { ImmutabilityIndex } from '../metadata/index.js';
import { repositoryGlobProblem, repositoryMatches, tagMatches, tagPatternProblem } from '../oci/tag-pattern.js';

/** What a rule says, as the configuration file and the admin API write it. */
export interface ImmutabilityRuleDefinition {
  /** Repository glob: `*` within one path component, `**` across components, `?` one character. */
  readonly repositories: string;
  /** Tag patterns the rule protects: `*` any run of characters, `?` one character. */
  readonly tags: readonly string[];
  /** Tag patterns the rule leaves alone even when `tags` matches (such as latest). */
  readonly except: readonly string[];
}

export interface ImmutabilityRule extends ImmutabilityRuleDefinition {
  /** "config:0", "config:1", ... for the file's rules (in file order, as retention numbers its own); a UUID for the API's. */
  readonly id: string;
  /** 'config': from the configuration file, read-only through the API. */
  readonly source: 'config' | 'api';
  /** ISO-8601; undefined for the file's rules. */
  readonly createdAt: string | undefined;
  readonly createdBy: string | undefined;
}

export interface ImmutabilityRulesOptions {
  /** How long the stored rules are trusted before they are read again; default 2 s. */
  readonly refreshMs?: number;
  /** The clock (milliseconds since the epoch). */
  readonly now?: () => number;
}

/** Whether the rule protects the tag of the repository. */
export function ruleProtects(rule: ImmutabilityRuleDefinition, repository: string, tag: string): boolean {
  return (
    repositoryMatches(rule.repositories, repository) &&
    rule.tags.some((pattern) => tagMatches(pattern, tag)) &&
    !rule.except.some((pattern) => tagMatches(pattern, tag))
  );
}

/** Why the definition is not a valid rule, one line per problem; empty when it is. */
export function ruleProblems(rule: ImmutabilityRuleDefinition): string[] {
  const problems: string[] = [];
  const glob = repositoryGlobProblem(rule.repositories);
  if (glob !== undefined) problems.push(`repositories: ${glob}`);
  if (rule.tags.length === 0) problems.push('tags: a rule needs at least one tag pattern');
  for (const [field, patterns] of [
    ['tags', rule.tags],
    ['except', rule.except],
  ] as const) {
    for (const pattern of patterns) {
      const problem = tagPatternProblem(pattern);
      if (problem !== undefined) problems.push(`${field}: ${problem}`);
    }
  }
  return problems;
}

/** The error for a write that would move or remove a protected tag. */
export function tagImmutable(repository: string, tag: string, digest?: string): RegistryError {
  const message =
    digest === undefined
      ? `tag ${tag} of ${repository} is immutable: it cannot be overwritten or deleted; push a new tag instead`
      : `manifest ${digest} is tagged ${tag}, which is immutable in ${repository}: it cannot be deleted`;
  return new RegistryError('TAG_IMMUTABLE', { repository, tag, ...(digest === undefined ? {} : { digest }) }, { message });
}

/** The rules of the configuration file and of the database, and whether they protect a tag. */
export class ImmutabilityRules {
  private readonly configured: readonly ImmutabilityRule[];
  private readonly refreshMs: number;
  private readonly now: () => number;
  /** The stored rules as last read (shared by the callers meanwhile), and when they were read. */
  private stored: { readonly at: number; readonly rules: Promise<readonly ImmutabilityRule[]> } | undefined;

  constructor(
    private readonly index: ImmutabilityIndex,
    configured: readonly ImmutabilityRuleDefinition[],
    options: ImmutabilityRulesOptions = {},
  ) {
    this.configured = configured.map((rule, i) => ({
      id: `config:${i}`,
      source: 'config',
      repositories: rule.repositories,
      tags: [...rule.tags],
      except: [...rule.except],
      createdAt: undefined,
      createdBy: undefined,
    }));
    this.refreshMs = options.refreshMs ?? 2000;
    this.now = options.now ?? Date.now;
  }

  /** Whether a rule protects the tag of the repository (the retention job skips such tags). */
  async protects(repository: string, tag: string): Promise<boolean> {
    return (await this.rules()).some((rule) => ruleProtects(rule, repository, tag));
  }

  /** Those of the tags that a rule protects, in their order. */
  async protectedAmong(repository: string, tags: readonly string[]): Promise<string[]> {
    if (tags.length === 0) return [];
    const rules = await this.rules();
    return tags.filter((tag) => rules.some((rule) => ruleProtects(rule, repository, tag)));
  }

  /** Every rule, the file's first, read fresh from the database. */
  async list(): Promise<ImmutabilityRule[]> {
    this.stored = undefined;
    return [...(await this.rules())];
  }

  /** Stores a rule (REQUEST_INVALID when it is not valid); it holds here at once. */
  async create(definition: ImmutabilityRuleDefinition, createdBy: string | undefined): Promise<ImmutabilityRule> {
    const problems = ruleProblems(definition);
    if (problems.length > 0) throw new RegistryError('REQUEST_INVALID', { issues: problems }, { message: problems.join('; ') });
    const rule: ImmutabilityRule = {
      id: randomUUID(),
      source: 'api',
      repositories: definition.repositories,
      tags: [...definition.tags],
      except: [...definition.except],
      createdAt: new Date(this.now()).toISOString(),
      createdBy,
    };
    await this.index.createImmutabilityRule({
      id: rule.id,
      target: rule.repositories,
      definition: JSON.stringify({ tags: rule.tags, except: rule.except }),
      createdAt: rule.createdAt ?? '',
      createdBy,
    });
    this.stored = undefined;
    return rule;
  }

  /** Removes a stored rule: RESOURCE_UNKNOWN when there is none, REQUEST_INVALID for the file's. */
  async delete(id: string): Promise<void> {
    if (this.configured.some((rule) => rule.id === id)) {
      throw new RegistryError('REQUEST_INVALID', { id }, { message: `rule ${id} comes from the configuration file: change it there` });
    }
    if (!(await this.index.deleteImmutabilityRule(id))) {
      throw new RegistryError('RESOURCE_UNKNOWN', { id }, { message: `no immutability rule ${id}` });
    }
    this.stored = undefined;
  }

  private async rules(): Promise<readonly ImmutabilityRule[]> {
    const now = this.now();
    let stored = this.stored;
    if (stored === undefined || now - stored.at >= this.refreshMs) {
      const rules = this.readStored();
      stored = { at: now, rules };
      this.stored = stored;
      // A failed read is not kept: the next caller reads again.
      rules.catch(() => {
        if (this.stored === stored) this.stored = undefined;
      });
    }
    return [...this.configured, ...(await stored.rules)];
  }

  private async readStored(): Promise<readonly ImmutabilityRule[]> {
    const records = await this.index.listImmutabilityRules();
    return records.map((record): ImmutabilityRule => {
      const definition = parseDefinition(record.definition);
      return {
        id: record.id,
        source: 'api',
        repositories: record.target,
        tags: definition.tags,
        except: definition.except,
        createdAt: record.createdAt,
        createdBy: record.createdBy,
      };
    });
  }
}

/** The stored JSON ({tags, except}); a row that cannot be read protects nothing rather than failing every push. */
function parseDefinition(text: string): { tags: string[]; except: string[] } {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) return { tags: [], except: [] };
    const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
    return { tags: strings((parsed as { tags?: unknown }).tags), except: strings((parsed as { except?: unknown }).except) };
  } catch {
    return { tags: [], except: [] };
  }
}
