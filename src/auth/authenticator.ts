// Authentication: turns a request's Authorization header into a Principal. Basic credentials
// are checked against the htpasswd file, then database users, then API tokens, and for names
// with no local password against a directory (auth.ldap: ldap/); Bearer tokens are verified by
// the configured token verifier. A Basic password that is a signed JWT naming an
// issuer is a CI job's OIDC ID token, judged by workload-identity.ts (auth.workloadidentity).
// A token of Berth's own token server stands for the credential it was issued for (a password,
// an API token or a CI job's ID token, recorded in the token), with that credential's current
// rights: it never carries more.
//
// A password costs one bcrypt check: verified credentials are remembered for
// auth.credentialcache (by a hash of the pair salted per process, never the password itself),
// so authenticated pulls do not pay bcrypt per request; a directory sign-in is remembered for
// the directory's own time (auth.ldap.cachettl), so a pull storm is not a bind storm. What is
// remembered is re-checked against the account store at least every `recheckMs` (a cheap
// lookup, no bcrypt), so a revoked API token, a removed user or a changed password stops working
// within that time on every replica, and at once on the replica that made the change
// (forgetCredentials).
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { RegistryError } from '../errors/index.js';
import type { AccountStore, ApiTokenRecord } from '../metadata/index.js';
import { hashTokenSecret, parseApiToken, tokenSecretMatches } from './api-tokens.js';
import type { HtpasswdFile } from './htpasswd.js';
import type { LoginLimiter } from './login-limiter.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { ANONYMOUS, type BearerGrant, type Principal } from './principal.js';
import type { TokenVerifier, VerifiedToken } from './token/index.js';

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

/**
 * The service that judges the credentials (a CI job's OIDC issuer) cannot be reached now: a 401
 * that says nothing about the credentials, so it does not count against the failed-login limit.
 */
export class CredentialCheckUnavailable extends AuthenticationFailed {}

/** Told the outcome of every sign-in with credentials (the auth metrics); called synchronously, so keep it cheap. */
export interface AuthObserver {
  /** throttled: refused by the failed-login limit before the credentials were checked. */
  authenticated(method: 'basic' | 'bearer', result: 'success' | 'failure' | 'throttled'): void;
}

/**
 * Where passwords of directory users are checked (auth.ldap: ldap/). Consulted only for names
 * that are neither in the htpasswd file nor database users, and for the accounts the directory
 * itself created (their password hash is its accountMark): never for an account of another
 * origin without a password (an OpenID Connect user, say), which a directory entry of the same
 * name must not take over.
 */
export interface PasswordDirectory {
  /**
   * True when the directory accepts the password; it has then created the user's database row
   * if needed and updated the user's teams. Throws AuthenticationFailed when it cannot answer.
   */
  verify(user: string, password: string): Promise<boolean>;
  /** How long a sign-in it accepted is remembered. */
  readonly rememberMs: number;
  /** The password hash of the accounts it created. */
  readonly accountMark: string;
}

/** CI jobs' OIDC ID tokens given as the Basic password (auth.workloadidentity: workload-identity.ts). */
export interface WorkloadTokens {
  /** Whether a password is such a token (a signed JWT naming an issuer), which this then judges. */
  presentedAs(password: string): boolean;
  /** The job's principal when this token was verified before and has not expired; undefined otherwise. */
  remembered(token: string): Principal | undefined;
  /** The job's principal; AuthenticationFailed with the reason otherwise. */
  signIn(token: string): Promise<Principal>;
  /** The job behind a Bearer token of Berth's own server issued for such a token. */
  fromBearer(verified: VerifiedToken, issuer: string, bearer: BearerGrant): Principal;
}

/** How often at most a remembered sign-in or Bearer token is checked against the account store again. */
export const DEFAULT_RECHECK_MS = 2_000;

export interface AuthenticatorOptions {
  readonly accounts: AccountStore;
  readonly htpasswd: HtpasswdFile | undefined;
  /** auth.access.admins */
  readonly admins: readonly string[];
  readonly credentialCacheMs: number;
  /** How often remembered credentials are re-checked (revocation delay across replicas); default DEFAULT_RECHECK_MS. */
  readonly recheckMs?: number;
  readonly limiter: LoginLimiter;
  /** Verifies Bearer tokens; undefined when the registry does not accept them. */
  readonly tokenVerifier: TokenVerifier | undefined;
  /**
   * own: the tokens are Berth's own token server's, standing for the credential they record;
   * external: another token server's, carrying exactly their access list.
   */
  readonly tokenIssuer?: 'own' | 'external';
  /** bcrypt cost of the dummy check that hides whether a user exists. */
  readonly bcryptCost: number;
  /** Told every sign-in's outcome; undefined: nobody is. */
  readonly observer?: AuthObserver | undefined;
  /** A directory of users (LDAP); undefined: none. */
  readonly directory?: PasswordDirectory | undefined;
  /** Judges CI jobs' OIDC ID tokens given as the Basic password (auth.workloadidentity); undefined: none are. */
  readonly workloadIdentity?: WorkloadTokens | undefined;
}

