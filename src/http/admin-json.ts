// What every admin API route module shares: reading a bounded JSON body checked with zod,
// path and query parameters, and JSON answers that are never cached. Errors are thrown as
// RegistryError (the app's error hook answers them with the OCI error body).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { administrator, type Principal } from '../auth/index.js';
import { RegistryError } from '../errors/index.js';
import { readWholeBody } from './body-chunks.js';

/** Admin requests are small (names, a password, a few scopes). */
export const ADMIN_BODY_LIMIT = 64 * 1024;

/** Reads the whole body, refusing more than the limit, and parses it as JSON. */
export async function readJson(request: FastifyRequest): Promise<unknown> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > ADMIN_BODY_LIMIT) throw new RegistryError('REQUEST_TOO_LARGE', { limit: ADMIN_BODY_LIMIT });
  // Within the request memory budget and the body rate limit (body-limits.ts).
  const text = (
    await readWholeBody(request.raw, ADMIN_BODY_LIMIT, () => new RegistryError('REQUEST_TOO_LARGE', { limit: ADMIN_BODY_LIMIT }))
  ).toString('utf8');
  if (text.trim() === '') throw new RegistryError('REQUEST_INVALID', { reason: 'a JSON body is required' });
  try {
    return JSON.parse(text);
  } catch {
    throw new RegistryError('REQUEST_INVALID', { reason: 'the body is not valid JSON' });
  }
}

export async function body<T>(request: FastifyRequest, schema: z.ZodType<T>): Promise<T> {
  const parsed = schema.safeParse(await readJson(request));
  if (!parsed.success) {
    throw new RegistryError('REQUEST_INVALID', {
      issues: parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    });
  }
  return parsed.data;
}

export function param(request: FastifyRequest, name: string): string {
  const value = (request.params as Record<string, string | undefined>)[name];
  if (value === undefined) throw new RegistryError('REQUEST_INVALID', { reason: `missing ${name}` });
  return value;
}

export function queryValue(request: FastifyRequest, name: string): string | undefined {
  const value = (request.query as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}

export function json(reply: FastifyReply, status: number, payload: unknown): FastifyReply {
  // Admin answers name accounts and carry one-time secrets: never cached on the way.
  return reply.code(status).header('Cache-Control', 'no-store').header('Content-Type', 'application/json').send(JSON.stringify(payload));
}

export function noContent(reply: FastifyReply): FastifyReply {
  return reply.code(204).header('Cache-Control', 'no-store').send();
}

export type AdminHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>;

/** What a module of admin routes is given to add its routes under /api/v1. */
export interface AdminRouter {
  /** Adds a route; `url` is relative to /api/v1. */
  route(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, handler: AdminHandler): void;
  /** The signed-in caller; anonymous requests get 401 with a challenge. */
  who(request: FastifyRequest): Promise<Principal>;
  /** The caller, who must be a registry-wide administrator signed in with a password (else 401 or 403 DENIED). */
  admin(request: FastifyRequest): Promise<Principal>;
}

/** An AdminRouter over the app, with the authentication the admin API uses. */
export function adminRouter(
  app: FastifyInstance,
  authenticate: (request: FastifyRequest) => Promise<Principal>,
  challenge: (request: FastifyRequest) => string,
): AdminRouter {
  const who = async (request: FastifyRequest): Promise<Principal> => {
    const principal = await authenticate(request);
    if (principal.kind === 'anonymous') {
      throw new RegistryError('UNAUTHORIZED', undefined, { headers: { 'WWW-Authenticate': challenge(request) } });
    }
    return principal;
  };
  return {
    route: (method, url, handler) => {
      app.route({ method, url: `/api/v1${url}`, handler });
    },
    who,
    admin: async (request) => {
      return administrator(await who(request));
    },
  };
}
