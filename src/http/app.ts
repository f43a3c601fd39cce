// Builds the Fastify application for the registry API. Bodies are not parsed by Fastify: blob
// handlers stream the raw request, manifest handlers read it with a size bound. Routing below
// /v2/ is done by the route table in routes.ts, because repository names contain slashes.
import { randomUUID } from 'node:crypto';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerFactory,
} from 'fastify';
import { RegistryError } from '../errors/index.js';
import type { RegistryServices } from '../registry/index.js';
import { adminPrincipal, authorize, plainChallenge, type HttpAuth } from './auth-gate.js';
import { registerAdminApi } from './admin-api.js';
import type { AdminRouter } from './admin-json.js';
import { DispatchedRequest, OPEN_ACCESS, parseName, type HttpOptions } from './context.js';
import { sendClientError, sendError } from './error-hook.js';
import { liveness, readiness } from './handlers/health.js';
import { metricsHandler, type MetricsAccess, type MetricsSource } from './handlers/metrics.js';
import { logAccess, type AccessLogOptions } from './access-log.js';
import { routeLabel, type RequestObserver } from './request-observer.js';
import { auditRequest, type RequestAuditor } from './request-audit.js';
import { bodyLimitsOf } from './body-limits.js';
import { tokenHandlers } from './handlers/token.js';
import { matchRoute } from './routes.js';
import { assertWritable, type ReadOnlyGate } from './read-only.js';
import { applyBodyLimits, type BodyLimitOptions } from './body-limits.js';
import { assertHeaderSize, guardServer } from './server-guards.js';
import { applyRateLimits, type HttpRateLimits } from './rate-limit-gate.js';
import { registerUiRoutes, type UiRouteOptions } from './ui/ui-routes.js';
import { registerUiApi, type UiApiOptions } from './ui/ui-api.js';
import { registerOidcRoutes } from './ui/oidc-routes.js';
import { RequestLogger } from './request-logger.js';

export interface HttpAppOptions extends HttpOptions {
  /** Authentication and access control; undefined: an open registry. */
  readonly auth: HttpAuth | undefined;
  /** What GET /metrics serves (Prometheus text format). */
  readonly metrics: MetricsSource;
  /** Who may read GET /metrics on this address (metrics.access); disabled: it is not served here. */
  readonly metricsAccess: MetricsAccess;
  /** Told about every request when it ends (the request metrics); undefined: nobody is. */
  readonly observer?: RequestObserver | undefined;
  /** The audit log's ear (request-audit.ts); undefined: nothing audited. */
  readonly auditor?: RequestAuditor | undefined;
  readonly logger: FastifyBaseLogger;
  /** One line per request in this format; undefined: no access log. */
  readonly accessLog: AccessLogOptions | undefined;
  /** Requests served at once before answering 429; 0 for no limit. */
  readonly maxConcurrentRequests: number;
  /** Socket inactivity after which a connection is closed. */
  readonly idleTimeoutMs: number;
  readonly headersTimeoutMs: number;
  /** Creates the listening servers (HTTPS, HTTP/2); undefined: plain HTTP/1.1 made by Fastify. */
  readonly serverFactory?: FastifyServerFactory | undefined;
  /** The request memory budget and the minimum body rate (body-limits.ts). */
  readonly bodyLimits: BodyLimitOptions;
  /** Admin route modules beyond accounts (garbage collection, lifecycle rules, ...); served only with auth. */
  readonly adminRoutes?: readonly ((router: AdminRouter) => void)[] | undefined;
  /** The web UI's files and path (ui-routes.ts) and what its API reads (ui-api.ts); undefined: no UI is served. */
  readonly ui?:
    | {
        readonly path: string;
        readonly assets: UiRouteOptions['assets'] | undefined;
        readonly api: Omit<UiApiOptions, 'auth' | 'externalUrl'>;
      }
    | undefined;
  /** Read-only mode: while active, writes to /v2/ get 405 UNSUPPORTED (read-only.ts); undefined: never. */
  readonly readOnly?: ReadOnlyGate | undefined;
  /** Request rate limits (rate-limit-gate.ts); undefined: none, and no request pays for them. */
  readonly rateLimits?: HttpRateLimits | undefined;
}

/**
 * Buffered bytes at which a request body pauses its socket (and a response's writes start to
 * report backpressure). Node's default of 16 KiB stops and restarts the socket for every 64 KiB
 * it reads during an upload; at 1 MiB a 512 MiB push costs about half the CPU per GB
 * (docs/performance.md). Small requests never buffer that much, so it costs them nothing.
 */
export const SOCKET_HIGH_WATER_MARK = 1024 * 1024;

