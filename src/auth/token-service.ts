// The built-in token server's use case (Docker registry token specification): given who the
// caller is and the scopes asked for, grant the intersection of what was asked and what the
// policy allows (a partial grant is not an error) and sign it into an access token; with
// offline access, also hand out a refresh token that later replaces the password.
import { ACCESS_ACTIONS, parseRepositoryName } from '../oci/index.js';
import type { AccessPolicy } from './access-policy.js';
import { AuthenticationFailed, type Authenticator } from './authenticator.js';
import type { Principal } from './principal.js';
import type { TokenCredential, TokenIssuer } from './token/index.js';

export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenGrant {
  readonly token: string;
  readonly expiresIn: number;
  readonly issuedAt: string;
  readonly access: readonly AccessEntry[];
  readonly refreshToken: string | undefined;
}

/**
 * Parses scope parameters ("repository:team/app:pull,push", "registry:catalog:*"); several may
 * come space-separated in one parameter (the OAuth2 form). Malformed scopes are dropped: they
 * grant nothing, and a partial grant is not an error.
 */
export function parseScopes(values: readonly string[]): AccessEntry[] {
  const out: AccessEntry[] = [];
  for (const value of values) {
    for (const scope of value.split(' ')) {
      const first = scope.indexOf(':');
      const last = scope.lastIndexOf(':');
      if (first <= 0 || last === first) continue;
      const type = scope.slice(0, first);
      const name = scope.slice(first + 1, last);
      const actions = scope
        .slice(last + 1)
        .split(',')
        .filter((action) => action !== '');
      if (name === '' || actions.length === 0) continue;
      out.push({ type, name, actions });
    }
  }
  return out;
}

export class TokenService {
  constructor(
    private readonly authenticator: Authenticator,
    private readonly policy: AccessPolicy,
    private readonly issuer: TokenIssuer,
  ) {}

  /**
   * GET /token and the password grant: anonymous without credentials. Only a password, an API
   * token or a CI job's ID token is exchanged for a token, never another Bearer token. The token records which
   * credential it was issued for, so it never carries more than that credential may do now.
   */
  async issue(principal: Principal, scopes: readonly AccessEntry[], offline: boolean): Promise<TokenGrant> {
    if (principal.kind === 'token' || principal.bearer !== undefined) {
      throw new AuthenticationFailed('sign in with a user name and password or API token');
    }
    const access = await this.grant(principal, scopes);
    let credential: TokenCredential | undefined;
    let refreshToken: string | undefined;
    if (principal.kind === 'user') {
      const fingerprint = await this.authenticator.passwordFingerprint(principal.name);
      if (fingerprint === undefined) throw new AuthenticationFailed('the user no longer exists');
      credential =
        principal.apiToken === undefined ? { kind: 'password', binding: fingerprint } : { kind: 'api-token', id: principal.apiToken.id };
      // Bound to the password: changing it revokes the user's refresh tokens. API-token sign-ins
      // get none, so a token's scope and expiry cannot be outlived.
      if (offline && principal.apiToken === undefined) refreshToken = await this.issuer.issueRefreshToken(principal.name, fingerprint);
    }
    // A CI job's token never outlives its ID token, and gets no refresh token.
    if (principal.kind === 'workload') credential = { kind: 'workload', issuer: principal.issuer };
    const notAfter = principal.kind === 'workload' ? new Date(principal.expiresAt) : undefined;
    const subject = principal.kind === 'user' ? principal.name : principal.kind === 'workload' ? principal.subject : '';
    const issued = await this.issuer.issueAccessToken({ subject, access, credential, notAfter });
    return { token: issued.token, expiresIn: issued.expiresIn, issuedAt: issued.issuedAt, access, refreshToken };
  }

  /** The refresh_token grant: a new access token for the refresh token's user, if still there. */
  async refresh(refreshToken: string, scopes: readonly AccessEntry[]): Promise<TokenGrant> {
    let verified: { subject: string; binding: string | undefined };
    try {
      verified = await this.issuer.readRefreshToken(refreshToken);
    } catch {
      throw new AuthenticationFailed('invalid refresh token');
    }
    const principal = await this.authenticator.userPrincipal(verified.subject);
    const fingerprint = await this.authenticator.passwordFingerprint(verified.subject);
    if (principal === undefined || fingerprint !== verified.binding) throw new AuthenticationFailed('invalid refresh token');
    return { ...(await this.issue(principal, scopes, false)), refreshToken };
  }

  /** What of `scopes` the principal may have. */
  async grant(principal: Principal, scopes: readonly AccessEntry[]): Promise<AccessEntry[]> {
    const granted: AccessEntry[] = [];
    for (const scope of scopes) {
      if (scope.type === 'registry' && scope.name === 'catalog') {
        // Everyone may list the catalog: it shows only what the caller may pull.
        granted.push({ type: 'registry', name: 'catalog', actions: ['*'] });
        continue;
      }
      if (scope.type !== 'repository' || !isRepositoryName(scope.name)) continue;
      const allowed = await this.policy.allowedActions(principal, scope.name);
      const wanted: readonly string[] = scope.actions.includes('*') ? ACCESS_ACTIONS : scope.actions;
      const actions: string[] = ACCESS_ACTIONS.filter((action) => wanted.includes(action) && allowed.has(action));
      if (scope.actions.includes('*') && actions.length === ACCESS_ACTIONS.length) actions.push('*');
      if (actions.length > 0) granted.push({ type: 'repository', name: scope.name, actions });
    }
    return granted;
  }
}

function isRepositoryName(name: string): boolean {
  try {
    parseRepositoryName(name);
    return true;
  } catch {
    return false;
  }
}
