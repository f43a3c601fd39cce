// The security part of the configuration schema: TLS (http.tls, http.http2) and authentication
// and access (auth.*). Distribution's keys keep their names and meaning (http.tls.certificate,
// auth.htpasswd.path, auth.token.realm, ...); the built-in token server, the credential cache,
// login rate limits and access rules are Berth's own.
import path from 'node:path';
import { z } from 'zod';
import { ACCESS_ACTIONS, type AccessAction } from '../oci/access.js';
import { clientCertificatesSection, toClientCertificatesConfig, type ClientCertificatesConfig } from './client-certificates-schema.js';
import { ldapSection, toLdapConfig, type LdapConfig } from './ldap-schema.js';
import {
  oidcIssues,
  oidcSection,
  toOidcConfig,
  toWorkloadIdentityConfig,
  workloadIdentitySection,
  type OidcConfig,
  type WorkloadIdentityConfig,
} from './oidc-schema.js';
import { duration, expectedGot, section, setting } from './setting.js';

/** One glob rule of auth.access.rules: who may do what on the repositories it matches. */
export interface AccessRule {
  /** Repository glob: `*` matches within one path component, `**` across components. */
  repository: string;
  anonymous: AccessAction[];
  /** Any signed-in user. */
  authenticated: AccessAction[];
  users: Record<string, AccessAction[]>;
  teams: Record<string, AccessAction[]>;
}

export interface TlsConfig {
  certificate: string;
  key: string;
  /** CA bundles that client certificates must chain to; empty: no client certificates asked. */
  clientcas: string[];
  minimumtls: 'TLSv1.2' | 'TLSv1.3';
}

export interface AuthConfig {
  /**
   * How clients authenticate. none: an open registry. basic: HTTP Basic against htpasswd and
   * database users (Distribution's htpasswd mode). token: Berth's own token server issues
   * Bearer tokens (Docker token specification). external-token: Bearer tokens issued by
   * another token server are verified (Distribution's auth.token).
   */
  mode: 'none' | 'basic' | 'token' | 'external-token';
  /**
   * auth.openaccess: with mode none, serve everything openly even though the metadata database
   * holds users, grants or private namespaces (start-up refuses that otherwise).
   */
  openAccess: boolean;
  htpasswd: { realm: string; path: string } | undefined;
  tokenServer: {
    /** The URL clients are sent to for tokens; undefined: <this registry's URL>/token. */
    realm: string | undefined;
    service: string;
    issuer: string;
    expirationMs: number;
    refreshExpirationMs: number;
    /** PEM private key (EC P-256 or RSA); undefined: generated once, kept in the metadata database. */
    signingKey: string | undefined;
  };
  externalToken:
    | { realm: string; service: string; issuer: string; rootCertBundle: string | undefined; jwks: string | undefined }
    | undefined;
  /** auth.ldap: users signed in against a directory; undefined: no directory. */
  ldap: LdapConfig | undefined;
  /** auth.clientcertificates: verified client certificates sign users in; undefined: they do not. */
  clientCertificates: ClientCertificatesConfig | undefined;
  /** auth.oidc: OpenID Connect providers of the web UI's sign-in. */
  oidc: OidcConfig;
  /** auth.workloadidentity: issuers whose ID tokens CI jobs sign in with. */
  workloadIdentity: WorkloadIdentityConfig;
  bcryptCost: number;
  credentialCacheMs: number;
  rateLimit: { attempts: number; windowMs: number };
  access: { admins: string[]; rules: AccessRule[] | undefined };
}

const actionList = z
  .array(z.enum([...ACCESS_ACTIONS, '*']))
  .transform((actions): AccessAction[] => (actions.includes('*') ? [...ACCESS_ACTIONS] : [...new Set(actions as AccessAction[])]));

const accessRule = z.strictObject({
  repository: z.string().min(1),
  anonymous: actionList.default([]),
  authenticated: actionList.default([]),
  users: z.record(z.string().min(1), actionList).default({}),
  teams: z.record(z.string().min(1), actionList).default({}),
});