const methods = ['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** The query of every request without one (handlers read it through QueryParams, which cannot change it). */
const NO_QUERY = new URLSearchParams();

/** `registry` is what handlers call: the registry itself or the pull-through cache decorating it. */
export function createHttpApp(registry: RegistryServices, options: HttpAppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger,
    // One access-log line per request (onResponse below) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    exposeHeadRoutes: false,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 16_384 },
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    childLoggerFactory: (logger, bindings, childOptions) => new RequestLogger(logger, bindings, childOptions),
    frameworkErrors: (error, request, reply) => sendError(error, request, reply),
    clientErrorHandler: sendClientError,
    // Inactivity, not duration: a large upload may take hours, a stalled one is closed.
    connectionTimeout: options.idleTimeoutMs,
    keepAliveTimeout: Math.min(72_000, options.idleTimeoutMs),
    // HTTP/1.0 clients and some proxies send no Host; Location headers do not depend on it.
    http: { requireHostHeader: false, highWaterMark: SOCKET_HIGH_WATER_MARK },
    ...(options.serverFactory ? { serverFactory: guardedFactory(options.serverFactory) } : {}),
  });
  guardServer(app.server);
  app.server.headersTimeout = options.headersTimeoutMs;
  app.server.on('checkExpectation', (request, response) => {
    // Node would answer 417 with an empty body; give it the OCI error body instead.
    const body = JSON.stringify(new RegistryError('EXPECTATION_FAILED', { expect: request.headers.expect }).toBody());
    response.writeHead(417, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    response.end(request.method === 'HEAD' ? undefined : body);
  });

  app.removeAllContentTypeParsers();
  // Leave every body unread: handlers consume request.raw themselves.
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

  // One hook for everything every request needs, a callback hook: an async one costs a promise
  // per request. Its refusals (header size, body limits) go to done().
  app.addHook('onRequest', (request, reply, done) => {
    try {
      assertHeaderSize(request);
      applyBodyLimits(request, reply, options.bodyLimits);
    } catch (error) {
      done(error as Error);
      return;
    }
    // Fastify would parse Content-Type and refuse values it cannot (" ", "a, b"), before any
    // handler runs; Berth reads bodies itself and judges the media type where it matters
    // (manifests, from rawHeaders), so Fastify must not see the header.
    delete request.headers['content-type'];
    reply.header('Docker-Distribution-Api-Version', 'registry/2.0');
    // The id of this request's log lines, so a user's report can be matched to them.
    reply.header('X-Request-Id', request.id);
    done();
  });
  // Set while a request is handled, read when it ends (request-observer.ts); null values in the
  // prototype keep every request object the same shape.
  app.decorateRequest('berthRoute', null);
  app.decorateRequest('berthUser', null);
  const { observer, accessLog, auditor } = options;
  if (observer !== undefined || accessLog !== undefined || auditor !== undefined) {
    // A callback hook, not an async one: no promise per request. Runs when a response has
    // finished; a /v2/ request whose client went away first is reported by dispatch below.
    app.addHook('onResponse', (request, reply, done) => {
      if (reply.raw.writableFinished) requestEnded(request, reply, reply.statusCode, responseBytes(request, reply));
      done();
    });
  }
  const requestEnded = (request: FastifyRequest, reply: FastifyReply, status: number, bytesOut: number): void => {
    const route = routeLabel(request);
    observer?.requestFinished(route, request.method, status, reply.elapsedTime / 1000, bodyLimitsOf(request.raw)?.received ?? 0, bytesOut);
    if (accessLog !== undefined) logAccess(accessLog, request, reply, route, status, bytesOut);
    if (auditor !== undefined) auditRequest(auditor, request, route, status);
  };
  if (options.maxConcurrentRequests > 0) limitConcurrency(app, options.maxConcurrentRequests);
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) => sendError(new RegistryError('NOT_FOUND'), request, reply));

  const dispatch = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const queryStart = request.url.indexOf('?');
    const path = decodedPath(queryStart === -1 ? request.url : request.url.slice(0, queryStart));
    // Most requests have no query: they share one empty, read-only (QueryParams) set of parameters.
    const query = queryStart === -1 ? NO_QUERY : new URLSearchParams(request.url.slice(queryStart + 1));
    const match = matchRoute(request.method, path);
    if (match.kind === 'not-found') throw new RegistryError('NOT_FOUND', { path: path.slice(0, 300) });
    request.berthRoute = match.route.name;
    if (match.kind === 'method-not-allowed') {
      throw new RegistryError('UNSUPPORTED', { method: request.method, route: match.route.name });
    }
    // The access check comes before anything reads the body or the store. A repository route's
    // name is validated first, so policies only ever judge valid names.
    const access = options.auth
      ? await authorize(
          options.auth,
          request,
          match.route,
          match.params.name === undefined ? undefined : parseName(match.params.name),
          options.externalUrl,
        )
      : OPEN_ACCESS;
    assertWritable(request.method, options.readOnly);
    if (options.rateLimits !== undefined) applyRateLimits(options.rateLimits, request, reply, match.route, access.principal);
    const ctx = new DispatchedRequest(request, reply, registry, options, match.params, query, access);
    reply.raw.once('close', () => {
      if (reply.raw.writableFinished) return;
      ctx.clientGone();
      // No onResponse for a response cut short: report it here, as 499 (nginx's "client closed
      // request") when nothing was answered yet.
      if (observer !== undefined || accessLog !== undefined || auditor !== undefined)
        requestEnded(request, reply, reply.raw.headersSent ? reply.statusCode : 499, 0);
    });
    // HTTP/2: a reset stream ends the compatibility request as if its body were complete, and the
    // response then calls itself finished; only 'aborted' tells. Without this, a cancelled
    // upload would be stored truncated as if the chunk had arrived whole.
    request.raw.once('aborted', () => ctx.clientGone());
    // (The reset may have come before this handler: the flag stays set.)
    if (request.raw.aborted) ctx.clientGone();
    await match.handler(ctx);
    // Returning the reply tells Fastify the handler has sent (or is streaming) the response.
    return reply;
  };

  app.route({ method: ['GET', 'HEAD'], url: '/healthz', handler: liveness });
  app.route({ method: ['GET', 'HEAD'], url: '/readyz', handler: readiness(registry) });
  const auth = options.auth;
  if (options.metricsAccess !== 'disabled') {
    app.route({
      method: 'GET',
      url: '/metrics',
      handler: metricsHandler(options.metrics, options.metricsAccess, auth, options.externalUrl),
    });
  }
  if (auth?.tokens !== undefined) {
    const { getToken, postToken } = tokenHandlers(auth);
    app.route({ method: ['GET', 'HEAD'], url: '/token', handler: getToken });
    app.route({ method: 'POST', url: '/token', handler: postToken });
  }
  if (auth !== undefined) {
    registerAdminApi(app, {
      admin: auth.admin,
      authenticate: (request) => adminPrincipal(auth, request, options.externalUrl),
      challenge: (request) => plainChallenge(auth, request, options.externalUrl),
      routes: options.adminRoutes,
    });
  }
  if (options.ui !== undefined) {
    if (options.ui.assets !== undefined) registerUiRoutes(app, { path: options.ui.path, assets: options.ui.assets });
    registerUiApi(app, { auth: options.auth, externalUrl: options.externalUrl, ...options.ui.api });
    if (auth?.oidc !== undefined && auth.sessions !== undefined) {
      const { oidc, sessions, authenticator } = auth;
      registerOidcRoutes(app, { oidc, sessions, authenticator, uiPath: options.ui.path, externalUrl: options.externalUrl });
    }
  }
  app.route({ method: [...methods], url: '/v2', handler: dispatch });
  app.route({ method: [...methods], url: '/v2/*', handler: dispatch });
  return app;
}

