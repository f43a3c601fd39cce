// What the HTTP layer tells the outside about each request it served, and the names it uses:
// the RequestObserver (the composition root counts requests with it for /metrics), the route
// label every request gets (a route table name, never a repository name or a digest), and the
// signed-in user remembered for the access log. http knows nothing of Prometheus: it calls
// requestFinished() once per request and the observer keeps its numbers as it likes.
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../auth/index.js';

export interface RequestObserver {
  /**
   * Called once for every request, when its response has finished or the client went away.
   * Positional arguments, so the hot path allocates nothing for the call.
   * @param route a bounded name: a route table name (routes.ts) or one of NON_V2_ROUTES
   * @param method the request method as Node parsed it
   * @param seconds from the request's arrival to the end of its response
   * @param bytesIn body bytes received
   * @param bytesOut body bytes of a response that finished (its Content-Length)
   */
  requestFinished(route: string, method: string, status: number, seconds: number, bytesIn: number, bytesOut: number): void;
}

/** Route labels of what is not in the /v2/ route table. */
export const NON_V2_ROUTES = ['token', 'admin', 'health', 'metrics', 'other'] as const;

/** What Fastify keeps on each request for us: set while handling, read when the request ends. */
declare module 'fastify' {
  interface FastifyRequest {
    /** The route table's name for a /v2/ request, once the table matched it; null otherwise. */
    berthRoute: string | null;
    /** Who made the request, once their credentials were checked (for the access log); null: nobody signed in. */
    berthUser: string | null;
  }
}

/** The route label of a request: the route table's name, else by the path's first segment. */
export function routeLabel(request: FastifyRequest): string {
  const route = request.berthRoute;
  if (route !== null) return route;
  const url = request.url;
  if (url.startsWith('/token')) return 'token';
  if (url.startsWith('/api/')) return 'admin';
  if (url.startsWith('/healthz') || url.startsWith('/readyz')) return 'health';
  if (url.startsWith('/metrics')) return 'metrics';
  return 'other';
}

/** Remembers who is calling, for the access log: a user's name, an external token's subject, else nobody. */
export function rememberUser(request: FastifyRequest, principal: Principal): void {
  if (principal.kind === 'user') request.berthUser = principal.name;
  else if (principal.kind === 'token' && principal.subject !== '') request.berthUser = principal.subject;
  else if (principal.kind === 'workload') request.berthUser = `workload:${principal.subject}`;
}
