// The admin HTTP API under /api/v1: users, teams, namespaces and grants, API tokens, and /me.
// JSON in and out. Bodies are read here (the app parses none) with a size bound and checked
// with zod for shape; what a value must be and who may change what is decided by AccountAdmin,
// the use cases the CLI shares. Errors are thrown as RegistryError and answered by the app's
// error hook with the OCI error body. docs/admin-api.md describes every endpoint.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { RegistryError } from '../errors/index.js';
import type { AccountAdmin } from '../auth/account-admin.js';
import type { Principal } from '../auth/principal.js';
import { readWholeBody } from './body-chunks.js';

/** Admin requests are small (names, a password, a few scopes). */
export const ADMIN_BODY_LIMIT = 64 * 1024;

export interface AdminApiDeps {
  readonly admin: AccountAdmin;
  /** Who is asking: anonymous when no credentials came; throws for wrong credentials. */
  readonly authenticate: (request: FastifyRequest) => Promise<Principal>;
  /** WWW-Authenticate value sent with 401 (the token realm may depend on the request's host); default Basic with realm "Berth". */
  readonly challenge?: ((request: FastifyRequest) => string) | undefined;
}

const createUserBody = z.strictObject({ name: z.string(), password: z.string(), admin: z.boolean().optional() });
const passwordBody = z.strictObject({ password: z.string() });
const patchUserBody = z.strictObject({ admin: z.boolean() });
const createTeamBody = z.strictObject({ name: z.string() });
const namespaceBody = z.strictObject({ visibility: z.string() });
const grantBody = z.strictObject({ role: z.string() });
const createTokenBody = z.strictObject({
  name: z.string(),
  scopes: z.array(z.strictObject({ repository: z.string(), actions: z.array(z.string()) })),
  expiresIn: z.string().optional(),
  expiresAt: z.string().optional(),
  user: z.string().optional(),
});

