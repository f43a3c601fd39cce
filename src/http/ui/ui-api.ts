// The small HTTP API the web UI needs beyond /v2/ and the admin API, under /api/v1:
//   GET|POST|DELETE /session   who is signed in; sign in with a password (sets the HttpOnly,
//                              SameSite=Strict session cookie); sign out (ends the user's sessions)
//   GET /repositories          a page of the repositories the caller may pull, with tag count, last
//                              push and size, filtered by a text in the name (?q=) or a namespace
//                              (?namespace=), by name or newest push first (?sort=), ?n=, ?last=
//   GET /repository-namespaces the namespaces below one (?parent=) holding repositories the caller may pull
//   GET /tags?repository=      a repository's tags with digest, media type, size, push and pull
//                              times, by name or newest push first (?sort=), ?n=, ?last=, each
//                              marked immutable when a rule protects it and with what retention
//                              would do to it now
// Access is judged as for /v2/: the same principal (a session stands for the user as a password
// over Basic would), the same policy, so these lists hold exactly what /v2/_catalog and
// /v2/<name>/tags/list show the caller. Refusals carry no WWW-Authenticate challenge, so a browser
// never pops up its own sign-in dialog over the UI (error-hook.ts, UI_REQUEST_HEADER). The rules
// behind the tags' marks are administrators' (the admin API); a tag's marks tell who may pull it
// only how the rules judge that tag. docs/admin-api.md describes these endpoints.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AuthenticationFailed, type Principal } from '../../auth/index.js';
import { withoutBearer } from '../../auth/principal.js';
import { UiSessions, type UiSession } from '../../auth/ui-sessions.js';
import { RegistryError } from '../../errors/index.js';
import type { AccessAction } from '../../oci/index.js';
import { repositoryGlob } from '../../oci/repository-glob.js';
import type { ImmutabilityRules } from '../../registry/immutability.js';
import type { DeleteReason, Retention } from '../../registry/retention.js';
import { body, json, noContent, queryValue } from '../admin-json.js';
import { authenticateRequest, clientAddress, CSRF_HEADER, SESSION_COOKIE, sessionCookie, type HttpAuth } from '../auth-gate.js';
import { parseName } from '../context.js';
import { noteAudit, signInName } from '../request-audit.js';
import { rememberUser } from '../request-observer.js';

/** A repository on the UI's list, as the index summarises it (the answer adds its size). */
export interface RepositorySummary {
  readonly name: string;
  readonly tags: number;
  /** The most recent tag push, ISO 8601; null without tags. */
  readonly lastPush: string | null;
}

/** Which repositories a listing covers: names containing a text, or below a namespace. */
export interface RepositoryFilter {
  readonly contains?: string | undefined;
  readonly namespace?: string | undefined;
}

/** The order of a listing: by name, or the most recent push first (ties by name). */
export type ListingOrder = 'name' | 'last-push';

/** What the UI API reads from the index (metadata/repository-summaries.ts implements it). */
export interface RepositoryBrowseIndex {
  names(options: { after?: string | undefined; limit: number } & RepositoryFilter): Promise<string[]>;
  byLastPush(options: { after?: string | undefined; limit: number } & RepositoryFilter): Promise<RepositorySummary[]>;
  summaries(names: readonly string[]): Promise<RepositorySummary[]>;
  namespaces(parent: string | undefined, limit: number): Promise<string[]>;
  tags(repository: string, options: { after?: string | undefined; limit: number; order?: ListingOrder }): Promise<{ name: string }[]>;
}

/** What the list's sizes come from: the bytes linked into each repository, as usage reports and quotas count them. */
export interface RepositorySizes {
  repositoryBytes(repositories: readonly string[]): Promise<Map<string, number>>;
}

/** The rules the tags are marked by: immutability rules, and retention's policies and plan (registry/). */
export interface TagRules {
  readonly immutability: Pick<ImmutabilityRules, 'protectedAmong'>;
  readonly retention: Pick<Retention, 'policies' | 'planRepository'>;
  /** The clock retention's ages are measured by (milliseconds); Date.now by default. */
  readonly now?: () => number;
}

