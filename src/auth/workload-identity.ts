// Workload identity: a CI job (GitHub Actions, GitLab CI, a Kubernetes service account) signs in
// with the OIDC ID token its platform gives it, as the password of Basic (`docker login -u ci -p
// <jwt>`, and so at GET /token too), so no long-lived secret lives in CI. The token is verified
// against the configured issuer (auth.workloadidentity.issuers): its signature with the issuer's
// keys (jwks_uri from its discovery document, fetched once and then cached by jose, which refetches
// on an unknown key id), the issuer, one of the accepted audiences, the expiry and the allowed
// algorithms. Its claims then meet the issuer's rules: a rule applies when every claim it names
// matches one of its globs (the repository-glob syntax: `*` within a `/`-separated part, `**`
// across, `?` one character; a list claim matches when any element does), and the principal is a
// workload (named by `sub`) holding the union of the grants of the rules that apply. A token that
// matches no rule is refused at sign-in. The access policy judges the rest (access-policy.ts).
import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { isAccessAction, type AccessAction } from '../oci/index.js';
import { AuthenticationFailed, CredentialCheckUnavailable } from './authenticator.js';
import type { BearerGrant, Principal, ScopeGrant } from './principal.js';
import { compileRepositoryGlob } from './repository-glob.js';
import type { VerifiedToken } from './token/index.js';

export type WorkloadPrincipal = Extract<Principal, { kind: 'workload' }>;

/** One rule of an issuer: when every named claim matches one of its globs, the grant applies. */
export interface WorkloadRule {
  readonly claims: Readonly<Record<string, readonly string[]>>;
  readonly grant: { readonly repositories: readonly string[]; readonly actions: readonly AccessAction[] };
}

export interface WorkloadIssuer {
  readonly issuer: string;
  readonly audience: readonly string[];
  readonly algorithms: readonly string[];
  /** Where the issuer's keys are; undefined: the jwks_uri of its discovery document. */
  readonly jwksUrl: string | undefined;
  readonly rules: readonly WorkloadRule[];
}

export interface WorkloadIdentityOptions {
  readonly issuers: readonly WorkloadIssuer[];
  /** How long fetching a discovery document or key set may take; default 5 s. */
  readonly timeoutMs?: number;
}

interface CompiledRule {
  readonly claims: readonly { readonly name: string; readonly patterns: readonly RegExp[] }[];
  readonly grants: readonly ScopeGrant[];
}

interface TrustedIssuer {
  readonly config: WorkloadIssuer;
  readonly rules: readonly CompiledRule[];
  /** The issuer's key set, once its discovery document has been read; retried after a failure. */
  keys: Promise<JWTVerifyGetKey> | undefined;
}

/** A compact JWS: three base64url parts, the first a JSON header ("eyJ" is `{"` encoded). */
const COMPACT_JWS = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const CACHE_LIMIT = 10_000;
/** Accepted clock skew between the issuer and the registry, as for other tokens. */
const CLOCK_TOLERANCE_SECONDS = 60;

export class WorkloadIdentity {
  private readonly issuers = new Map<string, TrustedIssuer>();
  private readonly verified = new Map<string, WorkloadPrincipal>();
  private readonly timeoutMs: number;

