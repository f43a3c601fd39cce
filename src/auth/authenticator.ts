// Authentication: turns a request's Authorization header into a Principal. Basic credentials
// are checked against the htpasswd file, then database users, then API tokens; Bearer tokens are
// verified by the configured token verifier. A password costs one bcrypt check: verified
// credentials are remembered for auth.credentialcache (by a hash of the pair, never the
// password itself), so authenticated pulls do not pay bcrypt per request.
import { createHash } from 'node:crypto';
import { RegistryError } from '../errors/index.js';
import type { AccountStore } from '../metadata/index.js';
import { hashTokenSecret, parseApiToken, tokenSecretMatches } from './api-tokens.js';
import type { HtpasswdFile } from './htpasswd.js';
import type { LoginLimiter } from './login-limiter.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { ANONYMOUS, type Principal } from './principal.js';
import type { TokenVerifier } from './token/index.js';

export type UserPrincipal = Extract<Principal, { kind: 'user' }>;

/** Credentials were presented and are wrong (or expired, or malformed). */
export class AuthenticationFailed extends Error {
  override readonly name = 'AuthenticationFailed';
  constructor(
    readonly reason: string,
    /** True for a Bearer token that failed (the client should fetch a new one). */
    readonly bearer = false,
  ) {
    super(reason);
  }
}

export interface AuthenticatorOptions {
  readonly accounts: AccountStore;
  readonly htpasswd: HtpasswdFile | undefined;
  /** auth.access.admins */
  readonly admins: readonly string[];
  readonly credentialCacheMs: number;
  readonly limiter: LoginLimiter;
  /** Verifies Bearer tokens; undefined when the registry does not accept them. */
  readonly tokenVerifier: TokenVerifier | undefined;
  /** bcrypt cost of the dummy check that hides whether a user exists. */
  readonly bcryptCost: number;
}

type Credentials =
  | { readonly kind: 'none' }
  | { readonly kind: 'basic'; readonly user: string; readonly password: string }
  | { readonly kind: 'bearer'; readonly token: string };

const CACHE_LIMIT = 10_000;

