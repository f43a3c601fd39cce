// The small HTTP API the web UI needs beyond /v2/ and the admin API, under /api/v1:
//   GET|POST|DELETE /session   who is signed in; sign in with a password (sets the HttpOnly,
//                              SameSite=Strict session cookie); sign out (ends the user's sessions)
//   GET /repositories          a page of the repositories the caller may pull, with tag count and
//                              last push, filtered by a text in the name (?q=, ?n=, ?last=)
//   GET /tags?repository=      a repository's tags with digest, media type, size, push and pull times
// Access is judged as for /v2/: the same principal (a session stands for the user as a password
// over Basic would), the same policy. Refusals carry no WWW-Authenticate challenge, so a browser
// never pops up its own sign-in dialog over the UI. docs/admin-api.md describes these endpoints.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AuthenticationFailed, type Principal } from '../../auth/index.js';
import { withoutBearer } from '../../auth/principal.js';
import { UiSessions, type UiSession } from '../../auth/ui-sessions.js';
import { RegistryError } from '../../errors/index.js';
import type { AccessAction } from '../../oci/index.js';
import { body, json, noContent, queryValue } from '../admin-json.js';
import { authenticateRequest, clientAddress, CSRF_HEADER, SESSION_COOKIE, sessionCookie, type HttpAuth } from '../auth-gate.js';
import { parseName } from '../context.js';
import { noteAudit, signInName } from '../request-audit.js';
import { rememberUser } from '../request-observer.js';

/** A repository on the UI's list. */
export interface RepositorySummary {
  readonly name: string;
  readonly tags: number;
  /** The most recent tag push, ISO 8601; null without tags. */
  readonly lastPush: string | null;
}

/** What the UI API reads from the index (metadata/repository-summaries.ts implements it). */
export interface RepositoryBrowseIndex {
  names(options: { after?: string | undefined; limit: number; contains?: string | undefined }): Promise<string[]>;
  summaries(names: readonly string[]): Promise<RepositorySummary[]>;
  tags(repository: string, options: { after?: string | undefined; limit: number }): Promise<unknown[]>;
}

export interface UiApiOptions {
  /** Authentication; undefined: an open registry, where everyone may read everything. */
  readonly auth: HttpAuth | undefined;
  readonly externalUrl: string | undefined;
  readonly summaries: RepositoryBrowseIndex;
  /** storage.delete.enabled: whether tags may be deleted at all. */
  readonly deleteEnabled: boolean;
}

const signInBody = z.strictObject({ username: z.string().min(1).max(256), password: z.string().min(1).max(1024) });

/** Largest page of repositories or tags one request may ask for. */
const MAX_PAGE = 1000;
const DEFAULT_PAGE = 50;

function pageSize(request: FastifyRequest): number {
  const text = queryValue(request, 'n');
  if (text === undefined) return DEFAULT_PAGE;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) {
    throw new RegistryError('PAGINATION_NUMBER_INVALID', { n: text.slice(0, 40), max: MAX_PAGE });
  }
  return n;
}

function sessionAnswer(session: UiSession | undefined, authEnabled: boolean): unknown {
  return {
    authEnabled,
    user: session === undefined ? null : { name: session.principal.name, admin: session.principal.admin },
    csrfToken: session?.csrfToken ?? null,
  };
}

