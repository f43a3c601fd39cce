// The http section of the configuration schema: where to listen, the external URL, the drain
// on shutdown, the debug address that serves Prometheus metrics; its tls and http2 parts are in
// security-schema.ts.
import { z } from 'zod';
import { ALL_INTERFACES, parseListenAddress } from './addr.js';
import { http2Section, tlsSection, toTlsConfig, type TlsConfig } from './security-schema.js';
import { duration, expectedGot, section, setting } from './setting.js';

export interface HttpConfig {
  addr: { host: string; port: number };
  host: string | undefined;
  secret: string | undefined;
  draintimeoutMs: number;
  /** Present when the registry serves HTTPS. */
  tls: TlsConfig | undefined;
  http2: { disabled: boolean };
  /** Where metrics are served apart from the registry API (http.debug); undefined: nowhere else. */
  debug: DebugConfig | undefined;
  /** Who may read GET /metrics on http.addr; disabled: it is not served there. */
  metrics: { access: MetricsAccessConfig };
}

export type MetricsAccessConfig = 'open' | 'signed-in' | 'admin' | 'disabled';

export interface DebugConfig {
  addr: { host: string; port: number };
  /** http.debug.prometheus: undefined when not enabled (the debug address then serves nothing). */
  prometheus: { path: string } | undefined;
}

/** A "host:port" listen address, as http.addr and http.debug.addr are written. */
function listenAddress() {
  return z.string().transform((text, ctx) => {
    const parsed = parseListenAddress(text);
    if ('error' in parsed) {
      ctx.issues.push({ code: 'custom', input: text, message: expectedGot('host:port', text, parsed.error) });
      return z.NEVER;
    }
    return parsed;
  });
}

const debugSection = section({
  addr: setting(listenAddress().optional(), {
    kind: 'string',
    origin: 'distribution',
    description:
      'Address of the debug server, "host:port", apart from the registry API (e.g. "localhost:5001"). Berth serves Prometheus metrics there when http.debug.prometheus.enabled is true, without authentication; keep it on loopback or a private network.',
    expected: 'host:port',
    defaultText: 'none',
  }),
  prometheus: section({
    enabled: setting(z.boolean().default(false), {
      kind: 'boolean',
      origin: 'distribution',
      description: 'Serves Prometheus metrics on http.debug.addr.',
      expected: 'true or false',
      defaultText: 'false',
    }),
    path: setting(
      z
        .string()
        .regex(/^\/[\x21-\x7e]*$/)
        .default('/metrics'),
      {
        kind: 'string',
        origin: 'distribution',
        description: 'Path of the metrics on http.debug.addr.',
        expected: 'a path starting with /',
        defaultText: '/metrics',
      },
    ),
  }),
});

const metricsSection = section({
  access: setting(z.enum(['open', 'signed-in', 'admin', 'disabled']).default('open'), {
    kind: 'enum',
    origin: 'berth',
    description:
      'Who may read GET /metrics on http.addr: "open" (anyone), "signed-in" (any valid credentials, Basic or Bearer), "admin" (a registry administrator), or "disabled" (not served there; use http.debug). signed-in and admin need authentication configured.',
    expected: 'one of open, signed-in, admin, disabled',
    defaultText: 'open',
  }),
});

const HTTP_HOST_EXPECTED = 'an absolute http(s) URL such as https://registry.example.com';

export const httpSection = section({
  addr: setting(listenAddress().prefault(':5000'), {
    kind: 'string',
    origin: 'distribution',
    description: `Address to listen on, "host:port". ":5000" listens on every interface (${ALL_INTERFACES}); port 0 picks a free port.`,
    expected: 'host:port',
    defaultText: ':5000',
  }),
  host: setting(
    z
      .string()
      .transform((text, ctx) => {
        const url = URL.canParse(text) ? new URL(text) : undefined;
        const problem =
          url === undefined
            ? undefined
            : url.protocol !== 'http:' && url.protocol !== 'https:'
              ? 'the scheme must be http or https'
              : url.search !== '' || url.hash !== ''
                ? 'a query or fragment is not allowed'
                : url.username !== '' || url.password !== ''
                  ? 'credentials are not allowed'
                  : null;
        if (url === undefined || problem !== null) {
          ctx.issues.push({ code: 'custom', input: text, message: expectedGot(HTTP_HOST_EXPECTED, text, problem ?? undefined) });
          return z.NEVER;
        }
        // Without a trailing slash, so callers can append "/v2/...".
        return text.replace(/\/+$/, '');
      })
      .optional(),
    {
      kind: 'string',
      origin: 'distribution',
      description:
        'External base URL of the registry, used to build absolute URLs (such as Location headers) when Berth runs behind a proxy or load balancer.',
      expected: HTTP_HOST_EXPECTED,
      defaultText: 'none',
    },
  ),
  secret: setting(z.string().min(1).optional(), {
    kind: 'string',
    origin: 'distribution',
    description:
      'Secret for signing data that clients hand back to the registry (Distribution signs upload state with it). Give every replica the same value.',
    expected: 'a non-empty string',
    defaultText: 'none',
  }),
  draintimeout: duration({
    defaultText: '60s',
    minMs: 0,
    minText: '0s',
    info: {
      origin: 'distribution',
      description: 'On SIGTERM, how long to wait for requests in flight to finish before closing connections.',
    },
  }),
  tls: tlsSection,
  http2: http2Section,
  debug: debugSection,
  metrics: metricsSection,
});

export function toHttpConfig(http: z.output<typeof httpSection>, cwd: string): HttpConfig {
  return {
    addr: http.addr,
    host: http.host,
    secret: http.secret,
    draintimeoutMs: http.draintimeout,
    tls: toTlsConfig(http.tls, cwd),
    http2: { disabled: http.http2.disabled },
    debug:
      http.debug.addr === undefined
        ? undefined
        : { addr: http.debug.addr, prometheus: http.debug.prometheus.enabled ? { path: http.debug.prometheus.path } : undefined },
    metrics: { access: http.metrics.access },
  };
}
