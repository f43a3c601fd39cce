// The OpenID Connect part of auth.*: providers people sign in to the web UI with
// (auth.oidc.providers: authorization code with PKCE, claims mapped to a user name and teams) and
// the issuers whose ID tokens CI jobs present as their password (auth.workloadidentity.issuers:
// GitHub Actions, GitLab CI, Kubernetes service accounts), each with the rules that turn a
// token's claims into repository grants. An issuer must be https: its discovery document and
// keys are what every sign-in trusts. Plain http is allowed only on a loopback address (tests,
// an issuer on the same host). docs/security.md describes both methods.
import { z } from 'zod';
import { ACCESS_ACTIONS, type AccessAction } from '../oci/access.js';
import { expectedGot, section, setting } from './setting.js';

export interface OidcProviderConfig {
  /** The provider's name in URLs (?provider=) and logs. */
  name: string;
  /** What the sign-in button says: "Sign in with <displayName>". */
  displayName: string;
  issuer: string;
  clientId: string;
  /** undefined: a public client (PKCE only, no client secret). */
  clientSecret: string | undefined;
  scopes: string[];
  /** The ID token (or userinfo) claim that names the Berth user. */
  usernameClaim: string;
  /** The claim listing the person's groups; undefined: no team mapping. */
  groupsClaim: string | undefined;
  /** Group in the groups claim -> Berth team. Only these teams' memberships are managed. */
  teams: Record<string, string>;
  /** The callback URL registered at the provider; undefined: http.host (or the request's origin) + the callback path. */
  redirectUrl: string | undefined;
}

/** One rule of an issuer: when every listed claim matches, the grants apply. */
export interface WorkloadRuleConfig {
  /** Claim name -> globs; the claim's value must match one of them. */
  claims: Record<string, string[]>;
  grant: { repositories: string[]; actions: AccessAction[] };
}

export interface WorkloadIssuerConfig {
  issuer: string;
  /** Accepted `aud` values; the token must carry one of them. */
  audience: string[];
  /** JWS algorithms accepted for the token's signature. */
  algorithms: string[];
  /** The JWKS URL; undefined: the jwks_uri of the issuer's discovery document. */
  jwksUrl: string | undefined;
  rules: WorkloadRuleConfig[];
}

export interface OidcConfig {
  providers: OidcProviderConfig[];
}

export interface WorkloadIdentityConfig {
  issuers: WorkloadIssuerConfig[];
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** https anywhere; http only on a loopback host (a test issuer, one on the same machine). */
export function isTrustworthyIssuerUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

const ISSUER_EXPECTED = 'an https URL such as https://login.example.com (http only on a loopback address)';
const issuerUrl = z.string().refine(isTrustworthyIssuerUrl, { error: (issue) => expectedGot(ISSUER_EXPECTED, issue.input) });

const actionList = z
  .array(z.enum([...ACCESS_ACTIONS, '*']))
  .min(1)
  .transform((actions): AccessAction[] => (actions.includes('*') ? [...ACCESS_ACTIONS] : [...new Set(actions as AccessAction[])]));

/** A claim's accepted values: one glob or a list of them. */
const claimGlobs = z.union([
  z
    .string()
    .min(1)
    .transform((glob) => [glob]),
  z.array(z.string().min(1)).min(1),
]);

const CLIENT_ID_REQUIRED = 'is required: the client id registered for Berth at the provider';

const provider = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'a provider name is 1 to 32 of a-z, 0-9, _ and -'),
  displayname: z.string().min(1).max(64).optional(),
  issuer: issuerUrl,
  clientid: z
    .string({ error: (issue) => (issue.input === undefined ? CLIENT_ID_REQUIRED : expectedGot('a client id', issue.input)) })
    .min(1, CLIENT_ID_REQUIRED),
  clientsecret: z.string().min(1).optional(),
  scopes: z.array(z.string().min(1)).default(['openid', 'profile', 'email']),
  usernameclaim: z.string().min(1).default('preferred_username'),
  groupsclaim: z.string().min(1).optional(),
  teams: z.record(z.string().min(1), z.string().min(1)).default({}),
  redirecturl: z
    .string()
    .refine((text) => /^https?:\/\//.test(text) && URL.canParse(text), {
      error: (issue) => expectedGot('an absolute http(s) URL ending in /api/v1/session/oidc/callback', issue.input),
    })
    .optional(),
});

