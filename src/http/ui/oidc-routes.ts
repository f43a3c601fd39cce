// The web UI's OpenID Connect sign-in (auth.oidc.providers; the flow itself is
// auth/oidc/oidc-sign-in.ts):
//   GET /api/v1/session/oidc/start?provider=<name>&return=<UI path>
//       redirects the browser to the provider, with a short-lived encrypted flow cookie
//       (SameSite=Lax, so that the provider's redirect back brings it)
//   GET /api/v1/session/oidc/callback
//       checks the provider's answer against that cookie, creates or updates the person's
//       account, starts the same UI session as a password sign-in (the berth_session cookie) and
//       redirects to the UI page the sign-in began on
// Both end on the UI's sign-in page with ?error=<message> when something goes wrong: an unknown
// provider, a provider that cannot be reached, a refused consent, a state mismatch, a user name
// Berth cannot use. The sign-in page lists providers from GET /api/v1/session (ui-api.ts).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OidcSignInFailed, type OidcSignIn } from '../../auth/oidc/oidc-sign-in.js';
import type { UiSessions } from '../../auth/ui-sessions.js';
import type { Authenticator } from '../../auth/index.js';
import { queryValue } from '../admin-json.js';
import { cookieValue } from '../auth-gate.js';
import { setSessionCookie, setUiCookie } from './ui-api.js';

export interface OidcRouteOptions {
  readonly oidc: OidcSignIn;
  readonly sessions: UiSessions;
  /** Turns the user name the provider's claims map to into a principal. */
  readonly authenticator: Pick<Authenticator, 'userPrincipal'>;
  /** ui.path, without a trailing slash ("/ui"). */
  readonly uiPath: string;
  /** http.host; undefined: the request's own origin. */
  readonly externalUrl: string | undefined;
}

const FLOW_COOKIE = 'berth_oidc_flow';
const OIDC_PATH = '/api/v1/session/oidc';
const CALLBACK_PATH = `${OIDC_PATH}/callback`;

/** A UI page to come back to: a path below ui.path, nothing that could lead off the site. */
function returnPathOf(text: string | undefined, uiPath: string): string {
  const home = `${uiPath}/`;
  if (text === undefined || !text.startsWith(home) || text.includes('\\') || text.includes('//') || text.length > 2000) return home;
  return text;
}

export function registerOidcRoutes(app: FastifyInstance, options: OidcRouteOptions): void {
  const { oidc, sessions, uiPath, externalUrl } = options;
  const flowCookie = (request: FastifyRequest, reply: FastifyReply, value: string, maxAgeSeconds: number): void =>
    setUiCookie(request, reply, externalUrl, { name: FLOW_COOKIE, value, maxAgeSeconds, path: OIDC_PATH, sameSite: 'Lax' });

  /** Back to the sign-in page with the reason, and the page the person wanted. */
  const failed = (request: FastifyRequest, reply: FastifyReply, error: OidcSignInFailed): FastifyReply => {
    request.log.warn({ reason: error.message }, 'OpenID Connect sign-in failed');
    const query = new URLSearchParams({ error: error.message });
    if (error.returnPath !== undefined && error.returnPath !== `${uiPath}/`) query.set('return', error.returnPath);
    return reply.header('Cache-Control', 'no-store').redirect(`${uiPath}/sign-in?${query.toString()}`, 303);
  };

  app.route({
    method: 'GET',
    url: `${OIDC_PATH}/start`,
    handler: async (request, reply) => {
      const returnPath = returnPathOf(queryValue(request, 'return'), uiPath);
      const origin = externalUrl?.replace(/\/+$/, '') ?? `${request.protocol}://${request.host}`;
      try {
        const { authorizationUrl, flow } = await oidc.begin(queryValue(request, 'provider') ?? '', returnPath, `${origin}${CALLBACK_PATH}`);
        flowCookie(request, reply, flow, Math.ceil(oidc.flowLifetimeMs / 1000));
        return reply.header('Cache-Control', 'no-store').redirect(authorizationUrl.href, 303);
      } catch (error) {
        if (error instanceof OidcSignInFailed) return failed(request, reply, error);
        throw error;
      }
    },
  });

  app.route({
    method: 'GET',
    url: CALLBACK_PATH,
    handler: async (request, reply) => {
      const query = new URLSearchParams(request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '');
      const cookie = cookieValue(request, FLOW_COOKIE);
      // One use only: the flow cookie goes whatever the outcome.
      flowCookie(request, reply, '', 0);
      try {
        const { user, returnPath } = await oidc.complete(query, cookie);
        const principal = await options.authenticator.userPrincipal(user);
        if (principal === undefined) throw new OidcSignInFailed(`the account "${user}" could not be found after signing in`, returnPath);
        const { token, session } = await sessions.open(principal);
        setSessionCookie(request, reply, externalUrl, token, Math.floor((session.expiresAt - Date.now()) / 1000));
        request.log.info({ user }, 'signed in with OpenID Connect');
        return reply.header('Cache-Control', 'no-store').redirect(returnPath, 303);
      } catch (error) {
        if (error instanceof OidcSignInFailed) return failed(request, reply, error);
        throw error;
      }
    },
  });
}