/** What retention would do to a tag if it ran now: the policy that judges its repository, and its verdict. */
export interface RetentionMark {
  /** The policy's id, as GET /api/v1/retention/rules lists it ("config:0" or a UUID). */
  readonly rule: string;
  readonly keeps: boolean;
  /** Why it would be untagged (empty when kept). */
  readonly reasons: readonly DeleteReason[];
}

export interface UiApiOptions {
  /** Authentication; undefined: an open registry, where everyone may read everything. */
  readonly auth: HttpAuth | undefined;
  readonly externalUrl: string | undefined;
  readonly summaries: RepositoryBrowseIndex;
  readonly sizes: RepositorySizes;
  /** Undefined: tags carry no marks (immutable false, retention null). */
  readonly tagRules?: TagRules | undefined;
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

/** Most namespaces one level of the tree lists. */
const MAX_NAMESPACES = 500;

function listingOrder(request: FastifyRequest): ListingOrder {
  const text = queryValue(request, 'sort') ?? 'name';
  if (text !== 'name' && text !== 'last-push') {
    throw new RegistryError('BAD_REQUEST', { sort: text.slice(0, 40) }, { message: 'sort must be name or last-push' });
  }
  return text;
}

/** The ?namespace= (or ?parent=) parameter: a repository name's leading components; undefined when absent or empty. */
function namespaceParameter(request: FastifyRequest, parameter: string): string | undefined {
  const text = queryValue(request, parameter)?.replace(/\/+$/, '');
  return text === undefined || text === '' ? undefined : parseName(text);
}

/**
 * Retention's verdict on each tag of the repository, or undefined when no policy judges it: the
 * first policy whose glob matches the repository, as in a run (registry/retention.ts), planned as
 * a dry run now would plan it, tags only (untaggedfor judges untagged manifests, not listed here).
 * It reads all the repository's tags once, as retention's own plan does.
 */
async function retentionVerdicts(
  rules: TagRules,
  repository: string,
): Promise<{ rule: string; untagged: Map<string, readonly DeleteReason[]> } | undefined> {
  const { policies } = await rules.retention.policies();
  const policy = policies.find((candidate) => repositoryGlob(candidate.rule.repositories).test(repository));
  if (policy === undefined) return undefined;
  const tagsOnly = { ...policy, rule: { ...policy.rule, untaggedforMs: undefined } };
  const plan = await rules.retention.planRepository(repository, tagsOnly, (rules.now ?? Date.now)());
  return { rule: policy.id, untagged: new Map(plan.deleteTags.map((tag) => [tag.tag, tag.reasons])) };
}

function sessionAnswer(session: UiSession | undefined, auth: HttpAuth | undefined): unknown {
  return {
    authEnabled: auth !== undefined,
    user: session === undefined ? null : { name: session.principal.name, admin: session.principal.admin },
    csrfToken: session?.csrfToken ?? null,
    // The OpenID Connect providers the sign-in page offers a button for (oidc-routes.ts).
    providers: auth?.oidc?.list() ?? [],
  };
}

/** A cookie of the web UI: HttpOnly, Secure under TLS or when http.host is https. */
export interface UiCookie {
  readonly name: string;
  /** "" with maxAgeSeconds 0 removes it. */
  readonly value: string;
  readonly maxAgeSeconds: number;
  readonly path?: string;
  /** Strict unless a cross-site navigation must bring it back (the OpenID Connect callback: Lax). */
  readonly sameSite?: 'Strict' | 'Lax';
}

export function setUiCookie(request: FastifyRequest, reply: FastifyReply, externalUrl: string | undefined, cookie: UiCookie): void {
  const attributes = [
    `${cookie.name}=${cookie.value}`,
    `Path=${cookie.path ?? '/'}`,
    'HttpOnly',
    `SameSite=${cookie.sameSite ?? 'Strict'}`,
    `Max-Age=${cookie.maxAgeSeconds}`,
  ];
  if (request.protocol === 'https' || externalUrl?.startsWith('https:') === true) attributes.push('Secure');
  // Fastify adds each Set-Cookie header rather than replacing the last one.
  reply.header('Set-Cookie', attributes.join('; '));
}

/** Sets the session cookie of a started session (or removes it, with "" and 0). */
export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  externalUrl: string | undefined,
  value: string,
  maxAgeSeconds: number,
): void {
  setUiCookie(request, reply, externalUrl, { name: SESSION_COOKIE, value, maxAgeSeconds });
}

