// The immutability section of the configuration schema (Berth's own): tag immutability rules,
// each a repository glob, the tag patterns it protects and the patterns it leaves alone. A
// protected tag, once it exists, cannot be moved to another manifest, deleted or untagged by
// retention; new tags still push. Rules created through the admin API are stored in the
// database and apply together with these; these are read-only there.
import { z } from 'zod';
import { repositoryGlobProblem, tagPatternProblem } from '../oci/tag-pattern.js';
import { setting } from './setting.js';

export interface ImmutabilityRuleConfig {
  /** Repository glob (oci/repository-glob.ts syntax). */
  repositories: string;
  /** Tag patterns the rule protects; `*` matches any run, `?` one character. */
  tags: string[];
  /** Tag patterns left alone even when `tags` matches (such as latest). */
  except: string[];
}

const repositoryGlob = z.string().superRefine((glob, ctx) => {
  const problem = repositoryGlobProblem(glob);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const tagPattern = z.string().superRefine((pattern, ctx) => {
  const problem = tagPatternProblem(pattern);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const immutabilityRule = z.strictObject({
  repositories: repositoryGlob,
  tags: z.array(tagPattern).min(1, 'a rule needs at least one tag pattern'),
  except: z.array(tagPattern).default([]),
});

export const immutabilitySection = setting(z.array(immutabilityRule).default([]), {
  kind: 'structured',
  origin: 'berth',
  description:
    'Tag immutability rules: a protected tag cannot be overwritten with another manifest, deleted or untagged by retention; new tags still push (see docs/operations.md). Patterns: `*` any run of characters, `?` one character.',
  expected: 'a list of rules such as [{repositories: "team/**", tags: ["v*"], except: ["latest"]}]',
  defaultText: 'none',
});

export function toImmutabilityConfig(rules: z.output<typeof immutabilitySection>): ImmutabilityRuleConfig[] {
  return rules.map((rule) => ({ repositories: rule.repositories, tags: [...rule.tags], except: [...rule.except] }));
}