const URL_EXPECTED = 'an absolute http(s) URL such as https://registry.example.com/token';
const httpUrl = z.string().refine((text) => /^https?:\/\//.test(text) && URL.canParse(text), {
  error: (issue) => expectedGot(URL_EXPECTED, issue.input),
});

export const tlsSection = z
  .strictObject({
    certificate: setting(z.string().min(1), {
      kind: 'string',
      origin: 'distribution',
      description: 'PEM certificate (chain) file; with http.tls.key set, the registry serves HTTPS.',
      expected: 'a file path',
      defaultText: 'none',
    }),
    key: setting(z.string().min(1), {
      kind: 'string',
      origin: 'distribution',
      description: 'PEM private key file of http.tls.certificate.',
      expected: 'a file path',
      defaultText: 'none',
    }),
    clientcas: setting(z.array(z.string().min(1)).default([]), {
      kind: 'list',
      origin: 'distribution',
      description:
        'CA certificate files; when set, every client must present a certificate signed by one of them (mutual TLS). In the environment: paths separated by commas.',
      expected: 'a list of file paths',
      defaultText: 'none',
    }),
    minimumtls: setting(
      z
        .enum(['tls1.2', 'tls1.3'])
        .transform((version) => (version === 'tls1.2' ? ('TLSv1.2' as const) : ('TLSv1.3' as const)))
        .prefault('tls1.2'),
      {
        kind: 'enum',
        origin: 'distribution',
        description: 'Oldest TLS version accepted: tls1.2 or tls1.3.',
        expected: 'tls1.2 or tls1.3',
        defaultText: 'tls1.2',
      },
    ),
  })
  .optional();

export const http2Section = section({
  disabled: setting(z.boolean().default(false), {
    kind: 'boolean',
    origin: 'distribution',
    description: 'Turns off HTTP/2 over TLS (clients then use HTTP/1.1).',
    expected: 'true or false',
    defaultText: 'false',
  }),
});