export class Authenticator {
  private readonly admins: ReadonlySet<string>;
  private readonly verifiedCredentials = new Map<string, { principal: UserPrincipal; until: number }>();
  private readonly verifiedTokens = new Map<string, { principal: Principal; until: number }>();
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly options: AuthenticatorOptions) {
    this.admins = new Set(options.admins);
  }

  /** Forgets remembered credentials (the htpasswd file changed, a password was reset). */
  forgetCredentials(): void {
    this.verifiedCredentials.clear();
  }

  /** The principal of a request: anonymous without credentials; AuthenticationFailed for bad ones. */
  async authenticate(authorization: string | undefined, client: string): Promise<Principal> {
    const credentials = parseAuthorization(authorization);
    switch (credentials.kind) {
      case 'none':
        return ANONYMOUS;
      case 'basic':
        return this.signIn(credentials.user, credentials.password, client);
      case 'bearer':
        return this.verifyBearer(credentials.token);
    }
  }

  /**
   * Checks a user name and password (or API token). Refused with 429 while the client is over
   * its failed-login allowance; AuthenticationFailed for a wrong password or unknown user.
   */
  async signIn(user: string, password: string, client: string): Promise<UserPrincipal> {
    const cacheKey = createHash('sha256').update(user).update('\0').update(password).digest('hex');
    const now = Date.now();
    const cached = this.verifiedCredentials.get(cacheKey);
    if (cached !== undefined && cached.until > now) return cached.principal;

    const retryAfter = this.options.limiter.retryAfterSeconds(client, user);
    if (retryAfter > 0) {
      throw new RegistryError('TOO_MANY_REQUESTS', { reason: 'too many failed sign-ins' }, { headers: { 'Retry-After': String(retryAfter) } });
    }
    const principal = await this.checkCredentials(user, password);
    if (principal === undefined) {
      this.options.limiter.recordFailure(client, user);
      throw new AuthenticationFailed('invalid username or password');
    }
    this.options.limiter.recordSuccess(client, user);
    if (this.options.credentialCacheMs > 0) {
      if (this.verifiedCredentials.size >= CACHE_LIMIT) this.verifiedCredentials.clear();
      this.verifiedCredentials.set(cacheKey, { principal, until: now + this.options.credentialCacheMs });
    }
    return principal;
  }

  /** The principal of a known user (a token's subject), or undefined when the user is gone. */
  async userPrincipal(name: string): Promise<UserPrincipal | undefined> {
    const inFile = this.options.htpasswd !== undefined && (await this.options.htpasswd.lookup(name)) !== undefined;
    const record = inFile ? undefined : await this.options.accounts.getUser(name);
    if (!inFile && record === undefined) return undefined;
    return {
      kind: 'user',
      name,
      admin: this.admins.has(name) || record?.admin === true,
      teams: await this.options.accounts.teamsOf(name),
    };
  }

  /**
   * A fingerprint of the user's current password hash: refresh tokens carry it, so changing a
   * password revokes them. Undefined when the user does not exist.
   */
  async passwordFingerprint(name: string): Promise<string | undefined> {
    const hash = (await this.options.htpasswd?.lookup(name)) ?? (await this.options.accounts.getUser(name))?.passwordHash;
    return hash === undefined ? undefined : createHash('sha256').update(hash).digest('base64url').slice(0, 16);
  }

  private async checkCredentials(user: string, password: string): Promise<UserPrincipal | undefined> {
    const apiToken = parseApiToken(password);
    if (apiToken !== undefined) return this.checkApiToken(user, apiToken.id, apiToken.secret);
    const hash = (await this.options.htpasswd?.lookup(user)) ?? (await this.options.accounts.getUser(user))?.passwordHash;
    if (hash === undefined) {
      // The same bcrypt work as for a real user, so the answer time does not reveal who exists.
      this.dummyHash ??= hashPassword('berth-no-such-user', this.options.bcryptCost);
      await verifyPassword(password, await this.dummyHash);
      return undefined;
    }
    if (!(await verifyPassword(password, hash))) return undefined;
    return this.userPrincipal(user);
  }

  private async checkApiToken(user: string, id: string, secret: string): Promise<UserPrincipal | undefined> {
    const record = await this.options.accounts.getApiToken(id);
    // Hash even when there is no such token, so timing does not tell ids apart.
    const matches = tokenSecretMatches(secret, record?.secretHash ?? hashTokenSecret(''));
    if (record === undefined || !matches || record.owner !== user) return undefined;
    if (record.expiresAt !== undefined && Date.parse(record.expiresAt) <= Date.now()) return undefined;
    const owner = await this.userPrincipal(record.owner);
    if (owner === undefined) return undefined;
    // When it was last used, for `berth token list`: best effort, once per cache period.
    void this.options.accounts.touchApiToken(id).catch(() => undefined);
    return { ...owner, tokenScope: record.scopes };
  }

  private async verifyBearer(token: string): Promise<Principal> {
    const verifier = this.options.tokenVerifier;
    if (verifier === undefined) throw new AuthenticationFailed('Bearer tokens are not accepted here; use Basic credentials');
    const now = Date.now();
    const cached = this.verifiedTokens.get(token);
    if (cached !== undefined && cached.until > now) return cached.principal;
    let principal: Principal;
    try {
      const verified = await verifier.verify(token);
      principal = { kind: 'token', subject: verified.subject, access: verified.access };
      // Verified once, trusted until it expires (at most a minute: then it is checked again).
      if (this.verifiedTokens.size >= CACHE_LIMIT) this.verifiedTokens.clear();
      this.verifiedTokens.set(token, { principal, until: Math.min(verified.expiresAt.getTime(), now + 60_000) });
    } catch (error) {
      throw new AuthenticationFailed(error instanceof Error ? error.message : 'invalid token', true);
    }
    return principal;
  }
}

/** Splits an Authorization header; a malformed one is a failed authentication, not anonymous. */
export function parseAuthorization(header: string | undefined): Credentials {
  if (header === undefined || header.trim() === '') return { kind: 'none' };
  const space = header.indexOf(' ');
  const scheme = (space === -1 ? header : header.slice(0, space)).toLowerCase();
  const value = space === -1 ? '' : header.slice(space + 1).trim();
  if (scheme === 'bearer' && value !== '') return { kind: 'bearer', token: value };
  if (scheme === 'basic' && value !== '') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { kind: 'basic', user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  throw new AuthenticationFailed('malformed Authorization header');
}