  constructor(options: WorkloadIdentityOptions) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    for (const config of options.issuers) {
      this.issuers.set(config.issuer, { config, rules: config.rules.map(compileRule), keys: undefined });
    }
  }

  /**
   * Whether a password is a signed JWT naming an issuer, which this module then judges (with a
   * clear refusal for an issuer not configured). Anything else is a password or an API token.
   */
  presentedAs(password: string): boolean {
    if (!COMPACT_JWS.test(password)) return false;
    try {
      return typeof decodeJwt(password).iss === 'string';
    } catch {
      return false;
    }
  }

  /** Whether tokens of this issuer are still trusted (a Bearer token issued for one is checked against it). */
  trusts(issuer: string): boolean {
    return this.issuers.has(issuer);
  }

  /** The workload of an ID token verified before that has not expired yet; undefined otherwise. */
  remembered(token: string): WorkloadPrincipal | undefined {
    const remembered = this.verified.get(token);
    return remembered !== undefined && remembered.expiresAt > Date.now() ? remembered : undefined;
  }

  /** The workload an ID token stands for; AuthenticationFailed with the reason otherwise. */
  async signIn(token: string): Promise<WorkloadPrincipal> {
    const remembered = this.remembered(token);
    if (remembered !== undefined) return remembered;
    const issuerName = String(decodeJwt(token).iss);
    const issuer = this.issuers.get(issuerName);
    if (issuer === undefined) {
      throw new AuthenticationFailed(
        `tokens of issuer ${JSON.stringify(issuerName.slice(0, 200))} are not accepted here (auth.workloadidentity.issuers)`,
      );
    }
    const claims = await this.verify(issuer, token);
    const grants = issuer.rules.filter((rule) => ruleApplies(rule, claims)).flatMap((rule) => rule.grants);
    const subject = String(claims.sub);
    if (grants.length === 0) {
      throw new AuthenticationFailed(`the token of ${JSON.stringify(subject.slice(0, 200))} matches no rule of issuer ${issuerName}`);
    }
    const principal: WorkloadPrincipal = { kind: 'workload', subject, issuer: issuerName, grants, expiresAt: Number(claims.exp) * 1000 };
    if (this.verified.size >= CACHE_LIMIT) this.verified.clear();
    this.verified.set(token, principal);
    return principal;
  }

  /**
   * The workload behind a Bearer token of Berth's own server issued for an ID token: its access
   * list is what the rules granted then (the ID token itself is not kept), so that list is its
   * grant now, as long as the issuer is still trusted.
   */
  fromBearer(verified: VerifiedToken, issuer: string, bearer: BearerGrant): WorkloadPrincipal {
    if (!this.trusts(issuer)) throw new AuthenticationFailed(`tokens of issuer ${issuer} are no longer accepted here`, true);
    const grants = verified.access
      .filter((entry) => entry.type === 'repository')
      .map((entry) => ({ repository: entry.name, actions: entry.actions.filter(isAccessAction) }));
    return { kind: 'workload', subject: verified.subject, issuer, grants, expiresAt: verified.expiresAt.getTime(), bearer };
  }

  private async verify(issuer: TrustedIssuer, token: string): Promise<JWTPayload> {
    const { config } = issuer;
    const keys = await this.keysOf(issuer);
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: config.issuer,
        audience: [...config.audience],
        algorithms: [...config.algorithms],
        requiredClaims: ['exp', 'sub'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      });
      return payload;
    } catch (error) {
      // A key set that could not be fetched is the issuer's outage, not a bad token.
      const unreachable = error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError);
      throw unreachable ? new CredentialCheckUnavailable(refusalOf(error, config)) : new AuthenticationFailed(refusalOf(error, config));
    }
  }

  private keysOf(issuer: TrustedIssuer): Promise<JWTVerifyGetKey> {
    if (issuer.keys === undefined) {
      const loading = this.loadKeys(issuer.config);
      issuer.keys = loading;
      // A failed discovery is tried again by the next sign-in, not remembered.
      loading.catch(() => {
        if (issuer.keys === loading) issuer.keys = undefined;
      });
    }
    return issuer.keys;
  }

  private async loadKeys(config: WorkloadIssuer): Promise<JWTVerifyGetKey> {
    const options = { timeoutDuration: this.timeoutMs };
    if (config.jwksUrl !== undefined) return createRemoteJWKSet(new URL(config.jwksUrl), options);
    const discoveryUrl = `${config.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    let document: unknown;
    try {
      const response = await fetch(discoveryUrl, { signal: AbortSignal.timeout(this.timeoutMs), redirect: 'error' });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      document = await response.json();
    } catch (error) {
      throw new CredentialCheckUnavailable(
        `cannot read the discovery document of issuer ${config.issuer} (${error instanceof Error ? error.message : String(error)}); try again later`,
      );
    }
    const { issuer, jwks_uri: jwksUri } = (typeof document === 'object' && document !== null ? document : {}) as Record<string, unknown>;
    if (issuer !== config.issuer || typeof jwksUri !== 'string' || !URL.canParse(jwksUri)) {
      throw new AuthenticationFailed(`the discovery document of issuer ${config.issuer} names another issuer or no jwks_uri`);
    }
    return createRemoteJWKSet(new URL(jwksUri), options);
  }
}

function compileRule(rule: WorkloadRule): CompiledRule {
  return {
    claims: Object.entries(rule.claims).map(([name, globs]) => ({ name, patterns: globs.map(compileRepositoryGlob) })),
    grants: rule.grant.repositories.map((repository) => ({ repository, actions: rule.grant.actions })),
  };
}

function ruleApplies(rule: CompiledRule, claims: JWTPayload): boolean {
  return rule.claims.every(({ name, patterns }) => {
    const value = claims[name];
    const values = Array.isArray(value) ? value : [value];
    return values.some(
      (one) =>
        (typeof one === 'string' || typeof one === 'number' || typeof one === 'boolean') &&
        patterns.some((pattern) => pattern.test(String(one))),
    );
  });
}

/** What a failed verification says to the client: which check failed, never the token. */
function refusalOf(error: unknown, config: WorkloadIssuer): string {
  if (error instanceof AuthenticationFailed) return error.reason;
  if (error instanceof errors.JWTExpired) return `the token of issuer ${config.issuer} has expired`;
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return `the token's audience is not ${config.audience.join(' or ')} (auth.workloadidentity audience)`;
    return `the token's ${error.claim} claim is not acceptable: ${error.message}`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return `the token's signature algorithm is not one of ${config.algorithms.join(', ')}`;
  if (error instanceof errors.JWKSNoMatchingKey) return `no key of issuer ${config.issuer} matches the token's key id`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the token signature does not verify';
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JOSEError) {
    return `the token of issuer ${config.issuer} cannot be verified: ${error.message}`;
  }
  return `cannot fetch the keys of issuer ${config.issuer}: ${error instanceof Error ? error.message : String(error)}`;
}