export const authSection = section({
  htpasswd: z
    .strictObject({
      realm: setting(z.string().min(1).default('Registry Realm'), {
        kind: 'string',
        origin: 'distribution',
        description: 'Realm named in the Basic challenge.',
        expected: 'a string',
        defaultText: 'Registry Realm',
      }),
      path: setting(z.string().min(1), {
        kind: 'string',
        origin: 'distribution',
        description:
          'htpasswd file of users (bcrypt entries, as `htpasswd -B` or `berth user add --htpasswd` write them); re-read when it changes. Setting it turns authentication on.',
        expected: 'a file path',
        defaultText: 'none',
      }),
    })
    .optional(),
  token: z
    .strictObject({
      realm: setting(httpUrl, {
        kind: 'string',
        origin: 'distribution',
        description: 'External token server: the URL clients get tokens from. Setting auth.token makes Berth trust that server.',
        expected: URL_EXPECTED,
        defaultText: 'none',
      }),
      service: setting(z.string().min(1), {
        kind: 'string',
        origin: 'distribution',
        description: 'External token server: the service name tokens must carry as audience.',
        expected: 'a string',
        defaultText: 'none',
      }),
      issuer: setting(z.string().min(1), {
        kind: 'string',
        origin: 'distribution',
        description: 'External token server: the issuer tokens must carry.',
        expected: 'a string',
        defaultText: 'none',
      }),
      rootcertbundle: setting(z.string().min(1).optional(), {
        kind: 'string',
        origin: 'distribution',
        description: 'External token server: PEM certificates whose keys (or chains to which) token signatures are verified against.',
        expected: 'a file path',
        defaultText: 'none',
      }),
      jwks: setting(z.string().min(1).optional(), {
        kind: 'string',
        origin: 'distribution',
        description: 'External token server: a JSON Web Key Set file of the keys tokens are verified against.',
        expected: 'a file path',
        defaultText: 'none',
      }),
    })
    .optional(),
  ldap: ldapSection,
  clientcertificates: clientCertificatesSection,
  oidc: oidcSection,
  workloadidentity: workloadIdentitySection,
  tokenserver: section({
    enabled: setting(z.boolean().default(false), {
      kind: 'boolean',
      origin: 'berth',
      description:
        'Runs the built-in token server (Docker token specification) at /token and asks clients for Bearer tokens; users come from the database and auth.htpasswd.path.',
      expected: 'true or false',
      defaultText: 'false',
    }),
    realm: setting(httpUrl.optional(), {
      kind: 'string',
      origin: 'berth',
      description: "URL of the token endpoint that clients are sent to; by default http.host (or the request's own host) + /token.",
      expected: URL_EXPECTED,
      defaultText: 'none',
    }),
    service: setting(z.string().min(1).default('berth'), {
      kind: 'string',
      origin: 'berth',
      description: 'Service name: the audience of issued tokens.',
      expected: 'a string',
      defaultText: 'berth',
    }),
    issuer: setting(z.string().min(1).default('berth'), {
      kind: 'string',
      origin: 'berth',
      description: 'Issuer of the tokens.',
      expected: 'a string',
      defaultText: 'berth',
    }),
    expiration: duration({
      defaultText: '5m',
      minMs: 1000,
      minText: '1s',
      info: { origin: 'berth', description: 'Lifetime of an access token.' },
    }),
    refreshexpiration: duration({
      defaultText: '720h',
      minMs: 1000,
      minText: '1s',
      info: { origin: 'berth', description: 'Lifetime of a refresh token (offline_token=true, `docker login`).' },
    }),
    signingkey: setting(z.string().min(1).optional(), {
      kind: 'string',
      origin: 'berth',
      description:
        'PEM private key (EC P-256 for ES256, or RSA for RS256) that signs tokens; by default one is generated on first start and kept in the metadata database, so every replica shares it.',
      expected: 'a file path',
      defaultText: 'none',
    }),
  }),
  openaccess: setting(z.boolean().default(false), {
    kind: 'boolean',
    origin: 'berth',
    description:
      'With no authentication configured, serve every repository to anyone even though the metadata database holds users, namespace grants or private namespaces; without it Berth refuses to start then. Only with authentication off.',
    expected: 'true or false',
    defaultText: 'false',
  }),
  bcryptcost: setting(z.int().min(4).max(31).default(10), {
    kind: 'integer',
    origin: 'berth',
    description: 'bcrypt cost of passwords that Berth hashes (users created by the CLI or admin API).',
    expected: 'a whole number from 4 to 31',
    defaultText: '10',
  }),
  credentialcache: duration({
    defaultText: '1m',
    minMs: 0,
    minText: '0s',
    info: {
      origin: 'berth',
      description:
        'How long verified Basic credentials are remembered, so a password costs one bcrypt check instead of one per request; 0s checks every time.',
    },
  }),
  ratelimit: section({
    attempts: setting(z.int().min(1).default(10), {
      kind: 'integer',
      origin: 'berth',
      description:
        'Failed logins allowed per client address and user name (per address for CI workload tokens) within auth.ratelimit.window; more get 429 with Retry-After.',
      expected: 'a whole number, at least 1',
      defaultText: '10',
    }),
    window: duration({
      defaultText: '1m',
      minMs: 1,
      minText: '1ms',
      info: { origin: 'berth', description: 'The window of auth.ratelimit.attempts.' },
    }),
  }),
  access: section({
    admins: setting(z.array(z.string().min(1)).default([]), {
      kind: 'list',
      origin: 'berth',
      description: 'Users who may do everything, including the admin API. In the environment: names separated by commas.',
      expected: 'a list of user names',
      defaultText: 'none',
    }),
    rules: setting(z.array(accessRule).optional(), {
      kind: 'structured',
      origin: 'berth',
      description:
        'Glob rules granting actions per repository (see docs/security.md). Unset: every signed-in user may pull, push and delete everything, as in Distribution; set (even to []): only rules, namespace grants and admins grant access.',
      expected: 'a list of rules such as [{repository: "team/**", authenticated: [pull]}]',
      defaultText: 'none',
    }),
  }),
});

