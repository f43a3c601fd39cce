// The admin HTTP API through Fastify inject() over a real SQLite file: every endpoint's success,
// 401 for anonymous callers, 403 for callers without the right, 400 for bad bodies and names,
// 404 for unknown things and 409 for duplicates; namespace administrators limited to their
// namespace; API tokens visible and revocable only by their owner, the secret shown once.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { AccountAdmin } from '../../src/auth/account-admin.js';
import { parseApiToken, tokenSecretMatches } from '../../src/auth/api-tokens.js';
import { hashPassword, verifyPassword } from '../../src/auth/passwords.js';
import type { Principal } from '../../src/auth/principal.js';
import { RegistryError } from '../../src/errors/index.js';
import { sendError } from '../../src/http/error-hook.js';
import { registerAdminApi } from '../../src/http/admin-api.js';
import { MetadataStore, openSqlite } from '../../src/metadata/index.js';
import { basicAuthorization } from '../helpers/credentials.js';

const PASSWORDS: Record<string, string> = {
  root: 'root-password',
  alice: 'alice-password',
  bob: 'bob-password!',
  carol: 'carol-password',
};

let dir = '';
let store: MetadataStore;
let app: FastifyInstance;
let changes = 0;

/** Basic authentication against the database: a password, or an API token in the password field. */
async function authenticate(request: FastifyRequest): Promise<Principal> {
  const header = request.headers.authorization;
  if (header === undefined) return { kind: 'anonymous' };
  const decoded = Buffer.from(header.replace(/^Basic /, ''), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const name = decoded.slice(0, colon);
  const secret = decoded.slice(colon + 1);
  const fail = new RegistryError('UNAUTHORIZED', undefined, { message: 'wrong credentials' });
  const token = parseApiToken(secret);
  if (token) {
    const record = await store.accounts.getApiToken(token.id);
    if (!record || record.owner !== name || !tokenSecretMatches(token.secret, record.secretHash)) throw fail;
    if (record.expiresAt !== undefined && Date.parse(record.expiresAt) <= Date.now()) throw fail;
    const user = await store.accounts.getUser(name);
    return {
      kind: 'user',
      name,
      admin: user?.admin ?? false,
      teams: await store.accounts.teamsOf(name),
      apiToken: { id: record.id, scope: record.scopes },
    };
  }
  const user = await store.accounts.getUser(name);
  if (!user || !(await verifyPassword(secret, user.passwordHash))) throw fail;
  return { kind: 'user', name, admin: user.admin, teams: await store.accounts.teamsOf(name) };
}

function basic(user: string, password = PASSWORDS[user] ?? ''): string {
  return basicAuthorization(user, password);
}

interface Answer {
  status: number;
  body: unknown;
  text: string;
  headers: Record<string, unknown>;
}

async function call(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  options: { as?: string; auth?: string; body?: unknown; raw?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  const authorization = options.auth ?? (options.as !== undefined ? basic(options.as) : undefined);
  if (authorization !== undefined) headers.authorization = authorization;
  const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const response = await app.inject({ method, url, headers, ...(payload !== undefined ? { payload } : {}) });
  const text = response.body;
  return { status: response.statusCode, text, body: text === '' ? undefined : JSON.parse(text), headers: response.headers };
}

/** Asserts the status and, for errors, the OCI error body with the code. */
function expectStatus(answer: Answer, status: number, code?: string): void {
  assert.equal(answer.status, status, answer.text);
  if (code !== undefined) {
    const errors = (answer.body as { errors?: { code: string }[] }).errors;
    assert.equal(errors?.[0]?.code, code, answer.text);
  }
  assert.doesNotMatch(answer.text, /\$2[aby]\$|passwordHash|password_hash|secretHash|secret_hash/, 'no hash ever leaves the API');
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-admin-api-'));
  store = new MetadataStore(openSqlite(join(dir, 'berth.db')));
  await store.migrate();
  await store.accounts.createUser({ name: 'root', passwordHash: await hashPassword(PASSWORDS.root ?? '', 4), admin: true });
  await store.accounts.createUser({ name: 'alice', passwordHash: await hashPassword(PASSWORDS.alice ?? '', 4) });
  await store.accounts.createUser({ name: 'bob', passwordHash: await hashPassword(PASSWORDS.bob ?? '', 4) });
  await store.accounts.createUser({ name: 'carol', passwordHash: await hashPassword(PASSWORDS.carol ?? '', 4) });
  app = Fastify();
  // As the registry's app: bodies are left unread for the handlers.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) => sendError(new RegistryError('NOT_FOUND'), request, reply));
  const admin = new AccountAdmin({
    accounts: store.accounts,
    bcryptCost: 4,
    onChange: () => changes++,
    // As if file-user were in an htpasswd file.
    userExistsElsewhere: async (name) => name === 'file-user',
  });
  registerAdminApi(app, { admin, authenticate });
  await app.ready();
});

after(async () => {
  await app.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('admin API: authentication', () => {
  const endpoints: [Parameters<typeof call>[0], string][] = [
    ['GET', '/api/v1/me'],
    ['GET', '/api/v1/users'],
    ['POST', '/api/v1/users'],
    ['GET', '/api/v1/users/alice'],
    ['PUT', '/api/v1/users/alice/password'],
    ['PATCH', '/api/v1/users/alice'],
    ['DELETE', '/api/v1/users/alice'],
    ['GET', '/api/v1/teams'],
    ['POST', '/api/v1/teams'],
    ['GET', '/api/v1/teams/devs'],
    ['DELETE', '/api/v1/teams/devs'],
    ['PUT', '/api/v1/teams/devs/members/alice'],
    ['DELETE', '/api/v1/teams/devs/members/alice'],
    ['GET', '/api/v1/namespaces'],
    ['GET', '/api/v1/namespaces/team-a'],
    ['PUT', '/api/v1/namespaces/team-a'],
    ['DELETE', '/api/v1/namespaces/team-a'],
    ['GET', '/api/v1/namespaces/team-a/grants'],
    ['PUT', '/api/v1/namespaces/team-a/grants/user/alice'],
    ['DELETE', '/api/v1/namespaces/team-a/grants/user/alice'],
    ['GET', '/api/v1/tokens'],
    ['POST', '/api/v1/tokens'],
    ['DELETE', '/api/v1/tokens/0123456789abcdef'],
  ];

  it('answers every endpoint 401 UNAUTHORIZED with a challenge when no credentials come', async () => {
    for (const [method, url] of endpoints) {
      const answer = await call(method, url, { body: { name: 'x' } });
      expectStatus(answer, 401, 'UNAUTHORIZED');
      assert.equal(answer.headers['www-authenticate'], 'Basic realm="Berth"', `${method} ${url}`);
    }
    assert.equal(await store.accounts.getUser('alice').then((u) => u?.name), 'alice', 'nothing changed');
  });

  it('refuses wrong credentials with 401', async () => {
    expectStatus(await call('GET', '/api/v1/me', { auth: basic('alice', 'wrong-password') }), 401, 'UNAUTHORIZED');
  });

  it('GET /me says who is asking', async () => {
    const answer = await call('GET', '/api/v1/me', { as: 'alice' });
    expectStatus(answer, 200);
    assert.deepEqual(answer.body, { name: 'alice', admin: false, teams: [], via: 'password' });
    assert.equal(answer.headers['cache-control'], 'no-store');
    assert.deepEqual((await call('GET', '/api/v1/me', { as: 'root' })).body, { name: 'root', admin: true, teams: [], via: 'password' });
  });

  it('answers an unknown admin path with 404 NOT_FOUND', async () => {
    expectStatus(await call('GET', '/api/v1/nothing-here', { as: 'root' }), 404, 'NOT_FOUND');
  });
});

describe('admin API: users', () => {
  it('a registry admin creates, lists, reads, promotes and deletes users', async () => {
    const before = changes;
    const created = await call('POST', '/api/v1/users', { as: 'root', body: { name: 'dave', password: 'dave-password' } });
    expectStatus(created, 201);
    const view = created.body as { name: string; admin: boolean; createdAt: string };
    assert.equal(view.name, 'dave');
    assert.equal(view.admin, false);
    assert.deepEqual(Object.keys(view).sort(), ['admin', 'createdAt', 'name']);
    assert.ok(changes > before, 'the change is announced');
    assert.equal(await verifyPassword('dave-password', (await store.accounts.getUser('dave'))?.passwordHash ?? ''), true);

    const listed = await call('GET', '/api/v1/users', { as: 'root' });
    expectStatus(listed, 200);
    assert.deepEqual(
      (listed.body as { users: { name: string }[] }).users.map((u) => u.name),
      ['alice', 'bob', 'carol', 'dave', 'root'],
    );

    expectStatus(await call('GET', '/api/v1/users/dave', { as: 'root' }), 200);
    expectStatus(await call('GET', '/api/v1/users/nobody', { as: 'root' }), 404, 'RESOURCE_UNKNOWN');

    const promoted = await call('PATCH', '/api/v1/users/dave', { as: 'root', body: { admin: true } });
    expectStatus(promoted, 200);
    assert.equal((promoted.body as { admin: boolean }).admin, true);
    expectStatus(await call('PATCH', '/api/v1/users/nobody', { as: 'root', body: { admin: true } }), 404, 'RESOURCE_UNKNOWN');

    expectStatus(await call('DELETE', '/api/v1/users/dave', { as: 'root' }), 204);
    expectStatus(await call('DELETE', '/api/v1/users/dave', { as: 'root' }), 404, 'RESOURCE_UNKNOWN');
    assert.equal(await store.accounts.getUser('dave'), undefined);
  });

  it('refuses a duplicate (409), bad names, short or overlong passwords and malformed bodies (400), large bodies (413)', async () => {
    expectStatus(
      await call('POST', '/api/v1/users', { as: 'root', body: { name: 'alice', password: 'another-pass' } }),
      409,
      'ALREADY_EXISTS',
    );
    for (const name of ['Alice', '-x', '', 'a'.repeat(65), 'a/b', 'a b', '../etc']) {
      expectStatus(await call('POST', '/api/v1/users', { as: 'root', body: { name, password: 'long-enough' } }), 400, 'INVALID_REQUEST');
    }
    expectStatus(await call('POST', '/api/v1/users', { as: 'root', body: { name: 'eve', password: 'short' } }), 400, 'INVALID_REQUEST');
    expectStatus(
      await call('POST', '/api/v1/users', { as: 'root', body: { name: 'eve', password: 'x'.repeat(73) } }),
      400,
      'INVALID_REQUEST',
    );
    expectStatus(await call('POST', '/api/v1/users', { as: 'root', raw: '{"name": "eve",' }), 400, 'INVALID_REQUEST');
    expectStatus(await call('POST', '/api/v1/users', { as: 'root' }), 400, 'INVALID_REQUEST');
    expectStatus(await call('POST', '/api/v1/users', { as: 'root', body: [] }), 400, 'INVALID_REQUEST');
    expectStatus(await call('POST', '/api/v1/users', { as: 'root', body: { name: 'eve', password: 12345678 } }), 400, 'INVALID_REQUEST');
    expectStatus(
      await call('POST', '/api/v1/users', { as: 'root', body: { name: 'eve', password: 'long-enough', role: 'x' } }),
      400,
      'INVALID_REQUEST',
    );
    expectStatus(await call('PATCH', '/api/v1/users/alice', { as: 'root', body: { admin: 'yes' } }), 400, 'INVALID_REQUEST');
    expectStatus(
      await call('POST', '/api/v1/users', { as: 'root', body: { name: 'eve', password: 'x'.repeat(70_000) } }),
      413,
      'SIZE_INVALID',
    );
    assert.equal(await store.accounts.getUser('eve'), undefined);
  });

  it('a user who is not an admin gets 403 DENIED for user administration', async () => {
    expectStatus(await call('GET', '/api/v1/users', { as: 'alice' }), 403, 'DENIED');
    expectStatus(await call('POST', '/api/v1/users', { as: 'alice', body: { name: 'mallory', password: 'long-enough' } }), 403, 'DENIED');
    expectStatus(await call('PATCH', '/api/v1/users/alice', { as: 'alice', body: { admin: true } }), 403, 'DENIED');
    expectStatus(await call('DELETE', '/api/v1/users/bob', { as: 'alice' }), 403, 'DENIED');
    expectStatus(await call('GET', '/api/v1/users/bob', { as: 'alice' }), 403, 'DENIED');
    expectStatus(await call('PUT', '/api/v1/users/bob/password', { as: 'alice', body: { password: 'hijacked!' } }), 403, 'DENIED');
    expectStatus(await call('GET', '/api/v1/users/alice', { as: 'alice' }), 200);
    assert.equal((await store.accounts.getUser('alice'))?.admin, false);
    assert.equal(await store.accounts.getUser('mallory'), undefined);
  });

  it("a user changes their own password; an admin changes anyone's", async () => {
    await store.accounts.createUser({ name: 'frank', passwordHash: await hashPassword('frank-password', 4) });
    expectStatus(
      await call('PUT', '/api/v1/users/frank/password', {
        auth: basic('frank', 'frank-password'),
        body: { password: 'frank-new-password' },
      }),
      204,
    );
    expectStatus(await call('GET', '/api/v1/me', { auth: basic('frank', 'frank-password') }), 401, 'UNAUTHORIZED');
    expectStatus(await call('GET', '/api/v1/me', { auth: basic('frank', 'frank-new-password') }), 200);
    expectStatus(await call('PUT', '/api/v1/users/frank/password', { as: 'root', body: { password: 'set-by-admin' } }), 204);
    expectStatus(await call('GET', '/api/v1/me', { auth: basic('frank', 'set-by-admin') }), 200);
    expectStatus(await call('PUT', '/api/v1/users/frank/password', { as: 'root', body: { password: 'short' } }), 400, 'INVALID_REQUEST');
    expectStatus(
      await call('PUT', '/api/v1/users/nobody/password', { as: 'root', body: { password: 'long-enough' } }),
      404,
      'RESOURCE_UNKNOWN',
    );
    expectStatus(await call('PUT', '/api/v1/users/frank/password', { as: 'root', body: {} }), 400, 'INVALID_REQUEST');
  });
});

describe('admin API: teams', () => {
  it('a registry admin creates teams, manages members and deletes teams', async () => {
    const created = await call('POST', '/api/v1/teams', { as: 'root', body: { name: 'devs' } });
    expectStatus(created, 201);
    assert.equal((created.body as { name: string }).name, 'devs');
    expectStatus(await call('POST', '/api/v1/teams', { as: 'root', body: { name: 'devs' } }), 409, 'ALREADY_EXISTS');
    expectStatus(await call('POST', '/api/v1/teams', { as: 'root', body: { name: 'Bad Name' } }), 400, 'INVALID_REQUEST');
    expectStatus(await call('POST', '/api/v1/teams', { as: 'root', body: {} }), 400, 'INVALID_REQUEST');

    const added = await call('PUT', '/api/v1/teams/devs/members/alice', { as: 'root' });
    expectStatus(added, 200);
    assert.deepEqual((added.body as { members: string[] }).members, ['alice']);
    // htpasswd users may be members too; names that are no user anywhere are refused.
    expectStatus(await call('PUT', '/api/v1/teams/devs/members/file-user', { as: 'root' }), 200);
    expectStatus(await call('PUT', '/api/v1/teams/devs/members/no-such-user', { as: 'root' }), 404, 'RESOURCE_UNKNOWN');
    expectStatus(await call('PUT', '/api/v1/teams/devs/members/alice', { as: 'root' }), 200, undefined);
    expectStatus(await call('PUT', '/api/v1/teams/nope/members/alice', { as: 'root' }), 404, 'RESOURCE_UNKNOWN');
    expectStatus(await call('PUT', '/api/v1/teams/devs/members/BAD', { as: 'root' }), 400, 'INVALID_REQUEST');

    const detail = await call('GET', '/api/v1/teams/devs', { as: 'root' });
    expectStatus(detail, 200);
    assert.deepEqual((detail.body as { members: string[] }).members, ['alice', 'file-user']);
    expectStatus(await call('GET', '/api/v1/teams/nope', { as: 'root' }), 404, 'RESOURCE_UNKNOWN');

    expectStatus(await call('DELETE', '/api/v1/teams/devs/members/file-user', { as: 'root' }), 204);
    expectStatus(await call('DELETE', '/api/v1/teams/devs/members/file-user', { as: 'root' }), 404, 'RESOURCE_UNKNOWN');
    expectStatus(await call('DELETE', '/api/v1/teams/nope/members/alice', { as: 'root' }), 404, 'RESOURCE_UNKNOWN');

    expectStatus(await call('POST', '/api/v1/teams', { as: 'root', body: { name: 'temp' } }), 201);
    expectStatus(await call('DELETE', '/api/v1/teams/temp', { as: 'root' }), 204);
    expectStatus(await call('DELETE', '/api/v1/teams/temp', { as: 'root' }), 404, 'RESOURCE_UNKNOWN');
  });

  it('members see their own teams; others get 403 for administration', async () => {
    await store.accounts.createTeam('ops');
    await store.accounts.addTeamMember('ops', 'alice');
    const mine = await call('GET', '/api/v1/teams', { as: 'alice' });
    expectStatus(mine, 200);
    assert.deepEqual(
      (mine.body as { teams: { name: string }[] }).teams.map((t) => t.name),
      ['devs', 'ops'],
    );
    assert.deepEqual(((await call('GET', '/api/v1/teams', { as: 'bob' })).body as { teams: unknown[] }).teams, []);
    const all = (await call('GET', '/api/v1/teams', { as: 'root' })).body as { teams: { name: string }[] };
    assert.deepEqual(
      all.teams.map((t) => t.name),
      ['devs', 'ops'],
    );

    expectStatus(await call('GET', '/api/v1/teams/ops', { as: 'alice' }), 200);
    expectStatus(await call('GET', '/api/v1/teams/ops', { as: 'bob' }), 403, 'DENIED');
    expectStatus(await call('POST', '/api/v1/teams', { as: 'alice', body: { name: 'mine' } }), 403, 'DENIED');
    expectStatus(await call('PUT', '/api/v1/teams/ops/members/bob', { as: 'alice' }), 403, 'DENIED');
    expectStatus(await call('DELETE', '/api/v1/teams/ops/members/alice', { as: 'bob' }), 403, 'DENIED');
    expectStatus(await call('DELETE', '/api/v1/teams/ops', { as: 'alice' }), 403, 'DENIED');
    assert.deepEqual(await store.accounts.teamMembers('ops'), ['alice']);
  });
});

describe('admin API: namespaces and grants', () => {
  it('a registry admin sets visibility, grants roles and deletes namespaces', async () => {
    const created = await call('PUT', '/api/v1/namespaces/team-a', { as: 'root', body: { visibility: 'private' } });
    expectStatus(created, 200);
    assert.equal((created.body as { visibility: string }).visibility, 'private');
    expectStatus(await call('PUT', '/api/v1/namespaces/team-b', { as: 'root', body: { visibility: 'public' } }), 200);
    expectStatus(await call('PUT', '/api/v1/namespaces/team-a', { as: 'root', body: { visibility: 'secret' } }), 400, 'INVALID_REQUEST');
    expectStatus(await call('PUT', '/api/v1/namespaces/Team_A', { as: 'root', body: { visibility: 'public' } }), 400, 'INVALID_REQUEST');
    expectStatus(await call('PUT', '/api/v1/namespaces/team-a', { as: 'root', raw: 'not json' }), 400, 'INVALID_REQUEST');

    const grant = await call('PUT', '/api/v1/namespaces/team-a/grants/user/alice', { as: 'root', body: { role: 'admin' } });
    expectStatus(grant, 200);
    assert.deepEqual(grant.body, { kind: 'user', subject: 'alice', role: 'admin' });
    expectStatus(await call('PUT', '/api/v1/namespaces/team-a/grants/team/devs', { as: 'root', body: { role: 'push' } }), 200);
    expectStatus(
      await call('PUT', '/api/v1/namespaces/team-a/grants/team/ghosts', { as: 'root', body: { role: 'push' } }),
      404,
      'RESOURCE_UNKNOWN',
    );
    expectStatus(
      await call('PUT', '/api/v1/namespaces/team-a/grants/user/bob', { as: 'root', body: { role: 'owner' } }),
      400,
      'INVALID_REQUEST',
    );
    expectStatus(
      await call('PUT', '/api/v1/namespaces/team-a/grants/robot/bob', { as: 'root', body: { role: 'pull' } }),
      400,
      'INVALID_REQUEST',
    );

    const grants = await call('GET', '/api/v1/namespaces/team-a/grants', { as: 'root' });
    expectStatus(grants, 200);
    assert.deepEqual((grants.body as { grants: unknown[] }).grants, [
      { kind: 'user', subject: 'alice', role: 'admin' },
      { kind: 'team', subject: 'devs', role: 'push' },
    ]);
    const detail = await call('GET', '/api/v1/namespaces/team-a', { as: 'root' });
    expectStatus(detail, 200);
    assert.equal((detail.body as { visibility: string }).visibility, 'private');
    expectStatus(await call('GET', '/api/v1/namespaces/nowhere', { as: 'root' }), 404, 'RESOURCE_UNKNOWN');

    expectStatus(await call('PUT', '/api/v1/namespaces/scratch', { as: 'root', body: { visibility: 'public' } }), 200);
    expectStatus(await call('DELETE', '/api/v1/namespaces/scratch', { as: 'root' }), 204);
    expectStatus(await call('DELETE', '/api/v1/namespaces/scratch', { as: 'root' }), 404, 'RESOURCE_UNKNOWN');
  });

  it('a namespace admin manages their namespace and no other', async () => {
    // alice holds admin on team-a (previous test), nothing on team-b.
    expectStatus(await call('PUT', '/api/v1/namespaces/team-a', { as: 'alice', body: { visibility: 'public' } }), 200);
    assert.equal((await store.accounts.getNamespace('team-a'))?.visibility, 'public');
    expectStatus(await call('PUT', '/api/v1/namespaces/team-a/grants/user/bob', { as: 'alice', body: { role: 'pull' } }), 200);
    expectStatus(await call('GET', '/api/v1/namespaces/team-a/grants', { as: 'alice' }), 200);
    expectStatus(await call('DELETE', '/api/v1/namespaces/team-a/grants/user/bob', { as: 'alice' }), 204);
    expectStatus(await call('DELETE', '/api/v1/namespaces/team-a/grants/user/bob', { as: 'alice' }), 404, 'RESOURCE_UNKNOWN');

    expectStatus(await call('PUT', '/api/v1/namespaces/team-b', { as: 'alice', body: { visibility: 'private' } }), 403, 'DENIED');
    expectStatus(await call('PUT', '/api/v1/namespaces/team-b/grants/user/alice', { as: 'alice', body: { role: 'admin' } }), 403, 'DENIED');
    expectStatus(await call('GET', '/api/v1/namespaces/team-b/grants', { as: 'alice' }), 403, 'DENIED');
    expectStatus(await call('DELETE', '/api/v1/namespaces/team-b/grants/user/root', { as: 'alice' }), 403, 'DENIED');
    expectStatus(await call('PUT', '/api/v1/namespaces/new-one', { as: 'alice', body: { visibility: 'public' } }), 403, 'DENIED');
    // Deleting a namespace is for registry admins, even for the namespace's own admin.
    expectStatus(await call('DELETE', '/api/v1/namespaces/team-a', { as: 'alice' }), 403, 'DENIED');
    assert.equal((await store.accounts.getNamespace('team-b'))?.visibility, 'public');
    assert.deepEqual(await store.accounts.rolesIn('team-b', 'alice', []), []);

    // A push role (through a team) is not enough to administer.
    await store.accounts.addTeamMember('devs', 'bob');
    expectStatus(await call('PUT', '/api/v1/namespaces/team-a', { as: 'bob', body: { visibility: 'private' } }), 403, 'DENIED');
    expectStatus(await call('PUT', '/api/v1/namespaces/team-a/grants/user/bob', { as: 'bob', body: { role: 'admin' } }), 403, 'DENIED');
  });

  it('lists every namespace to admins, and public ones plus those with a role to others', async () => {
    await store.accounts.setNamespaceVisibility('hidden', 'private');
    const names = async (as: string): Promise<string[]> =>
      ((await call('GET', '/api/v1/namespaces', { as })).body as { namespaces: { name: string }[] }).namespaces.map((n) => n.name);
    assert.deepEqual(await names('root'), ['hidden', 'team-a', 'team-b']);
    assert.deepEqual(await names('alice'), ['team-a', 'team-b']);
    await store.accounts.setNamespaceVisibility('team-a', 'private');
    assert.deepEqual(await names('bob'), ['team-a', 'team-b'], 'bob holds push on team-a through devs');
    assert.deepEqual(await names('carol'), ['team-b'], 'no role anywhere: the public namespaces only');
    expectStatus(await call('GET', '/api/v1/namespaces/hidden', { as: 'alice' }), 403, 'DENIED');
    expectStatus(await call('GET', '/api/v1/namespaces/team-b', { as: 'bob' }), 200);
  });
});

describe('admin API: tokens', () => {
  it('a user creates a token (secret shown once), signs in with it, lists and revokes it', async () => {
    const created = await call('POST', '/api/v1/tokens', {
      as: 'alice',
      body: { name: 'ci', scopes: [{ repository: 'team-a/**', actions: ['pull', 'push'] }], expiresIn: '720h' },
    });
    expectStatus(created, 201);
    const token = created.body as { id: string; token: string; owner: string; expiresAt: string; scopes: unknown };
    assert.match(token.token, /^berth_[0-9a-f]{16}_[0-9a-f]{64}$/);
    assert.equal(parseApiToken(token.token)?.id, token.id);
    assert.equal(token.owner, 'alice');
    assert.deepEqual(token.scopes, [{ repository: 'team-a/**', actions: ['pull', 'push'] }]);
    const lifetime = Date.parse(token.expiresAt) - Date.now();
    assert.ok(lifetime > 719 * 3600_000 && lifetime <= 720 * 3600_000, 'expires in 720h');
    assert.equal(created.headers['cache-control'], 'no-store');

    const listed = await call('GET', '/api/v1/tokens', { as: 'alice' });
    expectStatus(listed, 200);
    const tokens = (listed.body as { tokens: Record<string, unknown>[] }).tokens;
    assert.deepEqual(
      tokens.map((t) => t.id),
      [token.id],
    );
    assert.equal(tokens[0]?.token, undefined, 'the secret is never listed');
    assert.ok(!listed.text.includes(token.token.slice(23)), 'no part of the secret is listed');
    assert.equal(tokens[0]?.expired, false);

    // The token signs in, but it is for registry access: the admin API refuses it beyond /me.
    const me = await call('GET', '/api/v1/me', { auth: basic('alice', token.token) });
    expectStatus(me, 200);
    assert.equal((me.body as { via: string }).via, 'api-token');
    expectStatus(await call('GET', '/api/v1/tokens', { auth: basic('alice', token.token) }), 403, 'DENIED');
    expectStatus(
      await call('POST', '/api/v1/tokens', {
        auth: basic('alice', token.token),
        body: { name: 'more', scopes: [{ repository: '**', actions: ['*'] }], expiresIn: '1h' },
      }),
      403,
      'DENIED',
    );

    expectStatus(await call('DELETE', `/api/v1/tokens/${token.id}`, { as: 'alice' }), 204);
    expectStatus(await call('DELETE', `/api/v1/tokens/${token.id}`, { as: 'alice' }), 404, 'RESOURCE_UNKNOWN');
    expectStatus(await call('GET', '/api/v1/me', { auth: basic('alice', token.token) }), 401, 'UNAUTHORIZED');
  });

  it('a user cannot see, revoke or create tokens of another user; an admin can', async () => {
    const bobs = await call('POST', '/api/v1/tokens', {
      as: 'bob',
      body: {
        name: 'deploy',
        scopes: [{ repository: 'team-a/app', actions: ['pull'] }],
        expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      },
    });
    expectStatus(bobs, 201);
    const id = (bobs.body as { id: string }).id;

    assert.deepEqual(((await call('GET', '/api/v1/tokens', { as: 'alice' })).body as { tokens: unknown[] }).tokens, []);
    expectStatus(await call('GET', '/api/v1/tokens?user=bob', { as: 'alice' }), 403, 'DENIED');
    expectStatus(await call('GET', '/api/v1/tokens?all=true', { as: 'alice' }), 403, 'DENIED');
    expectStatus(await call('DELETE', `/api/v1/tokens/${id}`, { as: 'alice' }), 404, 'RESOURCE_UNKNOWN');
    expectStatus(
      await call('POST', '/api/v1/tokens', {
        as: 'alice',
        body: { name: 'x', user: 'bob', scopes: [{ repository: '**', actions: ['pull'] }], expiresIn: '1h' },
      }),
      403,
      'DENIED',
    );
    assert.ok(await store.accounts.getApiToken(id), "bob's token is untouched");

    const forBob = await call('GET', '/api/v1/tokens?user=bob', { as: 'root' });
    assert.deepEqual(
      (forBob.body as { tokens: { id: string }[] }).tokens.map((t) => t.id),
      [id],
    );
    const all = await call('GET', '/api/v1/tokens?all=true', { as: 'root' });
    assert.ok((all.body as { tokens: { id: string }[] }).tokens.some((t) => t.id === id));
    const minted = await call('POST', '/api/v1/tokens', {
      as: 'root',
      body: { name: 'robot', user: 'bob', scopes: [{ repository: '**', actions: ['pull'] }], expiresIn: '30d' },
    });
    expectStatus(minted, 201);
    assert.equal((minted.body as { owner: string }).owner, 'bob');
    expectStatus(await call('DELETE', `/api/v1/tokens/${id}`, { as: 'root' }), 204);
  });

  it('refuses tokens without expiry, beyond a year, with bad scopes or names (400)', async () => {
    const scopes = [{ repository: 'team-a/**', actions: ['pull'] }];
    const bad: unknown[] = [
      { name: 'ci', scopes },
      { name: 'ci', scopes, expiresIn: '8761h' },
      { name: 'ci', scopes, expiresIn: '366d' },
      { name: 'ci', scopes, expiresIn: '-1h' },
      { name: 'ci', scopes, expiresIn: 'soon' },
      { name: 'ci', scopes, expiresIn: '1h', expiresAt: '2030-01-01T00:00:00Z' },
      { name: 'ci', scopes, expiresAt: '2001-01-01T00:00:00Z' },
      { name: 'ci', scopes, expiresAt: 'tomorrow' },
      { name: 'ci', scopes: [], expiresIn: '1h' },
      { name: 'ci', scopes: [{ repository: 'Team/A', actions: ['pull'] }], expiresIn: '1h' },
      { name: 'ci', scopes: [{ repository: 'team-a', actions: [] }], expiresIn: '1h' },
      { name: 'ci', scopes: [{ repository: 'team-a', actions: ['admin'] }], expiresIn: '1h' },
      { name: '', scopes, expiresIn: '1h' },
      { name: 'ci\nx', scopes, expiresIn: '1h' },
      { scopes, expiresIn: '1h' },
      { name: 'ci', scopes, expiresIn: 720 },
    ];
    for (const body of bad) {
      expectStatus(await call('POST', '/api/v1/tokens', { as: 'alice', body }), 400, 'INVALID_REQUEST');
    }
    expectStatus(await call('DELETE', '/api/v1/tokens/not-an-id', { as: 'alice' }), 400, 'INVALID_REQUEST');
    assert.deepEqual(await store.accounts.listApiTokens('alice'), []);
    const wildcard = await call('POST', '/api/v1/tokens', {
      as: 'alice',
      body: { name: 'all actions', scopes: [{ repository: 'team-a/*', actions: ['*'] }], expiresIn: '8760h' },
    });
    expectStatus(wildcard, 201);
    assert.deepEqual((wildcard.body as { scopes: unknown }).scopes, [{ repository: 'team-a/*', actions: ['pull', 'push', 'delete'] }]);
  });

  it('deleting a user through the API removes their tokens, memberships and grants', async () => {
    await store.accounts.createUser({ name: 'gone', passwordHash: await hashPassword('gone-password', 4) });
    await store.accounts.addTeamMember('devs', 'gone');
    await store.accounts.setGrant('team-a', 'user', 'gone', 'push');
    const created = await call('POST', '/api/v1/tokens', {
      auth: basic('gone', 'gone-password'),
      body: { name: 'ci', scopes: [{ repository: 'team-a/**', actions: ['pull'] }], expiresIn: '1h' },
    });
    expectStatus(created, 201);
    const token = (created.body as { token: string }).token;
    expectStatus(await call('DELETE', '/api/v1/users/gone', { as: 'root' }), 204);
    expectStatus(await call('GET', '/api/v1/me', { auth: basic('gone', token) }), 401, 'UNAUTHORIZED');
    assert.deepEqual(await store.accounts.teamsOf('gone'), []);
    assert.deepEqual(await store.accounts.grantsOf('user', 'gone'), []);
    assert.deepEqual(await store.accounts.listApiTokens('gone'), []);
  });
});
