// The admin HTTP API under /api/v1: users, teams, namespaces and grants, API tokens, and /me.
// JSON in and out. Bodies are read with a size bound and checked with zod for shape
// (admin-json.ts, shared with the other admin route modules); what a value must be and who may change what is decided by AccountAdmin,
// the use cases the CLI shares. Errors are thrown as RegistryError and answered by the app's
// error hook with the OCI error body. docs/admin-api.md describes every endpoint.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AccountAdmin } from '../auth/account-admin.js';
import type { Principal } from '../auth/principal.js';
import { adminRouter, body, json, noContent, param, queryValue, type AdminRouter } from './admin-json.js';
import { noteAudit, PERMISSION_CHANGED } from './request-audit.js';

/** Tells the audit log (and the permission.changed event) what a permission change was. */
function permissionChange(request: FastifyRequest, detail: Record<string, unknown>): void {
  noteAudit(request, { action: PERMISSION_CHANGED, detail });
}

export interface AdminApiDeps {
  readonly admin: AccountAdmin;
  /** Who is asking: anonymous when no credentials came; throws for wrong credentials. */
  readonly authenticate: (request: FastifyRequest) => Promise<Principal>;
  /** WWW-Authenticate value sent with 401 (the token realm may depend on the request's host); default Basic with realm "Berth". */
  readonly challenge?: ((request: FastifyRequest) => string) | undefined;
  /** More admin route modules (garbage collection, lifecycle rules, ...), each adding its routes. */
  readonly routes?: readonly ((router: AdminRouter) => void)[] | undefined;
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

export function registerAdminApi(app: FastifyInstance, deps: AdminApiDeps): void {
  const { admin } = deps;
  const router = adminRouter(app, deps.authenticate, deps.challenge ?? (() => 'Basic realm="Berth"'));
  const { route, who } = router;
  for (const register of deps.routes ?? []) register(router);

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
    permissionChange(request, { change: 'admin-flag', user: param(request, 'name'), admin: input.admin });
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
  route('PUT', '/teams/:name/members/:user', async (request, reply) => {
    permissionChange(request, { change: 'team-member-added', team: param(request, 'name'), user: param(request, 'user') });
    return json(reply, 200, await admin.addTeamMember(await who(request), param(request, 'name'), param(request, 'user')));
  });
  route('DELETE', '/teams/:name/members/:user', async (request, reply) => {
    permissionChange(request, { change: 'team-member-removed', team: param(request, 'name'), user: param(request, 'user') });
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
    permissionChange(request, { change: 'visibility', namespace: param(request, 'name'), visibility });
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
    permissionChange(request, {
      change: 'grant-set',
      namespace: param(request, 'name'),
      kind: param(request, 'kind'),
      subject: param(request, 'subject'),
      role,
    });
    const grant = await admin.setGrant(principal, param(request, 'name'), param(request, 'kind'), param(request, 'subject'), role);
    return json(reply, 200, grant);
  });
  route('DELETE', '/namespaces/:name/grants/:kind/:subject', async (request, reply) => {
    permissionChange(request, {
      change: 'grant-revoked',
      namespace: param(request, 'name'),
      kind: param(request, 'kind'),
      subject: param(request, 'subject'),
    });
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