type Credentials =
  | { readonly kind: 'none' }
  | { readonly kind: 'basic'; readonly user: string; readonly password: string }
  | { readonly kind: 'bearer'; readonly token: string };

/** A verified sign-in, and how to check that it still holds without bcrypt. */
interface CheckedSignIn {
  principal: UserPrincipal;
  readonly stillValid: () => Promise<UserPrincipal | undefined>;
  /** How long to remember it; undefined: auth.credentialcache. */
  readonly rememberMs?: number;
}

interface RememberedSignIn extends CheckedSignIn {
  readonly until: number;
  checkedAt: number;
}

const CACHE_LIMIT = 10_000;
/**
 * The name under which refused workload tokens are counted by the failed-login limit: a token
 * names no user, so they count by client address alone. Empty, which no password sign-in
 * reaches the limit with (an empty user name is refused first).
 */
const WORKLOAD_SIGN_IN = '';

export class Authenticator {
  private readonly admins: ReadonlySet<string>;
  private readonly recheckMs: number;
  private readonly verifiedCredentials = new Map<string, RememberedSignIn>();
  private readonly verifiedTokens = new Map<string, { principal: Principal; until: number }>();
  /** Salts the keys of remembered credentials, so the map holds nothing a password could be guessed from offline. */
  private readonly cacheSalt = randomBytes(32);
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly options: AuthenticatorOptions) {
    this.admins = new Set(options.admins);
    this.recheckMs = options.recheckMs ?? DEFAULT_RECHECK_MS;
  }

  /** Forgets remembered credentials and tokens (the htpasswd file or an account changed). */
  forgetCredentials(): void {
    this.verifiedCredentials.clear();
    this.verifiedTokens.clear();
  }

  /** The principal of a request: anonymous without credentials; AuthenticationFailed for bad ones. */
  async authenticate(authorization: string | undefined, client: string): Promise<Principal> {
    const credentials = parseAuthorization(authorization);
    switch (credentials.kind) {
      case 'none':
        return ANONYMOUS;
      case 'basic':
        return this.signInWithPassword(credentials.user, credentials.password, client);
      case 'bearer':
        return this.verifyBearer(credentials.token);
    }
  }

  /**
   * Checks a user name and password (or API token). Refused with 429 while the client is over
   * its failed-login allowance; AuthenticationFailed for a wrong password or unknown user.
   */
  async signIn(user: string, password: string, client: string): Promise<UserPrincipal> {
    try {
      const principal = await this.checkSignIn(user, password, client);
      this.options.observer?.authenticated('basic', 'success');
      return principal;
    } catch (error) {
      this.observeFailure('basic', error);
      throw error;
    }
  }

  /**
   * What a password field signs in, at Basic and at the token server's password grant: a CI
   * job's ID token when it is one (auth.workloadidentity), else a user's password or API token.
   */
  async signInWithPassword(user: string, password: string, client: string): Promise<Principal> {
    const workload = this.options.workloadIdentity;
    if (workload?.presentedAs(password)) return this.signInWorkload(workload, password, client);
    return this.signIn(user, password, client);
  }

  /**
   * A CI job's ID token as the password (workload-identity.ts); the user name is not looked at.
   * A refused token counts against the failed-login limit like a wrong password, by the client
   * address alone (WORKLOAD_SIGN_IN), unless its issuer could not be reached; a token already
   * verified is not held up by it.
   */
  private async signInWorkload(workload: WorkloadTokens, token: string, client: string): Promise<Principal> {
    try {
      let principal = workload.remembered(token);
      if (principal === undefined) {
        this.refuseWhileLimited(client, WORKLOAD_SIGN_IN);
        try {
          principal = await workload.signIn(token);
        } catch (error) {
          if (error instanceof AuthenticationFailed && !(error instanceof CredentialCheckUnavailable)) {
            this.options.limiter.recordFailure(client, WORKLOAD_SIGN_IN);
          }
          throw error;
        }
      }
      this.options.observer?.authenticated('basic', 'success');
      return principal;
    } catch (error) {
      this.observeFailure('basic', error);
      throw error;
    }
  }

  /** 429 with Retry-After while the client is over its failed-login allowance for that name. */
  private refuseWhileLimited(client: string, user: string): void {
    const retryAfter = this.options.limiter.retryAfterSeconds(client, user);
    if (retryAfter > 0) {
      throw new RegistryError(
        'TOO_MANY_REQUESTS',
        { reason: 'too many failed sign-ins' },
        { headers: { 'Retry-After': String(retryAfter) } },
      );
    }
  }

  /** Reports a failed sign-in: wrong credentials, or the failed-login limit (other errors are no outcome). */
  private observeFailure(method: 'basic' | 'bearer', error: unknown): void {
    if (error instanceof AuthenticationFailed) this.options.observer?.authenticated(method, 'failure');
    else if (error instanceof RegistryError && error.errorName === 'TOO_MANY_REQUESTS')
      this.options.observer?.authenticated(method, 'throttled');
  }

  private async checkSignIn(user: string, password: string, client: string): Promise<UserPrincipal> {
    // As registry:2 answers `-u :`: empty credentials are no credentials.
    if (user === '') throw new AuthenticationFailed('authentication required');
    // A changed htpasswd file clears what is remembered before it is used (checked at most
    // once a second).
    await this.options.htpasswd?.refresh();
    const cacheKey = createHmac('sha256', this.cacheSalt).update(user).update('\0').update(password).digest('hex');
    const remembered = this.verifiedCredentials.get(cacheKey);
    if (remembered !== undefined) {
      const principal = await this.stillValid(remembered, Date.now());
      if (principal !== undefined) return principal;
      this.verifiedCredentials.delete(cacheKey);
    }

    this.refuseWhileLimited(client, user);
    const checked = await this.checkCredentials(user, password);
    if (checked === undefined) {
      this.options.limiter.recordFailure(client, user);
      throw new AuthenticationFailed('invalid username or password');
    }
    this.options.limiter.recordSuccess(client, user);
    const rememberMs = checked.rememberMs ?? this.options.credentialCacheMs;
    if (rememberMs > 0) {
      if (this.verifiedCredentials.size >= CACHE_LIMIT) this.verifiedCredentials.clear();
      const now = Date.now();
      this.verifiedCredentials.set(cacheKey, { ...checked, until: now + rememberMs, checkedAt: now });
    }
    return checked.principal;
  }

  /** The remembered principal, re-checked against the store when the last check is older than recheckMs. */
  private async stillValid(remembered: RememberedSignIn, now: number): Promise<UserPrincipal | undefined> {
    if (remembered.until <= now) return undefined;
    if (now - remembered.checkedAt < this.recheckMs) return remembered.principal;
    const current = await remembered.stillValid();
    if (current === undefined) return undefined;
    remembered.principal = current;
    remembered.checkedAt = now;
    return current;
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

  /** Whether a user of that name exists, in the htpasswd file or the database. */
  async userExists(name: string): Promise<boolean> {
    return (await this.currentPasswordHash(name)) !== undefined;
  }

  /**
   * A fingerprint of the user's current password hash: refresh tokens and access tokens carry
   * it, so changing a password revokes them. Undefined when the user does not exist.
   */
  async passwordFingerprint(name: string): Promise<string | undefined> {
    const hash = await this.currentPasswordHash(name);
    return hash === undefined ? undefined : createHash('sha256').update(hash).digest('base64url').slice(0, 16);
  }

  private async currentPasswordHash(user: string): Promise<string | undefined> {
    return (await this.options.htpasswd?.lookup(user)) ?? (await this.options.accounts.getUser(user))?.passwordHash;
  }

  private async checkCredentials(user: string, password: string): Promise<CheckedSignIn | undefined> {
    const apiToken = parseApiToken(password);
    if (apiToken !== undefined) {
      const stillValid = (): Promise<UserPrincipal | undefined> => this.checkApiToken(user, apiToken.id, apiToken.secret);
      const principal = await stillValid();
      return principal === undefined ? undefined : { principal, stillValid };
    }
    const hash = await this.currentPasswordHash(user);
    const directory = this.options.directory;
    if (directory !== undefined && (hash === undefined || hash === directory.accountMark)) {
      if (!(await directory.verify(user, password))) return undefined;
      const signIn = await this.signInWhileHashIs(user, await this.currentPasswordHash(user));
      return signIn && { ...signIn, rememberMs: directory.rememberMs };
    }
    if (hash === undefined) {
      // The same bcrypt work as for a real user, so the answer time does not reveal who exists.
      this.dummyHash ??= hashPassword('berth-no-such-user', this.options.bcryptCost);
      await verifyPassword(password, await this.dummyHash);
      return undefined;
    }
    if (!(await verifyPassword(password, hash))) return undefined;
    return this.signInWhileHashIs(user, hash);
  }

  /** A sign-in that stays valid while the user exists with the same password hash. */
  private async signInWhileHashIs(user: string, hash: string | undefined): Promise<CheckedSignIn | undefined> {
    const stillValid = async (): Promise<UserPrincipal | undefined> =>
      (await this.currentPasswordHash(user)) === hash ? this.userPrincipal(user) : undefined;
    const principal = await stillValid();
    return principal === undefined ? undefined : { principal, stillValid };
  }

  private async checkApiToken(user: string, id: string, secret: string): Promise<UserPrincipal | undefined> {
    const record = await this.options.accounts.getApiToken(id);
    // Hash even when there is no such token, so timing does not tell ids apart.
    const matches = tokenSecretMatches(secret, record?.secretHash ?? hashTokenSecret(''));
    if (record === undefined || !matches) return undefined;
    return this.apiTokenOwner(record, user);
  }

  /** The owner of a live API token, narrowed to its scopes; undefined when expired, orphaned or not the owner's. */
  private async apiTokenOwner(token: ApiTokenRecord | undefined, owner: string): Promise<UserPrincipal | undefined> {
    if (token === undefined || token.owner !== owner) return undefined;
    if (token.expiresAt !== undefined && Date.parse(token.expiresAt) <= Date.now()) return undefined;
    const principal = await this.userPrincipal(owner);
    if (principal === undefined) return undefined;
    // When it was last used, for `berth token list`: best effort, once per re-check.
    void this.options.accounts.touchApiToken(token.id).catch(() => undefined);
    return { ...principal, apiToken: { id: token.id, scope: token.scopes } };
  }

  private async verifyBearer(token: string): Promise<Principal> {
    try {
      const principal = await this.checkBearer(token);
      this.options.observer?.authenticated('bearer', 'success');
      return principal;
    } catch (error) {
      this.observeFailure('bearer', error);
      throw error;
    }
  }

  private async checkBearer(token: string): Promise<Principal> {
    const verifier = this.options.tokenVerifier;
    if (verifier === undefined) throw new AuthenticationFailed('Bearer tokens are not accepted here; use Basic credentials');
    const now = Date.now();
    const cached = this.verifiedTokens.get(token);
    if (cached !== undefined && cached.until > now) return cached.principal;
    let verified: VerifiedToken;
    try {
      verified = await verifier.verify(token);
    } catch (error) {
      throw new AuthenticationFailed(error instanceof Error ? error.message : 'invalid token', true);
    }
    const principal =
      this.options.tokenIssuer === 'own'
        ? await this.credentialBehind(verified)
        : { kind: 'token' as const, subject: verified.subject, access: verified.access };
    // Trusted until it expires or its credential is due for a re-check.
    if (this.verifiedTokens.size >= CACHE_LIMIT) this.verifiedTokens.clear();
    this.verifiedTokens.set(token, { principal, until: Math.min(verified.expiresAt.getTime(), now + this.recheckMs) });
    return principal;
  }

  /**
   * A token of Berth's own server as the credential it was issued for, with that credential's
   * current standing: the password unchanged, the API token not revoked or expired, the user
   * still there. The token's access list narrows it further.
   */
  private async credentialBehind(verified: VerifiedToken): Promise<Principal> {
    const bearer = { access: verified.access };
    if (verified.subject === '') return { kind: 'anonymous', bearer };
    const credential = verified.credential;
    const revoked = (reason: string): AuthenticationFailed => new AuthenticationFailed(reason, true);
    if (credential === undefined) throw revoked('token does not record the credential it was issued for; fetch a new one');
    if (credential.kind === 'workload') {
      if (this.options.workloadIdentity === undefined) throw revoked('CI workload tokens are no longer accepted here');
      return this.options.workloadIdentity.fromBearer(verified, credential.issuer, bearer);
    }
    if (credential.kind === 'api-token') {
      const owner = await this.apiTokenOwner(await this.options.accounts.getApiToken(credential.id), verified.subject);
      if (owner === undefined) throw revoked('the API token this token was issued for is revoked or expired');
      return { ...owner, bearer };
    }
    const user = await this.userPrincipal(verified.subject);
    if (user === undefined || (await this.passwordFingerprint(verified.subject)) !== credential.binding) {
      throw revoked('the password this token was issued for has changed');
    }
    return { ...user, bearer };
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
    // An empty user name and password is what podman, skopeo and buildah (containers/image)
    // send to a Basic challenge when they have no credentials: they are anonymous, so anonymous
    // pulls of what anyone may read work with them as with clients that send nothing.
    if (decoded === ':') return { kind: 'none' };
    if (colon >= 0) return { kind: 'basic', user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  throw new AuthenticationFailed('malformed Authorization header');
}