export function registerUiApi(app: FastifyInstance, options: UiApiOptions): void {
  const { auth, summaries } = options;
  const setCookie = (request: FastifyRequest, reply: FastifyReply, value: string, maxAgeSeconds: number): void =>
    setSessionCookie(request, reply, options.externalUrl, value, maxAgeSeconds);

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
      if (auth?.sessions === undefined) return json(reply, 200, sessionAnswer(undefined, auth));
      const cookie = sessionCookie(request);
      const session = cookie === undefined ? undefined : await auth.sessions.resolve(cookie);
      // A cookie of an ended session is removed, so the browser stops sending it.
      if (cookie !== undefined && session === undefined) setCookie(request, reply, '', 0);
      return json(reply, 200, sessionAnswer(session, auth));
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
      return json(reply, 200, sessionAnswer(started.session, auth));
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
      const order = listingOrder(request);
      const filter: RepositoryFilter = {
        contains: queryValue(request, 'q')?.trim().toLowerCase().slice(0, 256),
        namespace: namespaceParameter(request, 'namespace'),
      };
      let after = queryValue(request, 'last');
      const visible: RepositorySummary[] = [];
      let more = false;
      // Read on until the page is full of repositories the caller may pull, as /v2/_catalog does.
      for (;;) {
        const batch =
          order === 'last-push'
            ? await summaries.byLastPush({ after, limit: limit + 1, ...filter })
            : (await summaries.names({ after, limit: limit + 1, ...filter })).map((name) => ({ name, tags: 0, lastPush: null }));
        for (const repository of batch) {
          if (!(await allows(principal, repository.name, ['pull']))) continue;
          if (visible.length === limit) {
            more = true;
            break;
          }
          visible.push(repository);
        }
        if (more || batch.length <= limit) break;
        after = batch.at(-1)?.name;
      }
      const names = visible.map((repository) => repository.name);
      const listed = order === 'last-push' ? visible : await summaries.summaries(names);
      const sizes = await options.sizes.repositoryBytes(names);
      const repositories = listed.map((repository) => ({ ...repository, size: sizes.get(repository.name) ?? 0 }));
      return json(reply, 200, { repositories, next: more ? (visible.at(-1)?.name ?? null) : null });
    },
  });
  app.route({
    method: 'GET',
    url: '/api/v1/repository-namespaces',
    handler: async (request, reply) => {
      const principal = await who(request);
      const parent = namespaceParameter(request, 'parent');
      const namespaces: string[] = [];
      // A namespace is listed when the caller may pull some repository below it.
      for (const namespace of await summaries.namespaces(parent, MAX_NAMESPACES)) {
        let after: string | undefined;
        for (;;) {
          const names = await summaries.names({ after, limit: DEFAULT_PAGE, namespace });
          let allowed = false;
          for (const name of names) if (!allowed && (await allows(principal, name, ['pull']))) allowed = true;
          if (allowed) namespaces.push(namespace);
          if (allowed || names.length < DEFAULT_PAGE) break;
          after = names.at(-1);
        }
      }
      return json(reply, 200, { parent: parent ?? null, namespaces });
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
      const limit = pageSize(request);
      const tags = await summaries.tags(name, { after: queryValue(request, 'last'), limit: limit + 1, order: listingOrder(request) });
      const more = tags.length > limit;
      if (more) tags.pop();
      const mayDelete = options.deleteEnabled && (await allows(principal, name, ['delete']));
      const rules = options.tagRules;
      const names = tags.map((tag) => tag.name);
      const immutable = new Set(rules === undefined ? [] : await rules.immutability.protectedAmong(name, names));
      const verdicts = rules === undefined ? undefined : await retentionVerdicts(rules, name);
      const marked = tags.map((tag) => {
        const untagged = verdicts?.untagged.get(tag.name);
        const retention: RetentionMark | null =
          verdicts === undefined ? null : { rule: verdicts.rule, keeps: untagged === undefined, reasons: untagged ?? [] };
        return { ...tag, immutable: immutable.has(tag.name), retention };
      });
      return json(reply, 200, { repository: name, tags: marked, next: more ? (tags.at(-1)?.name ?? null) : null, mayDelete });
    },
  });
}
