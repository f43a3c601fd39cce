// The gate every registry API request passes when authentication is on: who is calling
// (Authorization header), what the route needs (routes.ts), and the answer when they may not:
// 401 with a challenge for callers without (valid) credentials, so clients can sign in or fetch
// a token; 401 insufficient_scope for a token that lacks the scope; 403 DENIED for a signed-in
// user without the right. The answer never depends on whether the repository exists.
import type { FastifyRequest } from 'fastify';
import { AuthenticationFailed, type AccessPolicy, type Authenticator, type Principal, type TokenService } from '../auth/index.js';
import { withoutBearer } from '../auth/principal.js';
import type { ResourceAccess } from '../auth/token/index.js';
import type { AccountAdmin } from '../auth/account-admin.js';
import type { ClientCertificateSignIn } from '../auth/client-certificates.js';
import { RegistryError } from '../errors/index.js';
import { UiSessions } from '../auth/ui-sessions.js';
import type { OidcSignIn } from '../auth/oidc/oidc-sign-in.js';
import type { AccessAction, RepositoryName } from '../oci/index.js';
import type { RequestAccess } from './context.js';
import { rememberUser } from './request-observer.js';
import type { Method, Route } from './routes.js';

export interface HttpAuth {
  /** basic: Basic challenges; token: Berth's token server; external-token: another token server. */
  readonly mode: 'basic' | 'token' | 'external-token';
  readonly authenticator: Authenticator;
  readonly policy: AccessPolicy;
  /** Realm of Basic challenges (auth.htpasswd.realm). */
  readonly basicRealm: string;
  /** Token realm URL; undefined: this registry's own /token under the request's host. */
  readonly tokenRealm: string | undefined;
  readonly service: string;
  /** Present in token mode: serves /token. */
  readonly tokens: TokenService | undefined;
  /** The account use cases behind the admin API. */
  readonly admin: AccountAdmin;
  /** Web UI sessions (cookie sign-in); undefined: the UI cannot sign in. */
  readonly sessions?: UiSessions | undefined;
  /** OpenID Connect sign-in for the web UI (auth.oidc.providers); undefined: none configured. */
  readonly oidc?: OidcSignIn | undefined;
  /** Verified client certificates as sign-ins (auth.clientcertificates); undefined: they are none. */
  readonly clientCertificates?: ClientCertificateSignIn | undefined;
}

/** The cookie carrying a web UI session (ui/ui-api.ts sets it). */
export const SESSION_COOKIE = 'berth_session';
/** The header carrying a web UI session's CSRF token on state-changing requests. */
export const CSRF_HEADER = 'x-berth-csrf';

/** The value of the session cookie, if the request carries one. */
export function sessionCookie(request: FastifyRequest): string | undefined {
  return cookieValue(request, SESSION_COOKIE);
}

/** The value of a cookie the request carries, if it carries it. */
export function cookieValue(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator !== -1 && part.slice(0, separator).trim() === name) return part.slice(separator + 1).trim();
  }
  return undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The principal of a web UI session cookie, when the request has one and no Authorization
 * header (credentials sent explicitly win). A state-changing request must carry the session's
 * CSRF token in the X-Berth-CSRF header: another site can make the browser send the cookie, but
 * cannot read the token. An expired or ended session counts as no credentials (anonymous).
 */
async function sessionPrincipal(auth: HttpAuth, request: FastifyRequest): Promise<Principal | undefined> {
  if (auth.sessions === undefined || request.headers.authorization !== undefined) return undefined;
  const cookie = sessionCookie(request);
  if (cookie === undefined) return undefined;
  const session = await auth.sessions.resolve(cookie);
  if (session === undefined) return undefined;
  if (!SAFE_METHODS.has(request.method)) {
    const header = request.headers[CSRF_HEADER];
    if (!UiSessions.csrfMatches(session, typeof header === 'string' ? header : undefined)) {
      throw new RegistryError('DENIED', undefined, { message: 'missing or wrong CSRF token (X-Berth-CSRF) for this web UI session' });
    }
  }
  return session.principal;
}

