// The ui section of the configuration schema (Berth's own): whether the web UI is served, the
// path it lives under, and how long a web UI sign-in lasts. The UI is static files built from
// web/ into dist/web; it never shadows the registry API (/v2/), the admin API (/api/), the token
// endpoint or the health and metrics endpoints, which ui.path may not overlap.
import { z } from 'zod';
import { duration, expectedGot, section, setting } from './setting.js';

export interface UiConfig {
  enabled: boolean;
  /** Where the UI is served, without a trailing slash ("/ui"). */
  path: string;
  /** How long a web UI session lasts after sign-in. */
  sessionLifetimeMs: number;
}

/** Paths Berth serves itself: ui.path may be none of them nor lie below one. */
const RESERVED_PATHS = ['/v2', '/api', '/token', '/metrics', '/healthz', '/readyz'];

const PATH_EXPECTED = 'an absolute path such as "/ui" (letters, digits, "-", "_", "." and "/"), not "/" and not under /v2, /api or /token';

const uiPath = z.string().transform((value, ctx) => {
  const path = value.replace(/\/+$/, '');
  const valid = /^(\/[A-Za-z0-9._-]+)+$/.test(path) && !path.split('/').some((part) => part === '.' || part === '..');
  const reserved = RESERVED_PATHS.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
  if (!valid || reserved) {
    ctx.issues.push({ code: 'custom', input: value, message: expectedGot(PATH_EXPECTED, value) });
    return z.NEVER;
  }
  return path;
});

export const uiSection = section({
  enabled: setting(z.boolean().default(true), {
    kind: 'boolean',
    origin: 'berth',
    description: 'Serve the web UI (browse repositories, tags and manifests; administration) from the same address as the registry.',
    expected: 'true or false',
    defaultText: 'true',
  }),
  path: setting(uiPath.prefault('/ui'), {
    kind: 'string',
    origin: 'berth',
    description: 'The path the web UI is served under; / redirects there.',
    expected: PATH_EXPECTED,
    defaultText: '/ui',
  }),
  sessionlifetime: duration({
    defaultText: '8h',
    minMs: 60_000,
    minText: '1m',
    info: {
      origin: 'berth',
      description: 'How long a web UI sign-in lasts; then the user signs in again.',
    },
  }),
});

export function toUiConfig(ui: z.output<typeof uiSection>): UiConfig {
  return { enabled: ui.enabled, path: ui.path, sessionLifetimeMs: ui.sessionlifetime };
}
