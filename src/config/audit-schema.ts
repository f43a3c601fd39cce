// The audit section (Berth's): whether the audit log is kept, how long, and which share of
// pulls it records. docs/audit.md.
import { z } from 'zod';
import { duration, section, setting } from './setting.js';

export interface AuditConfig {
  enabled: boolean;
  retentionMs: number;
  /** The share of pulls recorded, 0 (none) to 1 (all). */
  pullSampling: number;
}

export const auditSection = section({
  enabled: setting(z.boolean().default(true), {
    kind: 'boolean',
    origin: 'berth',
    description:
      'Whether the audit log records every write, every denied request, every sign-in and every change of accounts, grants, tokens, settings and rules (docs/audit.md).',
    expected: 'true or false',
    defaultText: 'true',
  }),
  retention: duration({
    defaultText: '2160h',
    minMs: 60_000,
    minText: '1m',
    info: { origin: 'berth', description: 'Audit entries older than this are deleted (2160h: 90 days).' },
  }),
  // Read as text (YAML's 0.5 and the environment's "0.5" alike), then as a number.
  pulls: setting(z.coerce.number().min(0).max(1).default(0), {
    kind: 'string',
    origin: 'berth',
    description: 'The share of pulls (manifest and blob GETs) recorded: 0 records none, 1 every one, 0.01 one in a hundred.',
    expected: 'a number from 0 to 1',
    defaultText: '0',
  }),
});

export function toAuditConfig(file: z.output<typeof auditSection>): AuditConfig {
  return { enabled: file.enabled, retentionMs: file.retention, pullSampling: file.pulls };
}