/**
 * The user a verified client certificate names, for a request without an Authorization header.
 * A browser holding a certificate presents it on requests other sites make it send, as it sends
 * cookies: a state-changing request a browser marks as coming from another site
 * (Sec-Fetch-Site: cross-site or same-site) is not signed in by the certificate, so it cannot be
 * forged that way. Container clients send no Sec-Fetch-Site.
 */
async function certificatePrincipal(auth: HttpAuth, request: FastifyRequest): Promise<Principal | undefined> {
  if (auth.clientCertificates === undefined || request.headers.authorization !== undefined) return undefined;
  const site = request.headers['sec-fetch-site'];
  const changes = request.method !== 'GET' && request.method !== 'HEAD';
  if (changes && (site === 'cross-site' || site === 'same-site')) return undefined;
  return auth.clientCertificates.principalOf(request.raw.socket);
}

/** The requesting client's address, the key of login rate limits. */
export function clientAddress(request: FastifyRequest): string {
  return request.socket.remoteAddress ?? 'unknown';
}

/** The principal of a request, or a 401 with the challenge when its credentials are bad. */
export async function authenticateRequest(auth: HttpAuth, request: FastifyRequest, externalUrl: string | undefined): Promise<Principal> {
  try {
    const principal =
      (await sessionPrincipal(auth, request)) ??
      (await certificatePrincipal(auth, request)) ??
      (await auth.authenticator.authenticate(request.headers.authorization, clientAddress(request)));
    rememberUser(request, principal);
    return principal;
  } catch (error) {
    if (!(error instanceof AuthenticationFailed)) throw error;
    throw unauthorized(auth, request, externalUrl, { ...(error.bearer ? { error: 'invalid_token' } : {}), reason: error.reason });
  }
}

/**
 * Who is calling the admin API. AccountAdmin decides what each kind of credential may do there:
 * only a password over Basic manages accounts; API tokens and Bearer tokens may ask who they are.
 */
export async function adminPrincipal(auth: HttpAuth, request: FastifyRequest, externalUrl: string | undefined): Promise<Principal> {
  return authenticateRequest(auth, request, externalUrl);
}

/** The access list of the Bearer token the request carried, if it carried one. */
function bearerAccess(principal: Principal): readonly ResourceAccess[] | undefined {
  return principal.kind === 'token' ? principal.access : principal.bearer?.access;
}

/** The challenge of a 401 without a scope (admin API, /v2/). */
export function plainChallenge(auth: HttpAuth, request: FastifyRequest, externalUrl: string | undefined): string {
  return unauthorized(auth, request, externalUrl).headers['WWW-Authenticate'] ?? '';
}

/**
 * Checks the request against the route's access requirement and returns what the handler may
 * ask later. `name` is the validated repository name for repository routes.
 */
export async function authorize(
  auth: HttpAuth,
  request: FastifyRequest,
  route: Route,
  name: RepositoryName | undefined,
  externalUrl: string | undefined,
): Promise<RequestAccess> {
  const principal = await authenticateRequest(auth, request, externalUrl);
  const bearer = bearerAccess(principal);
  const access: RequestAccess = {
    principal,
    mayPull: (repository) => mayPullOther(auth, principal, repository),
    mayList: (repository) => mayList(auth, principal, repository),
  };
  const requirement = route.access;
  if (requirement.kind === 'catalog') {
    if (bearer !== undefined && !bearer.some((entry) => entry.type === 'registry' && entry.name === 'catalog')) {
      throw unauthorized(auth, request, externalUrl, { scope: 'registry:catalog:*', error: 'insufficient_scope' });
    }
    return access;
  }
  if (requirement.kind === 'signed-in') {
    // An anonymous token counts: clients check /v2/ with the token they were just given.
    if (principal.kind === 'anonymous' && principal.bearer === undefined) throw unauthorized(auth, request, externalUrl);
    return access;
  }
  const actions = requirement.actions[request.method as Method] ?? [];
  if (name === undefined || actions.length === 0) return access;
  if (await auth.policy.allows(principal, name, actions)) return access;
  const scope = `repository:${name}:${actions.join(',')}`;
  if (bearer !== undefined) {
    // A token that lacks the scope: the client may fetch a better one. A signed-in user's token
    // says "denied" (what podman and docker then print); an anonymous token asks for credentials.
    const signedIn = principal.kind === 'user' || principal.kind === 'workload' || (principal.kind === 'token' && principal.subject !== '');
    throw unauthorized(auth, request, externalUrl, { scope, error: 'insufficient_scope', denied: signedIn });
  }
  if (principal.kind === 'anonymous') throw unauthorized(auth, request, externalUrl, { scope });
  throw new RegistryError('DENIED', [{ Type: 'repository', Name: name, Action: actions.join(',') }]);
}

