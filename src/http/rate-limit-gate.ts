// Applies the request rate limits (auth/rate-limits) to registry API requests, after the access
// check has said who is calling: manifest GETs count as pulls, everything else under /v2/ as other
// requests. Manifest GETs and HEADs carry Docker Hub's headers (RateLimit-Limit: 100;w=21600,
// RateLimit-Remaining: 76;w=21600, Docker-RateLimit-Source), so `curl --head` shows the pull count
// without spending a pull; a request over its limit gets 429 TOOMANYREQUESTS with Retry-After.
// Behind a load balancer, the client address comes from X-Forwarded-For when the peer is a
// trusted proxy. Synchronous: a request pays map lookups, no promise and no I/O.
import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/index.js';
import type { RateLimitVerdict, RequestRateLimiter } from '../auth/rate-limits/request-rate-limiter.js';
import { RegistryError } from '../errors/index.js';
import type { AddressRanges } from '../oci/address-range.js';
import { formatDuration } from '../oci/duration.js';
import type { Route } from './routes.js';

export interface HttpRateLimits {
  readonly limiter: RequestRateLimiter;
  /** Peers whose X-Forwarded-For names the client. */
  readonly trustedProxies: AddressRanges;
}

/** Counts the request against its limit; throws TOO_MANY_REQUESTS beyond it. */
export function applyRateLimits(
  limits: HttpRateLimits,
  request: FastifyRequest,
  reply: FastifyReply,
  route: Route,
  principal: Principal | undefined,
): void {
  const address = forwardedClientAddress(request, limits.trustedProxies);
  const manifest = route.name === 'manifest';
  const pull = manifest && request.method === 'GET';
  const verdict = limits.limiter.take(principal, address, pull ? 'pull' : 'other');
  if (manifest && (pull || request.method === 'HEAD')) {
    const pulls = pull ? verdict : limits.limiter.peek(principal, address, 'pull');
    if (pulls !== undefined) reply.headers(rateLimitHeaders(pulls));
  }
  if (verdict === undefined || verdict.allowed) return;
  const retryAfter = Math.max(1, Math.ceil(verdict.resetMs / 1000));
  const what = pull ? 'pull' : 'request';
  const per = verdict.signedIn ? 'user' : 'client address';
  throw new RegistryError(
    'TOO_MANY_REQUESTS',
    { limit: verdict.limit, window: formatDuration(verdict.windowMs), retryAfterSeconds: retryAfter },
    {
      message: `${what} rate limit reached: ${verdict.limit} ${what}s per ${formatDuration(verdict.windowMs)} per ${per}; retry after ${formatDuration(retryAfter * 1000)}`,
      headers: { 'Retry-After': String(retryAfter), ...rateLimitHeaders(verdict) },
    },
  );
}

/** Docker Hub's headers: the limit and what is left, each with its window in seconds. */
function rateLimitHeaders(verdict: RateLimitVerdict): Record<string, string> {
  const window = `w=${Math.round(verdict.windowMs / 1000)}`;
  return {
    'RateLimit-Limit': `${verdict.limit};${window}`,
    'RateLimit-Remaining': `${verdict.remaining};${window}`,
    'Docker-RateLimit-Source': verdict.source,
  };
}

/**
 * The client's address: the peer's, or, when the peer is a trusted proxy, the last
 * X-Forwarded-For entry that is not itself a trusted proxy (entries to its left could be
 * anything the client wrote). An entry that is not an address ends the walk at the hop after it.
 */
export function forwardedClientAddress(request: FastifyRequest, trustedProxies: AddressRanges): string {
  const peer = request.socket.remoteAddress ?? '';
  if (!trustedProxies.includes(peer)) return peer;
  const header = request.headers['x-forwarded-for'];
  if (header === undefined) return peer;
  const hops = (Array.isArray(header) ? header.join(',') : header).split(',');
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]?.trim() ?? '';
    if (isIP(hop) === 0) return client;
    client = hop;
    if (!trustedProxies.includes(hop)) return hop;
  }
  return client;
}
