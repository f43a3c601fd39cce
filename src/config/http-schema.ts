// The http section of the configuration schema: where to listen, the external URL, the drain
// on shutdown; its tls and http2 parts are in security-schema.ts.
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
}

const HTTP_HOST_EXPECTED = 'an absolute http(s) URL such as https://registry.example.com';

export const httpSection = section({
  addr: setting(
    z
      .string()
      .transform((text, ctx) => {
        const parsed = parseListenAddress(text);
        if ('error' in parsed) {
          ctx.issues.push({ code: 'custom', input: text, message: expectedGot('host:port', text, parsed.error) });
          return z.NEVER;
        }
        return parsed;
      })
      .prefault(':5000'),
    {
      kind: 'string',
      origin: 'distribution',
      description: `Address to listen on, "host:port". ":5000" listens on every interface (${ALL_INTERFACES}); port 0 picks a free port.`,
      expected: 'host:port',
      defaultText: ':5000',
    },
  ),
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
});

export function toHttpConfig(http: z.output<typeof httpSection>, cwd: string): HttpConfig {
  return {
    addr: http.addr,
    host: http.host,
    secret: http.secret,
    draintimeoutMs: http.draintimeout,
    tls: toTlsConfig(http.tls, cwd),
    http2: { disabled: http.http2.disabled },
  };
}