/**
 * Mount sources judge by who the caller is: a token of Berth's own server by its credential's
 * current rights (an API token's scope included), not by its access list, which names only the
 * repository of the request; a token of an external server carries only what it grants, so it
 * must name the source.
 */
async function mayPullOther(auth: HttpAuth, principal: Principal, repository: string): Promise<boolean> {
  if (principal.kind === 'token') return (await auth.policy.allowedActions(principal, repository)).has('pull');
  return auth.policy.allows(withoutBearer(principal), repository, ['pull'] satisfies AccessAction[]);
}

/**
 * The catalog lists what the caller may pull, judged as mount sources are, except that an
 * external server's catalog scope lists everything, as Distribution does.
 */
async function mayList(auth: HttpAuth, principal: Principal, repository: string): Promise<boolean> {
  if (principal.kind === 'token' && principal.access.some((entry) => entry.type === 'registry' && entry.name === 'catalog')) return true;
  return mayPullOther(auth, principal, repository);
}

/** The token endpoint's URL for challenges. */
export function tokenRealm(auth: HttpAuth, request: FastifyRequest, externalUrl: string | undefined): string {
  if (auth.tokenRealm !== undefined) return auth.tokenRealm;
  const base = externalUrl ?? `${request.protocol}://${request.host}`;
  return `${base.replace(/\/+$/, '')}/token`;
}

interface Refusal {
  /** The scope the request needs, named in the challenge. */
  readonly scope?: string;
  /** RFC 6750 error: the token was bad, or lacks the scope. */
  readonly error?: 'insufficient_scope' | 'invalid_token';
  /** The message of the error body. */
  readonly reason?: string;
  /** A signed-in user was refused (DENIED), rather than asked to sign in (UNAUTHORIZED). */
  readonly denied?: boolean;
}

function unauthorized(auth: HttpAuth, request: FastifyRequest, externalUrl: string | undefined, refusal: Refusal = {}): RegistryError {
  const { scope, error, reason, denied = false } = refusal;
  const challenge =
    auth.mode === 'basic'
      ? `Basic realm=${quote(auth.basicRealm)}, charset="UTF-8"`
      : [
          `Bearer realm=${quote(tokenRealm(auth, request, externalUrl))}`,
          `service=${quote(auth.service)}`,
          ...(scope === undefined ? [] : [`scope=${quote(scope)}`]),
          ...(error === undefined ? [] : [`error=${quote(error)}`]),
        ].join(',');
  const detail = scope === undefined ? undefined : scopeDetail(scope);
  return new RegistryError(denied ? 'INSUFFICIENT_SCOPE' : 'UNAUTHORIZED', detail, {
    headers: { 'WWW-Authenticate': challenge },
    ...(reason === undefined ? {} : { message: reason }),
  });
}

function scopeDetail(scope: string): { Type: string; Name: string; Action: string }[] {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  return [{ Type: scope.slice(0, first), Name: scope.slice(first + 1, last), Action: scope.slice(last + 1) }];
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}