const workloadRule = z.strictObject({
  claims: z.record(z.string().min(1), claimGlobs).refine((claims) => Object.keys(claims).length > 0, {
    error: 'a rule needs at least one claim to match (a rule matching every token of the issuer must say so: {sub: "**"})',
  }),
  grant: z.strictObject({ repositories: z.array(z.string().min(1)).min(1), actions: actionList }),
});

const workloadIssuer = z.strictObject({
  issuer: issuerUrl,
  audience: z.union([
    z
      .string()
      .min(1)
      .transform((audience) => [audience]),
    z.array(z.string().min(1)).min(1),
  ]),
  algorithms: z
    .array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']))
    .min(1)
    .default(['RS256', 'ES256']),
  jwksurl: issuerUrl.optional(),
  rules: z.array(workloadRule).min(1, 'an issuer needs at least one rule: without one, none of its tokens grants anything'),
});

export const oidcSection = section({
  providers: setting(z.array(provider).default([]), {
    kind: 'structured',
    origin: 'berth',
    description:
      'OpenID Connect providers people sign in to the web UI with (authorization code with PKCE): name, displayname, issuer, clientid, clientsecret, scopes, usernameclaim, groupsclaim, teams (group -> team), redirecturl. See docs/security.md.',
    expected: 'a list of providers such as [{name: corp, issuer: "https://login.example.com", clientid: berth}]',
    defaultText: 'none',
  }),
});

export const workloadIdentitySection = section({
  issuers: setting(z.array(workloadIssuer).default([]), {
    kind: 'structured',
    origin: 'berth',
    description:
      "Issuers whose OIDC ID tokens CI jobs use as their password (GitHub Actions, GitLab CI, Kubernetes): issuer, audience, algorithms, jwksurl, and rules mapping the token's claims to grants. See docs/security.md.",
    expected: 'a list of issuers such as [{issuer: "https://token.actions.githubusercontent.com", audience: berth, rules: [...]}]',
    defaultText: 'none',
  }),
});

type OidcFile = z.output<typeof oidcSection>;
type WorkloadIdentityFile = z.output<typeof workloadIdentitySection>;

/** Checks one key alone cannot: unique provider names and issuers. */
export function oidcIssues(oidc: OidcFile, workload: WorkloadIdentityFile): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = [];
  const names = new Set<string>();
  for (const entry of oidc.providers) {
    if (names.has(entry.name)) issues.push({ path: ['auth', 'oidc', 'providers'], message: `provider name "${entry.name}" is used twice` });
    names.add(entry.name);
  }
  const issuers = new Set<string>();
  for (const entry of workload.issuers) {
    if (issuers.has(entry.issuer))
      issues.push({ path: ['auth', 'workloadidentity', 'issuers'], message: `issuer "${entry.issuer}" is listed twice` });
    issuers.add(entry.issuer);
  }
  return issues;
}

export function toOidcConfig(file: OidcFile): OidcConfig {
  return {
    providers: file.providers.map((entry) => ({
      name: entry.name,
      displayName: entry.displayname ?? entry.name,
      issuer: entry.issuer,
      clientId: entry.clientid,
      clientSecret: entry.clientsecret,
      scopes: entry.scopes.includes('openid') ? entry.scopes : ['openid', ...entry.scopes],
      usernameClaim: entry.usernameclaim,
      groupsClaim: entry.groupsclaim,
      teams: entry.teams,
      redirectUrl: entry.redirecturl,
    })),
  };
}

export function toWorkloadIdentityConfig(file: WorkloadIdentityFile): WorkloadIdentityConfig {
  return {
    issuers: file.issuers.map((entry) => ({
      issuer: entry.issuer,
      audience: entry.audience,
      algorithms: entry.algorithms,
      jwksUrl: entry.jwksurl,
      rules: entry.rules.map((rule) => ({ claims: rule.claims, grant: rule.grant })),
    })),
  };
}
