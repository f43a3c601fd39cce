// What the HTTP layer tells the audit log about a finished request (src/events/audit-log.ts
// implements RequestAuditor; the composition root wires it): every write to /v2/ and to the
// admin API, every denied request (403, and 401 to a request that carried credentials), every
// sign-in at /token, and pulls when the auditor samples them. Only names and addresses leave
// here: never a header's value, a body or a query (a password or a token cannot reach the log).
import type { FastifyRequest } from 'fastify';

export interface AuditedRequest {
  /** What was done: a /v2/ route's name and the method (manifest.put, blob.delete, ...), 'login', or 'admin'. */
  readonly action: string;
  readonly method: string;
  /** The path without its query. */
  readonly path: string;
  readonly repository: string | undefined;
  readonly status: number;
  readonly outcome: 'success' | 'denied' | 'failed';
  readonly actor: string | undefined;
  readonly address: string;
  readonly userAgent: string | undefined;
  readonly requestId: string;
}

export interface RequestAuditor {
  /** Whether a pull (GET of a manifest or blob) is recorded this time (sampling). */
  samplePull(): boolean;
  record(request: AuditedRequest): void;
}

const WRITE_METHODS = new Set(['PUT', 'POST', 'PATCH', 'DELETE']);
const PULL_ROUTES = new Set(['manifest', 'blob']);
const REPOSITORY_IN_PATH = /^\/v2\/(.+?)\/(?:manifests|blobs|tags|referrers)(?:\/|$)/;

/** Hands the auditor a finished request when it is one the audit log keeps. */
export function auditRequest(auditor: RequestAuditor, request: FastifyRequest, route: string, status: number): void {
  const method = request.method;
  const queryStart = request.url.indexOf('?');
  const path = queryStart === -1 ? request.url : request.url.slice(0, queryStart);
  const credentials = request.headers.authorization !== undefined;
  const denied = status === 403 || (status === 401 && credentials);
  let action: string;
  if (route === 'token') {
    // A sign-in: the token endpoint with credentials (an anonymous token is not one).
    if (!credentials && status < 400) return;
    action = 'login';
  } else if (route === 'admin') {
    if (!WRITE_METHODS.has(method) && !denied) return;
    action = 'admin';
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
  const outcome = denied ? 'denied' : status >= 400 ? 'failed' : 'success';
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
  });
}