/** Body bytes of a finished response: its Content-Length, none for HEAD, 204 and 304. */
function responseBytes(request: FastifyRequest, reply: FastifyReply): number {
  const status = reply.statusCode;
  if (request.method === 'HEAD' || status === 204 || status === 304) return 0;
  // Fastify's header store first: a hijacked reply (send-body.ts) wrote its head past Node's.
  const length = reply.getHeader('content-length');
  return typeof length === 'number' ? length : typeof length === 'string' ? Number(length) || 0 : 0;
}

/** A server factory whose servers get the guards of server-guards.ts (header size, CONNECT). */
function guardedFactory(factory: FastifyServerFactory): FastifyServerFactory {
  return (handler, options) => {
    const server = factory(handler, options);
    guardServer(server);
    return server;
  };
}

/** Sheds load: beyond `limit` requests in flight, answer 429 with Retry-After at once. */
function limitConcurrency(app: FastifyInstance, limit: number): void {
  let inFlight = 0;
  // A callback hook, as the one above: an async one costs a promise per request.
  app.addHook('onRequest', (_request, reply, done) => {
    if (inFlight >= limit) {
      done(new RegistryError('TOO_MANY_REQUESTS', { limit }, { headers: { 'Retry-After': '1' } }));
      return;
    }
    inFlight++;
    // 'close' fires once whether the response finished or the client went away.
    reply.raw.once('close', () => inFlight--);
    done();
  });
}

/**
 * The path with its percent-escapes decoded, as Distribution routes on the decoded path: a
 * client that escapes the colon of a digest (`manifests/sha256%3A...`) names the same manifest.
 * A path without escapes (nearly every request) is returned as it is.
 */
function decodedPath(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new RegistryError('BAD_REQUEST', { path: raw.slice(0, 300) }, { message: 'malformed percent-escape in the request path' });
  }
}
