// The retention section of the configuration schema (Berth's own): policies that untag what a
// team no longer needs, per repository glob, and how often they run on their own (never, by
// default: nothing is deleted unless asked). The rule format is oci/retention-rule.ts's, shared
// with the admin API; registry/retention.ts says how the rules of a policy combine.
import { z } from 'zod';
import { parseRetentionRule, type RetentionRule } from '../oci/retention-rule.js';
import { duration, section, setting } from './setting.js';

export interface RetentionConfig {
  /** How often retention runs on its own; 0: never (run `berth retention` or the admin API instead). */
  intervalMs: number;
  /** Scheduled runs only log the plan. */
  dryRun: boolean;
  /** The file's policies, in file order (the first whose glob matches a repository judges it). */
  policies: RetentionRule[];
}

const policy = z.unknown().transform((input, ctx): RetentionRule => {
  const parsed = parseRetentionRule(input);
  if (!parsed.problems) return parsed.rule;
  for (const problem of parsed.problems) {
    ctx.issues.push({ code: 'custom', input, path: problem.path === '' ? [] : problem.path.split('.'), message: problem.message });
  }
  return z.NEVER;
});

export const retentionSection = section({
  interval: duration({
    defaultText: '0s',
    minMs: 0,
    minText: '0s',
    info: {
      origin: 'berth',
      description:
        'How often retention runs on its own (one replica at a time); 0s: never, run `berth retention` or POST /api/v1/retention/runs instead.',
    },
  }),
  dryrun: setting(z.boolean().default(false), {
    kind: 'boolean',
    origin: 'berth',
    description: 'Scheduled runs only log what they would untag and delete.',
    expected: 'true or false',
    defaultText: 'false',
  }),
  policies: setting(z.array(policy).default([]), {
    kind: 'structured',
    origin: 'berth',
    description:
      'Retention policies, each {repositories, keeplast, keeptags, olderthan, notpulledfor, untaggedfor}; the first whose glob matches a repository judges it (see docs/operations.md).',
    expected: 'a list of policies such as [{repositories: "team/**", keeplast: 10, keeptags: ["v*"]}]',
    defaultText: 'none',
  }),
});

export function toRetentionConfig(retention: z.output<typeof retentionSection>): RetentionConfig {
  return { intervalMs: retention.interval, dryRun: retention.dryrun, policies: retention.policies };
}
