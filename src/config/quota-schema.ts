// The quotas part of the configuration schema (Berth's own): per namespace (a repository name's
// first path component), most bytes (each distinct blob or manifest counted once however many of
// its repositories link it) and optionally most repositories. Quotas set through the admin API
// are stored in the database and apply to the other namespaces; these are read-only there.
import { z } from 'zod';
import { parseByteSize } from '../oci/byte-size.js';
import { isValidRepositoryName } from '../oci/names.js';
import { expectedGot, setting } from './setting.js';

export interface QuotaConfig {
  namespace: string;
  /** Most bytes the namespace may hold. */
  sizeBytes: number;
  /** Most repositories (holding at least one manifest); undefined: no limit. */
  repositories: number | undefined;
  /** Fraction of the size from which usage reports flag the namespace; undefined: at the quota. */
  warnAt: number | undefined;
}

const SIZE_EXPECTED = 'a number of bytes, or a number with a unit such as "10GiB", "500MB" or "1.5TiB"';

const quota = z.strictObject({
  namespace: z.string().refine((name) => !name.includes('/') && isValidRepositoryName(name), {
    error: (issue) =>
      expectedGot('a namespace: one repository path component, lower-case [a-z0-9] joined by ".", "_", "__" or dashes', issue.input),
  }),
  size: z.union([z.string(), z.number()]).transform((value, ctx) => {
    const bytes = parseByteSize(value);
    if (bytes === undefined) {
      ctx.issues.push({ code: 'custom', input: value, message: expectedGot(SIZE_EXPECTED, value) });
      return z.NEVER;
    }
    return bytes;
  }),
  repositories: z.int().min(0).optional(),
  warnat: z.number().gt(0).max(1).optional(),
});

export const quotasSection = setting(z.array(quota).default([]), {
  kind: 'structured',
  origin: 'berth',
  description:
    'Quotas per namespace: namespace, size (bytes or with a unit, such as 10GiB; each distinct blob counted once per namespace), repositories (optional most repositories), warnat (optional fraction, such as 0.9, from which usage reports flag the namespace). A push over a quota gets 403 DENIED with the usage in its message (see docs/operations.md).',
  expected: 'a list of quotas such as [{namespace: team, size: 10GiB, repositories: 50}]',
  defaultText: 'none',
});

export function toQuotaConfig(quotas: z.output<typeof quotasSection>): QuotaConfig[] {
  return quotas.map((entry) => ({
    namespace: entry.namespace,
    sizeBytes: entry.size,
    repositories: entry.repositories,
    warnAt: entry.warnat,
  }));
}

/** Combinations one entry cannot check: one quota per namespace. */
export function quotaIssues(quotas: z.output<typeof quotasSection>): { path: string[]; message: string }[] {
  const seen = new Set<string>();
  const issues: { path: string[]; message: string }[] = [];
  for (const entry of quotas) {
    if (seen.has(entry.namespace)) issues.push({ path: ['quotas'], message: `namespace "${entry.namespace}" has two quotas` });
    seen.add(entry.namespace);
  }
  return issues;
}
