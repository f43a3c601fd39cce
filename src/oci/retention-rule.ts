// A retention rule as the configuration file and the admin API write it, and what makes one
// valid. One definition, pure, so both accept exactly the same rules and a rule stored as JSON
// reads back the same way:
//
//   { repositories: "team/**",       which repositories (repository glob: * within a path
//                                     component, ** across components, ? one character)
//     keeplast: 10,                  keep the 10 most recently pushed tags; delete the others
//     keeptags: ["v*", "latest"],    keep tags matching any pattern (* any run, ? one character)
//     olderthan: "90d",              delete tags pushed more than 90 days ago
//     notpulledfor: "30d",           delete tags not pulled for 30 days (never pulled: counted from the push)
//     untaggedfor: "7d" }            delete untagged manifests pushed more than 7 days ago
//
// Ages are oci/age.ts's ("30d", "1d12h", "36h"). The retention use case (registry/retention.ts)
// says how the parts combine.
import { parseAge } from './age.js';
import { DurationError } from './duration.js';

/** A rule as written (JSON or YAML): ages as text. */
export interface RetentionRuleInput {
  readonly repositories: string;
  readonly keeplast?: number | undefined;
  readonly keeptags?: readonly string[] | undefined;
  readonly olderthan?: string | undefined;
  readonly notpulledfor?: string | undefined;
  readonly untaggedfor?: string | undefined;
}

/** A valid rule, ages in milliseconds. */
export interface RetentionRule {
  readonly repositories: string;
  readonly keeplast: number | undefined;
  readonly keeptags: readonly string[];
  readonly olderthanMs: number | undefined;
  readonly notpulledforMs: number | undefined;
  readonly untaggedforMs: number | undefined;
}

export interface RuleProblem {
  /** The key at fault ("keeptags.1"), empty for the rule as a whole. */
  readonly path: string;
  readonly message: string;
}

export type RetentionRuleParse = { readonly rule: RetentionRule; readonly problems?: undefined } | { readonly problems: RuleProblem[] };

const KEYS = new Set(['repositories', 'keeplast', 'keeptags', 'olderthan', 'notpulledfor', 'untaggedfor']);
const REPOSITORY_GLOB = /^[a-z0-9._/*?-]{1,255}$/;
const TAG_PATTERN = /^[A-Za-z0-9_.*?-]{1,128}$/;
/** More would be a list nobody reviews; each is matched against every tag. */
const MAX_KEEPTAGS = 100;
const MAX_KEEPLAST = 1_000_000;

/** Checks a rule as written and returns it with ages in milliseconds, or every problem found. */
export function parseRetentionRule(input: unknown): RetentionRuleParse {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { problems: [{ path: '', message: 'a retention rule is an object with at least "repositories"' }] };
  }
  const value = input as Record<string, unknown>;
  const problems: RuleProblem[] = [];
  for (const key of Object.keys(value)) {
    if (!KEYS.has(key)) problems.push({ path: key, message: `unknown key; a rule has ${[...KEYS].join(', ')}` });
  }
  const { repositories, keeplast, keeptags } = value;
  if (typeof repositories !== 'string' || !REPOSITORY_GLOB.test(repositories)) {
    problems.push({
      path: 'repositories',
      message:
        "a repository glob of lower-case letters, digits, '.', '_', '-', '/', '*' and '?' (1 to 255 characters), such as \"team/**\"",
    });
  }
  if (keeplast !== undefined && (typeof keeplast !== 'number' || !Number.isInteger(keeplast) || keeplast < 1 || keeplast > MAX_KEEPLAST)) {
    problems.push({ path: 'keeplast', message: `a whole number of tags from 1 to ${MAX_KEEPLAST}` });
  }
  if (keeptags !== undefined) {
    if (!Array.isArray(keeptags) || keeptags.length > MAX_KEEPTAGS) {
      problems.push({ path: 'keeptags', message: `a list of at most ${MAX_KEEPTAGS} tag patterns, such as ["v*", "latest"]` });
    } else {
      keeptags.forEach((pattern: unknown, i) => {
        if (typeof pattern !== 'string' || !TAG_PATTERN.test(pattern)) {
          problems.push({
            path: `keeptags.${i}`,
            message: "a tag pattern of letters, digits, '_', '.', '-', '*' (any run) and '?' (one character), 1 to 128 characters",
          });
        }
      });
    }
  }
  const age = (key: 'olderthan' | 'notpulledfor' | 'untaggedfor'): number | undefined => {
    const text = value[key];
    if (text === undefined) return undefined;
    if (typeof text !== 'string') {
      problems.push({ path: key, message: 'an age such as "30d", "1d12h" or "36h"' });
      return undefined;
    }
    try {
      return parseAge(text);
    } catch (error) {
      if (!(error instanceof DurationError)) throw error;
      problems.push({ path: key, message: `an age such as "30d", "1d12h" or "36h" (${error.reason})` });
      return undefined;
    }
  };
  const olderthanMs = age('olderthan');
  const notpulledforMs = age('notpulledfor');
  const untaggedforMs = age('untaggedfor');
  if (problems.length > 0) return { problems };
  return {
    rule: {
      repositories: repositories as string,
      keeplast: keeplast as number | undefined,
      keeptags: (keeptags as string[] | undefined) ?? [],
      olderthanMs,
      notpulledforMs,
      untaggedforMs,
    },
  };
}

/** Whether a rule can delete anything (one with only keeptags exempts its repositories from later rules). */
export function ruleDeletes(rule: RetentionRule): boolean {
  return (
    rule.keeplast !== undefined || rule.olderthanMs !== undefined || rule.notpulledforMs !== undefined || rule.untaggedforMs !== undefined
  );
}
