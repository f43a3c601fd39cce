// The configuration file's schema: every section assembled into one object, with the checks
// that span sections. Each section, its Config part and its mapping live in <section>-schema.ts;
// schema.ts turns the validated file into Config.
import { z } from 'zod';
import { gcSection } from './gc-schema.js';
import { httpSection } from './http-schema.js';
import { immutabilitySection } from './immutability-schema.js';
import { limitsSection } from './limits-schema.js';
import { ratelimitSection } from './ratelimit-schema.js';
import { logSection } from './log-schema.js';
import { metadataSection } from './metadata-schema.js';
import { notificationIssues, notificationsSection } from './notifications-schema.js';
import { auditSection } from './audit-schema.js';
import { proxyIssues, proxySection } from './proxy-schema.js';
import { quotaIssues, quotasSection } from './quota-schema.js';
import { retentionSection } from './retention-schema.js';
import { authIssues, authSection } from './security-schema.js';
import { setting } from './setting.js';
import { storageSection } from './storage-schema.js';
import { uiSection } from './ui-schema.js';
import { validationSection } from './validation-schema.js';

const fileSchema = z
  .strictObject({
    version: setting(
      z
        .union([z.literal('0.1'), z.literal(0.1)])
        .transform(() => '0.1')
        .prefault('0.1'),
      {
        kind: 'string',
        origin: 'distribution',
        description: 'Configuration format version. Only "0.1" exists.',
        expected: '"0.1"',
        defaultText: '0.1',
      },
    ),
    log: logSection,
    http: httpSection,
    auth: authSection,
    proxy: proxySection,
    storage: storageSection,
    validation: validationSection,
    metadata: metadataSection,
    limits: limitsSection,
    immutability: immutabilitySection,
    ratelimit: ratelimitSection,
    gc: gcSection,
    quotas: quotasSection,
    retention: retentionSection,
    ui: uiSection,
    notifications: notificationsSection,
    audit: auditSection,
  })
  .superRefine((file, ctx) => {
    for (const issue of [
      ...authIssues(file.auth),
      ...proxyIssues(file.proxy),
      ...quotaIssues(file.quotas),
      ...notificationIssues(file.notifications),
    ]) {
      ctx.addIssue({ code: 'custom', path: issue.path, input: undefined, message: issue.message });
    }
  });

/** The configuration file's schema (input: what YAML holds; output: validated, defaults applied). */
export const configFileSchema = fileSchema;
export type ConfigFile = z.output<typeof fileSchema>;