type AuthFile = z.output<typeof authSection>;

/** Checks the combinations one key alone cannot; the issues name the offending key. */
export function authIssues(auth: AuthFile): { path: string[]; message: string }[] {
  const oidc = oidcIssues(auth.oidc, auth.workloadidentity);
  if (oidc.length > 0) return oidc;
  if (auth.token !== undefined && auth.tokenserver.enabled) {
    return [{ path: ['auth', 'token'], message: 'auth.token (an external token server) and auth.tokenserver.enabled cannot both be set' }];
  }
  if (
    auth.openaccess &&
    (auth.token !== undefined ||
      auth.tokenserver.enabled ||
      auth.htpasswd !== undefined ||
      auth.ldap !== undefined ||
      auth.clientcertificates !== undefined ||
      auth.oidc.providers.length > 0 ||
      auth.workloadidentity.issuers.length > 0)
  ) {
    return [
      {
        path: ['auth', 'openaccess'],
        message:
          'auth.openaccess serves everything openly: it cannot be set together with authentication (auth.htpasswd, auth.ldap, auth.clientcertificates, auth.oidc, auth.workloadidentity, auth.token or auth.tokenserver)',
      },
    ];
  }
  if (auth.token !== undefined && auth.token.rootcertbundle === undefined && auth.token.jwks === undefined) {
    return [
      {
        path: ['auth', 'token', 'rootcertbundle'],
        message: 'auth.token needs rootcertbundle or jwks: the keys tokens are verified against',
      },
    ];
  }
  return [];
}

export function toAuthConfig(auth: AuthFile, cwd: string): AuthConfig {
  const resolve = (file: string | undefined): string | undefined => (file === undefined ? undefined : path.resolve(cwd, file));
  const mode =
    auth.token !== undefined
      ? 'external-token'
      : auth.tokenserver.enabled
        ? 'token'
        : auth.htpasswd !== undefined ||
            auth.ldap !== undefined ||
            auth.clientcertificates !== undefined ||
            auth.oidc.providers.length > 0 ||
            auth.workloadidentity.issuers.length > 0
          ? 'basic'
          : 'none';
  const server = auth.tokenserver;
  return {
    mode,
    openAccess: auth.openaccess,
    htpasswd: auth.htpasswd && { realm: auth.htpasswd.realm, path: path.resolve(cwd, auth.htpasswd.path) },
    tokenServer: {
      realm: server.realm,
      service: server.service,
      issuer: server.issuer,
      expirationMs: server.expiration,
      refreshExpirationMs: server.refreshexpiration,
      signingKey: resolve(server.signingkey),
    },
    externalToken: auth.token && {
      realm: auth.token.realm,
      service: auth.token.service,
      issuer: auth.token.issuer,
      rootCertBundle: resolve(auth.token.rootcertbundle),
      jwks: resolve(auth.token.jwks),
    },
    ldap: toLdapConfig(auth.ldap, cwd),
    clientCertificates: toClientCertificatesConfig(auth.clientcertificates),
    oidc: toOidcConfig(auth.oidc),
    workloadIdentity: toWorkloadIdentityConfig(auth.workloadidentity),
    bcryptCost: auth.bcryptcost,
    credentialCacheMs: auth.credentialcache,
    rateLimit: { attempts: auth.ratelimit.attempts, windowMs: auth.ratelimit.window },
    access: { admins: auth.access.admins, rules: auth.access.rules },
  };
}

type TlsFile = z.output<typeof tlsSection>;

export function toTlsConfig(tls: TlsFile, cwd: string): TlsConfig | undefined {
  if (tls === undefined) return undefined;
  return {
    certificate: path.resolve(cwd, tls.certificate),
    key: path.resolve(cwd, tls.key),
    clientcas: tls.clientcas.map((file) => path.resolve(cwd, file)),
    minimumtls: tls.minimumtls,
  };
}
