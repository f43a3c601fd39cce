// The notifications section: Distribution's webhook endpoints, read as registry:2 writes them
// (notifications.endpoints: name, disabled, url, headers, timeout, threshold, backoff,
// ignoredmediatypes, ignore.mediatypes, ignore.actions; notifications.events.includereferences
// is accepted), plus Berth's keys per endpoint (format: Distribution's envelope or CloudEvents, secret, maxbackoff,
// allowprivateaddresses, actions) and for the outbox (retention, blobpulls). docs/events.md.
import { z } from 'zod';
import { durationFromConfigValue } from '../oci/duration.js';
import { duration, expectedGot, section, setting } from './setting.js';

export type NotificationFormat = 'distribution-v1' | 'distribution-v2' | 'cloudevents';

export interface NotificationEndpointConfig {
  name: string;
  url: string;
  headers: Record<string, string[]>;
  timeoutMs: number;
  threshold: number;
  backoffMs: number;
  maxBackoffMs: number;
  ignoredMediaTypes: string[];
  ignoredActions: string[];
  actions: string[] | undefined;
  format: NotificationFormat;
  secret: string | undefined;
  allowPrivateAddresses: boolean;
}

export interface NotificationsConfig {
  /** Enabled endpoints only (disabled: true ones are left out). */
  endpoints: NotificationEndpointConfig[];
  /** Events older than this leave the outbox, delivered or not. */
  retentionMs: number;
  /** Whether blob pulls are events (off by default: one per layer pulled). */
  blobPulls: boolean;
}

const goDuration = z.union([z.string(), z.int().min(0)]).transform((value, ctx) => {
  try {
    return Math.ceil(durationFromConfigValue(value));
  } catch {
    ctx.issues.push({ code: 'custom', input: value, message: expectedGot('a Go duration such as "5s"', value) });
    return z.NEVER;
  }
});

/** Distribution's headers are an http.Header: each name maps to a list of values (a single string is taken too). */
const headerValues = z.union([z.string().transform((value) => [value]), z.array(z.string())]);

const endpoint = z.strictObject({
  name: z.string().min(1),
  disabled: z.boolean().default(false),
  url: z.string().refine((text) => /^https?:\/\//.test(text) && URL.canParse(text), {
    error: (issue) => expectedGot('an http or https URL', issue.input),
  }),
  headers: z.record(z.string(), headerValues).default({}),
  timeout: goDuration.default(5000),
  threshold: z.int().min(0).default(3),
  backoff: goDuration.default(1000),
  ignoredmediatypes: z.array(z.string()).default([]),
  ignore: z
    .strictObject({ mediatypes: z.array(z.string()).default([]), actions: z.array(z.string()).default([]) })
    .default({ mediatypes: [], actions: [] }),
  // Berth's own keys.
  // distribution-v1 (registry:2's media type), distribution-v2 (Distribution 3's) or cloudevents (CloudEvents 1.0, structured mode).
  format: z.enum(['distribution-v1', 'distribution-v2', 'cloudevents']).default('distribution-v1'),
  secret: z.string().min(1).optional(),
  maxbackoff: goDuration.default(300_000),
  allowprivateaddresses: z.boolean().default(false),
  actions: z.array(z.string()).optional(),
});

export const notificationsSection = section({
  endpoints: setting(z.array(endpoint).default([]), {
    kind: 'structured',
    origin: 'distribution',
    description:
      "Webhook endpoints, as Distribution's: name, disabled, url, headers, timeout, threshold, backoff, ignoredmediatypes, ignore.mediatypes, ignore.actions; and Berth's format (distribution-v1, the default, distribution-v2, or cloudevents: CloudEvents 1.0 in structured mode), secret (signs each body with HMAC-SHA256), maxbackoff, allowprivateaddresses and actions. Events are written to an outbox in the transaction of their change and delivered at least once. See docs/events.md.",
    expected: 'a list of endpoints such as [{name: ci, url: "https://ci.example.com/hook", timeout: 5s}]',
    defaultText: 'none',
  }),
  events: setting(z.strictObject({ includereferences: z.boolean().optional() }).optional(), {
    kind: 'structured',
    origin: 'distribution',
    description: 'Accepted as Distribution writes it (includereferences); events carry no references either way.',
    expected: 'a mapping such as {includereferences: true}',
    defaultText: 'none',
  }),
  retention: duration({
    defaultText: '168h',
    minMs: 60_000,
    minText: '1m',
    info: {
      origin: 'berth',
      description:
        'Events older than this leave the outbox with their delivery history, delivered or not: an endpoint down for longer loses the oldest.',
    },
  }),
  blobpulls: setting(z.boolean().default(false), {
    kind: 'boolean',
    origin: 'berth',
    description: 'Whether a blob pull is an event (Distribution sends one per layer pulled); manifest pulls always are.',
    expected: 'true or false',
    defaultText: 'false',
  }),
});

type NotificationsFile = z.output<typeof notificationsSection>;

export function toNotificationsConfig(file: NotificationsFile): NotificationsConfig {
  return {
    endpoints: file.endpoints
      .filter((entry) => !entry.disabled)
      .map((entry) => ({
        name: entry.name,
        url: entry.url,
        headers: entry.headers,
        timeoutMs: entry.timeout,
        threshold: entry.threshold,
        backoffMs: entry.backoff,
        maxBackoffMs: entry.maxbackoff,
        ignoredMediaTypes: [...entry.ignoredmediatypes, ...entry.ignore.mediatypes],
        ignoredActions: entry.ignore.actions,
        actions: entry.actions,
        format: entry.format,
        secret: entry.secret,
        allowPrivateAddresses: entry.allowprivateaddresses,
      })),
    retentionMs: file.retention,
    blobPulls: file.blobpulls,
  };
}

/** Checks one key cannot make: unique endpoint names. */
export function notificationIssues(file: NotificationsFile): { path: string[]; message: string }[] {
  const seen = new Set<string>();
  const issues: { path: string[]; message: string }[] = [];
  for (const entry of file.endpoints) {
    if (seen.has(entry.name)) issues.push({ path: ['notifications', 'endpoints'], message: `endpoint name "${entry.name}" is used twice` });
    seen.add(entry.name);
  }
  return issues;
}
