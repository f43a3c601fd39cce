// Web UI sessions: a sign-in with a user name and password (the same check as Basic, with its
// failed-login limit), or through an OpenID Connect provider (oidc/), gives a short-lived token signed with a key kept in the database (so every
// replica verifies it), carried only in an HttpOnly cookie. A session stands for the same user
// principal as a password over Basic, with the user's current rights: it ends when it expires,
// when the user signs out (which ends every UI session of that user), when the password changes
// or when the user is removed, at once on the replica that made the change and within the
// re-check interval on the others. Each session has a CSRF token derived from its id, which
// the UI sends in a header with every state-changing request.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { AccountStore } from '../metadata/index.js';
import { AuthenticationFailed, type Authenticator, type UserPrincipal } from './authenticator.js';

/** The settings row holding the HMAC key of session tokens, generated once. */
export const SESSION_KEY_SETTING = 'ui-session-key';
/** Per user: sessions issued before this time (ms since the epoch) are over (sign-out). */
const ENDED_SETTING_PREFIX = 'ui-sessions-ended:';
const ISSUER = 'berth-ui';

export interface UiSession {
  readonly principal: UserPrincipal;
  /** Sent back by the UI in a header on every state-changing request. */
  readonly csrfToken: string;
  /** When the session ends, ms since the epoch. */
  readonly expiresAt: number;
}

export interface UiSessionsOptions {
  readonly authenticator: Authenticator;
  readonly accounts: Pick<AccountStore, 'getSetting' | 'setSetting' | 'setSettingIfAbsent'>;
  readonly lifetimeMs: number;
  /** How long a verified session is trusted before the user and sign-outs are checked again. */
  readonly recheckMs: number;
}

interface Remembered {
  readonly session: UiSession;
  readonly checkedAt: number;
}

const CACHE_LIMIT = 10_000;

export class UiSessions {
  #key: Uint8Array | undefined;
  readonly #verified = new Map<string, Remembered>();

  constructor(private readonly options: UiSessionsOptions) {}

  private async key(): Promise<Uint8Array> {
    if (this.#key === undefined) {
      // First writer wins, so replicas starting together share one key.
      const stored = await this.options.accounts.setSettingIfAbsent(SESSION_KEY_SETTING, randomBytes(32).toString('base64url'));
      this.#key = Buffer.from(stored, 'base64url');
    }
    return this.#key;
  }

  private async csrfTokenOf(sessionId: string): Promise<string> {
    return createHmac('sha256', await this.key())
      .update(`csrf:${sessionId}`)
      .digest('base64url');
  }

  /**
   * Checks the credentials and starts a session: the cookie value and the session. API tokens
   * are refused: they are for clients, and a session would outlive their scope checks.
   */
  async start(user: string, password: string, client: string): Promise<{ token: string; session: UiSession }> {
    const principal = await this.options.authenticator.signIn(user, password, client);
    if (principal.apiToken !== undefined) throw new AuthenticationFailed('sign in to the web UI with your password, not an API token');
    return this.open(principal);
  }

  /**
   * Starts a session for a user signed in another way (OpenID Connect: oidc/). It is bound to
   * the account's password hash (for such accounts, the mark of their origin) as a password
   * sign-in's is, so it ends in the same cases.
   */
  async open(principal: UserPrincipal): Promise<{ token: string; session: UiSession }> {
    const user = principal.name;
    const binding = (await this.options.authenticator.passwordFingerprint(user)) ?? '';
    const sessionId = randomBytes(16).toString('base64url');
    const now = Date.now();
    const expiresAt = now + this.options.lifetimeMs;
    const token = await new SignJWT({ sid: sessionId, pwd: binding, iat_ms: now })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(user)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(expiresAt / 1000))
      .sign(await this.key());
    return { token, session: { principal, csrfToken: await this.csrfTokenOf(sessionId), expiresAt } };
  }

  /** The session of a cookie value, or undefined when it is forged, expired or ended. */
  async resolve(token: string): Promise<UiSession | undefined> {
    const now = Date.now();
    const remembered = this.#verified.get(token);
    if (remembered !== undefined && now - remembered.checkedAt < this.options.recheckMs && remembered.session.expiresAt > now) {
      return remembered.session;
    }
    this.#verified.delete(token);
    const session = await this.check(token);
    if (session === undefined) return undefined;
    if (this.#verified.size >= CACHE_LIMIT) this.#verified.clear();
    this.#verified.set(token, { session, checkedAt: now });
    return session;
  }

  private async check(token: string): Promise<UiSession | undefined> {
    let claims: { sub?: string; sid?: unknown; pwd?: unknown; iat_ms?: unknown; exp?: number };
    try {
      ({ payload: claims } = await jwtVerify(token, await this.key(), { issuer: ISSUER, algorithms: ['HS256'] }));
    } catch {
      return undefined;
    }
    const { sub: user, sid, pwd, iat_ms: issuedAt, exp } = claims;
    if (typeof user !== 'string' || typeof sid !== 'string' || typeof pwd !== 'string' || typeof issuedAt !== 'number') return undefined;
    const { authenticator, accounts } = this.options;
    const principal = await authenticator.userPrincipal(user);
    if (principal === undefined || ((await authenticator.passwordFingerprint(user)) ?? '') !== pwd) return undefined;
    const ended = Number((await accounts.getSetting(`${ENDED_SETTING_PREFIX}${user}`)) ?? 0);
    if (issuedAt <= ended) return undefined;
    return { principal, csrfToken: await this.csrfTokenOf(sid), expiresAt: (exp ?? 0) * 1000 };
  }

  /** Ends every web UI session of the user (sign-out), on every replica. */
  async endAll(user: string): Promise<void> {
    await this.options.accounts.setSetting(`${ENDED_SETTING_PREFIX}${user}`, String(Date.now()));
    this.#verified.clear();
  }

  /** Forgets verified sessions (an account changed on this replica). */
  forget(): void {
    this.#verified.clear();
  }

  /** Whether a request's CSRF header matches the session's token (in constant time). */
  static csrfMatches(session: UiSession, header: string | undefined): boolean {
    if (header === undefined) return false;
    const expected = Buffer.from(session.csrfToken);
    const given = Buffer.from(header);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}
