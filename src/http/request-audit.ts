// What the HTTP layer tells the audit log about a finished request (src/events/audit-log.ts
// implements RequestAuditor; the composition root wires it): every write to /v2/ and to the
// admin API, every denied request (403, and 401 to a request that carried credentials), every
// sign-in (/token, Basic credentials on /v2/, the web UI's session; a failure is `login.failed`),
// every permission change through the admin API (`permission.changed`: a route notes what changed
// with noteAudit), and pulls when the auditor samples them. Only names and addresses leave here:
// never a header's value (but the user name of Basic credentials that failed), a body or a query,
// so a password or a token cannot reach the log.
import type { FastifyRequest } from 'fastify';
import type { AuditedRequest } from '../registry/index.js';

/** What a route tells the audit log beyond the request itself; values must never be secrets. */
export interface AuditNote {
  /** The action instead of the one the route and method give (permission.changed). */
  readonly action?: string | undefined;
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface RequestAuditor {
  /** Whether a pull (GET of a manifest or blob) is recorded this time (sampling). */
  samplePull(): boolean;
  record(request: AuditedRequest): void;
}

/** Notes of requests in flight; a WeakMap, so a request that is never audited leaves nothing behind. */
const notes = new WeakMap<FastifyRequest, AuditNote>();

/** Tells the audit log more about this request (read when it ends). */
export function noteAudit(request: FastifyRequest, note: AuditNote): void {
  notes.set(request, note);
}

/** The action of a permission change (grants, team membership, a user's admin flag, a namespace's visibility). */
export const PERMISSION_CHANGED = 'permission.changed';
/** A sign-in whose credentials were wrong (or throttled: 429). */
export const LOGIN_FAILED = 'login.failed';

const WRITE_METHODS = new Set(['PUT', 'POST', 'PATCH', 'DELETE']);
const PULL_ROUTES = new Set(['manifest', 'blob']);
const REPOSITORY_IN_PATH = /^\/v2\/(.+?)\/(?:manifests|blobs|tags|referrers)(?:\/|$)/;
const SESSION_PATH = '/api/v1/session';
/** A user name as people choose them; anything else (a token pasted as the name) is not recorded. */
const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;

/** The user name of Basic credentials, when it is a plain name and not an API token. */
function basicUser(authorization: string | undefined): string | undefined {
  if (authorization === undefined || !/^basic /i.test(authorization)) return undefined;
  const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return signInName(colon === -1 ? decoded : decoded.slice(0, colon));
}

/** A sign-in's user name fit for the log: a plain name, never something shaped like a token. */
export function signInName(name: string | undefined): string | undefined {
  if (name === undefined || !PLAIN_NAME.test(name) || name.startsWith('berth_')) return undefined;
  return name;
}

/** Hands the auditor a finished request when it is one the audit log keeps. */
export function auditRequest(auditor: RequestAuditor, request: FastifyRequest, route: string, status: number): void {
  const method = request.method;
  const queryStart = request.url.indexOf('?');
  const path = queryStart === -1 ? request.url : request.url.slice(0, queryStart);
  const authorization = request.headers.authorization;
  const credentials = authorization !== undefined;
  const denied = status === 403 || (status === 401 && credentials);
  const note = notes.get(request);
  let detail = note?.detail;
  let action: string;
  if (route === 'token' || (path === SESSION_PATH && method === 'POST')) {
    // A sign-in: the token endpoint with credentials (an anonymous token is not one), or the web UI's.
    if (route === 'token' && method === 'GET' && !credentials) return;
    action = status === 401 || status === 429 ? LOGIN_FAILED : 'login';
  } else if (route === 'admin') {
    if (!WRITE_METHODS.has(method) && !denied) return;
    action = status < 400 && note?.action !== undefined ? note.action : 'admin';
  } else if (path.startsWith('/v2')) {
    // Upload chunks (PATCH) are parts of one write whose start and end are recorded.
    const write = WRITE_METHODS.has(method) && method !== 'PATCH';
    const pull = method === 'GET' && PULL_ROUTES.has(route) && status < 400 && auditor.samplePull();
    if (!write && !denied && !pull) return;
    // The route table's resource and the method: manifest.put, blob.delete, blob-upload.post, ...
    action = `${route}.${method.toLowerCase()}`;
  } else {
    if (!denied) return;
    action = route;
  }
  // Wrong Basic credentials anywhere are a failed sign-in, named by the user they tried.
  if (status === 401 && /^basic /i.test(authorization ?? '')) action = LOGIN_FAILED;
  if (action === LOGIN_FAILED && detail?.user === undefined) {
    const user = basicUser(authorization);
    if (user !== undefined) detail = { ...detail, user };
  }
  const outcome = denied || action === LOGIN_FAILED ? 'denied' : status >= 400 ? 'failed' : 'success';
  const repository = REPOSITORY_IN_PATH.exec(path)?.[1];
  auditor.record({
    action,
    method,
    path: path.length > 1000 ? path.slice(0, 1000) : path,
    repository,
    status,
    outcome,
    actor: request.berthUser ?? undefined,
    address: request.ip,
    userAgent: request.headers['user-agent'],
    requestId: request.id,
    ...(detail === undefined ? {} : { detail }),
  });
}