/** Reads the whole body, refusing more than the limit, and parses it as JSON. */
async function readJson(request: FastifyRequest): Promise<unknown> {
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

async function body<T>(request: FastifyRequest, schema: z.ZodType<T>): Promise<T> {
  const parsed = schema.safeParse(await readJson(request));
  if (!parsed.success) {
    throw new RegistryError('REQUEST_INVALID', {
      issues: parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    });
  }
  return parsed.data;
}

function param(request: FastifyRequest, name: string): string {
  const value = (request.params as Record<string, string | undefined>)[name];
  if (value === undefined) throw new RegistryError('REQUEST_INVALID', { reason: `missing ${name}` });
  return value;
}

function queryValue(request: FastifyRequest, name: string): string | undefined {
  const value = (request.query as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}

function json(reply: FastifyReply, status: number, payload: unknown): FastifyReply {
  // Admin answers name accounts and carry one-time secrets: never cached on the way.
  return reply.code(status).header('Cache-Control', 'no-store').header('Content-Type', 'application/json').send(JSON.stringify(payload));
}

function noContent(reply: FastifyReply): FastifyReply {
  return reply.code(204).header('Cache-Control', 'no-store').send();
}

export function registerAdminApi(app: FastifyInstance, deps: AdminApiDeps): void {
  const { admin } = deps;
  const challenge = deps.challenge ?? (() => 'Basic realm="Berth"');

  /** Every endpoint needs a signed-in caller; anonymous requests get 401 with a challenge. */
  async function who(request: FastifyRequest): Promise<Principal> {
    const principal = await deps.authenticate(request);
    if (principal.kind === 'anonymous') {
      throw new RegistryError('UNAUTHORIZED', undefined, { headers: { 'WWW-Authenticate': challenge(request) } });
    }
    return principal;
  }

  type Handler = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>;
  const route = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, handler: Handler): void => {
    app.route({ method, url: `/api/v1${url}`, handler });
  };

  route('GET', '/me', async (request, reply) => json(reply, 200, admin.me(await who(request))));

  // ---- users
  route('GET', '/users', async (request, reply) => json(reply, 200, { users: await admin.listUsers(await who(request)) }));
  route('POST', '/users', async (request, reply) => {
    const principal = await who(request);
    const input = await body(request, createUserBody);
    return json(reply, 201, await admin.createUser(principal, input));
  });
  route('GET', '/users/:name', async (request, reply) => json(reply, 200, await admin.getUser(await who(request), param(request, 'name'))));
  route('PUT', '/users/:name/password', async (request, reply) => {
    const principal = await who(request);
    const { password } = await body(request, passwordBody);
    await admin.setPassword(principal, param(request, 'name'), password);
    return noContent(reply);
  });
  route('PATCH', '/users/:name', async (request, reply) => {
    const principal = await who(request);
    const input = await body(request, patchUserBody);
    return json(reply, 200, await admin.setUserAdmin(principal, param(request, 'name'), input.admin));
  });
  route('DELETE', '/users/:name', async (request, reply) => {
    await admin.deleteUser(await who(request), param(request, 'name'));
    return noContent(reply);
  });

  // ---- teams
  route('GET', '/teams', async (request, reply) => json(reply, 200, { teams: await admin.listTeams(await who(request)) }));
  route('POST', '/teams', async (request, reply) => {
    const principal = await who(request);
    const { name } = await body(request, createTeamBody);
    return json(reply, 201, await admin.createTeam(principal, name));
  });
  route('GET', '/teams/:name', async (request, reply) => json(reply, 200, await admin.getTeam(await who(request), param(request, 'name'))));
  route('DELETE', '/teams/:name', async (request, reply) => {
    await admin.deleteTeam(await who(request), param(request, 'name'));
    return noContent(reply);
  });
  route('PUT', '/teams/:name/members/:user', async (request, reply) =>
    json(reply, 200, await admin.addTeamMember(await who(request), param(request, 'name'), param(request, 'user'))),
  );
  route('DELETE', '/teams/:name/members/:user', async (request, reply) => {
    await admin.removeTeamMember(await who(request), param(request, 'name'), param(request, 'user'));
    return noContent(reply);
  });

  // ---- namespaces and grants
  route('GET', '/namespaces', async (request, reply) => json(reply, 200, { namespaces: await admin.listNamespaces(await who(request)) }));
  route('GET', '/namespaces/:name', async (request, reply) =>
    json(reply, 200, await admin.getNamespace(await who(request), param(request, 'name'))),
  );
  route('PUT', '/namespaces/:name', async (request, reply) => {
    const principal = await who(request);
    const { visibility } = await body(request, namespaceBody);
    return json(reply, 200, await admin.setNamespaceVisibility(principal, param(request, 'name'), visibility));
  });
  route('DELETE', '/namespaces/:name', async (request, reply) => {
    await admin.deleteNamespace(await who(request), param(request, 'name'));
    return noContent(reply);
  });
  route('GET', '/namespaces/:name/grants', async (request, reply) =>
    json(reply, 200, { grants: await admin.listGrants(await who(request), param(request, 'name')) }),
  );
  route('PUT', '/namespaces/:name/grants/:kind/:subject', async (request, reply) => {
    const principal = await who(request);
    const { role } = await body(request, grantBody);
    const grant = await admin.setGrant(principal, param(request, 'name'), param(request, 'kind'), param(request, 'subject'), role);
    return json(reply, 200, grant);
  });
  route('DELETE', '/namespaces/:name/grants/:kind/:subject', async (request, reply) => {
    await admin.revokeGrant(await who(request), param(request, 'name'), param(request, 'kind'), param(request, 'subject'));
    return noContent(reply);
  });

  // ---- API tokens
  route('GET', '/tokens', async (request, reply) => {
    const principal = await who(request);
    const tokens = await admin.listTokens(principal, {
      user: queryValue(request, 'user'),
      all: queryValue(request, 'all') === 'true',
    });
    return json(reply, 200, { tokens });
  });
  route('POST', '/tokens', async (request, reply) => {
    const principal = await who(request);
    const input = await body(request, createTokenBody);
    return json(reply, 201, await admin.createToken(principal, input));
  });
  route('DELETE', '/tokens/:id', async (request, reply) => {
    await admin.deleteToken(await who(request), param(request, 'id'));
    return noContent(reply);
  });
}