export function registerUiApi(app: FastifyInstance, options: UiApiOptions): void {
  const { auth, summaries } = options;
  const secure = (request: FastifyRequest): boolean => request.protocol === 'https' || options.externalUrl?.startsWith('https:') === true;
  const setCookie = (request: FastifyRequest, reply: FastifyReply, value: string, maxAgeSeconds: number): void => {
    const attributes = [`${SESSION_COOKIE}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAgeSeconds}`];
    if (secure(request)) attributes.push('Secure');
    reply.header('Set-Cookie', attributes.join('; '));
  };

  /** The caller; a bad Authorization header is refused as on /v2/, but without a challenge. */
  const who = async (request: FastifyRequest): Promise<Principal | undefined> => {
    if (auth === undefined) return undefined;
    try {
      return await authenticateRequest(auth, request, options.externalUrl);
    } catch (error) {
      if (error instanceof RegistryError && error.errorName === 'UNAUTHORIZED') throw new RegistryError('UNAUTHORIZED');
      throw error;
    }
  };
  const allows = async (principal: Principal | undefined, repository: string, actions: AccessAction[]): Promise<boolean> =>
    auth === undefined || principal === undefined || auth.policy.allows(withoutBearer(principal), repository, actions);

  // ---- session
  app.route({
    method: 'GET',
    url: '/api/v1/session',
    handler: async (request, reply) => {
      if (auth?.sessions === undefined) return json(reply, 200, sessionAnswer(undefined, auth !== undefined));
      const cookie = sessionCookie(request);
      const session = cookie === undefined ? undefined : await auth.sessions.resolve(cookie);
      // A cookie of an ended session is removed, so the browser stops sending it.
      if (cookie !== undefined && session === undefined) setCookie(request, reply, '', 0);
      return json(reply, 200, sessionAnswer(session, true));
    },
  });
  app.route({
    method: 'POST',
    url: '/api/v1/session',
    handler: async (request, reply) => {
      if (auth?.sessions === undefined)
        throw new RegistryError('UNSUPPORTED', { reason: 'authentication is off: there is nothing to sign in to' });
      // A custom header cannot be sent cross-site without a CORS preflight, which Berth never
      // grants: a page of another site cannot sign the browser in as someone else.
      if (request.headers[CSRF_HEADER] === undefined) {
        throw new RegistryError('DENIED', undefined, { message: 'sign-in requests must carry the X-Berth-CSRF header' });
      }
      const { username, password } = await body(request, signInBody);
      // The failed sign-in's audit entry names the user it tried (never the password).
      const tried = signInName(username);
      if (tried !== undefined) noteAudit(request, { detail: { user: tried } });
      let started: Awaited<ReturnType<UiSessions['start']>>;
      try {
        started = await auth.sessions.start(username, password, clientAddress(request));
      } catch (error) {
        if (error instanceof AuthenticationFailed) throw new RegistryError('UNAUTHORIZED', undefined, { message: error.reason });
        throw error;
      }
      // The sign-in's audit entry (login) and access log line name who signed in.
      rememberUser(request, started.session.principal);
      setCookie(request, reply, started.token, Math.floor((started.session.expiresAt - Date.now()) / 1000));
      return json(reply, 200, sessionAnswer(started.session, true));
    },
  });
  app.route({
    method: 'DELETE',
    url: '/api/v1/session',
    handler: async (request, reply) => {
      const cookie = sessionCookie(request);
      const session = cookie === undefined || auth?.sessions === undefined ? undefined : await auth.sessions.resolve(cookie);
      if (session !== undefined) {
        const header = request.headers[CSRF_HEADER];
        if (!UiSessions.csrfMatches(session, typeof header === 'string' ? header : undefined)) {
          throw new RegistryError('DENIED', undefined, { message: 'missing or wrong CSRF token (X-Berth-CSRF) for this web UI session' });
        }
        await auth?.sessions?.endAll(session.principal.name);
      }
      setCookie(request, reply, '', 0);
      return noContent(reply);
    },
  });

  // ---- browsing
  app.route({
    method: 'GET',
    url: '/api/v1/repositories',
    handler: async (request, reply) => {
      const principal = await who(request);
      const limit = pageSize(request);
      const contains = queryValue(request, 'q')?.trim().toLowerCase().slice(0, 256);
      let after = queryValue(request, 'last');
      const visible: string[] = [];
      let more = false;
      // Read on until the page is full of repositories the caller may pull, as /v2/_catalog does.
      for (;;) {
        const batch = await summaries.names({ after, limit: limit + 1, contains });
        for (const name of batch) {
          if (!(await allows(principal, name, ['pull']))) continue;
          if (visible.length === limit) {
            more = true;
            break;
          }
          visible.push(name);
        }
        if (more || batch.length <= limit) break;
        after = batch.at(-1);
      }
      const repositories = await summaries.summaries(visible);
      return json(reply, 200, { repositories, next: more ? (visible.at(-1) ?? null) : null });
    },
  });
  app.route({
    method: 'GET',
    url: '/api/v1/tags',
    handler: async (request, reply) => {
      const principal = await who(request);
      const name = parseName(queryValue(request, 'repository') ?? '');
      if (!(await allows(principal, name, ['pull']))) {
        // The same answer whether or not the repository exists.
        throw principal === undefined || principal.kind === 'anonymous'
          ? new RegistryError('UNAUTHORIZED')
          : new RegistryError('DENIED', [{ Type: 'repository', Name: name, Action: 'pull' }]);
      }
      const tags = await summaries.tags(name, { after: queryValue(request, 'last'), limit: pageSize(request) });
      const mayDelete = options.deleteEnabled && (await allows(principal, name, ['delete']));
      return json(reply, 200, { repository: name, tags, mayDelete });
    },
  });
}
