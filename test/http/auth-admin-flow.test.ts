// The permission model managed through the admin API of a running registry (token mode): an
// administrator from the config creates a user, a private namespace and a grant; the user then
// pushes, anonymous callers cannot read until the namespace turns public (at once, on this
// replica); an API token narrows its owner to its scope; deleting the user ends their access.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { sha256 } from './support.js';

const berthOnly = { skip: testTarget === 'reference' ? 'Berth-only feature' : false };
const ROOT = `Basic ${Buffer.from('root:root-password').toString('base64')}`;
const BOB = `Basic ${Buffer.from('bob:bob-password-1').toString('base64')}`;

describe('permissions managed through the admin API', berthOnly, () => {
  let registry: TestRegistry;

  async function call(method: string, path: string, authorization?: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const response = await fetch(new URL(path, registry.url), {
      method,
      headers: {
        ...(authorization === undefined ? {} : { authorization }),
        ...(body === undefined || Buffer.isBuffer(body) ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: Buffer.isBuffer(body) ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    const isJson = response.headers.get('content-type')?.startsWith('application/json') === true && text !== '';
    return { status: response.status, json: isJson ? (JSON.parse(text) as unknown) : undefined };
  }

  async function pushBlob(repo: string, authorization: string | undefined): Promise<number> {
    const data = randomBytes(100);
    return (await call('POST', `/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, authorization, data)).status;
  }

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-admin-flow-'));
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(htpasswd, `root:${bcrypt.hashSync('root-password', 4)}\n`);
    registry = await startRegistry({
      extraConfig: [
        'auth:',
        '  tokenserver: {enabled: true}',
        `  htpasswd: {path: ${JSON.stringify(htpasswd)}}`,
        '  bcryptcost: 4',
        '  access:',
        '    admins: [root]',
        '    rules: []',
      ].join('\n'),
    });
  });
  after(() => registry?.stop());

  it('creates a user, a private namespace and a grant; the user pushes, others cannot read', async () => {
    assert.equal((await call('POST', '/api/v1/users', undefined, { name: 'bob', password: 'bob-password-1' })).status, 401);
    assert.equal((await call('POST', '/api/v1/users', ROOT, { name: 'bob', password: 'bob-password-1' })).status, 201);
    assert.equal((await call('PUT', '/api/v1/namespaces/team', ROOT, { visibility: 'private' })).status, 200);
    assert.equal(await pushBlob('team/app', BOB), 403, 'no grant yet');
    assert.equal((await call('PUT', '/api/v1/namespaces/team/grants/user/bob', ROOT, { role: 'push' })).status, 200);
    assert.equal(await pushBlob('team/app', BOB), 201);
    assert.equal((await call('DELETE', '/api/v1/namespaces/team', BOB)).status, 403, 'push is not namespace admin');
    assert.equal(await pushBlob('other/app', BOB), 403);
  });

  it('opens a namespace to anonymous pulls at once when it turns public', async () => {
    const data = randomBytes(50);
    const digest = sha256(data);
    assert.equal((await call('POST', `/v2/team/app/blobs/uploads/?digest=${digest}`, BOB, data)).status, 201);
    assert.equal((await call('GET', `/v2/team/app/blobs/${digest}`)).status, 401);
    assert.equal((await call('PUT', '/api/v1/namespaces/team', ROOT, { visibility: 'public' })).status, 200);
    assert.equal((await call('GET', `/v2/team/app/blobs/${digest}`)).status, 200);
    assert.equal(await pushBlob('team/app', undefined), 401, 'public means pull, not push');
  });

  it('narrows an API token to its scope, and ends access when the user is deleted', async () => {
    const created = await call('POST', '/api/v1/tokens', BOB, {
      name: 'ci',
      scopes: [{ repository: 'team/ci-*', actions: ['pull', 'push'] }],
      expiresIn: '24h',
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const secret = (created.json as { token: string }).token;
    assert.match(secret, /^berth_/);
    const viaToken = `Basic ${Buffer.from(`bob:${secret}`).toString('base64')}`;
    assert.equal(await pushBlob('team/ci-cache', viaToken), 201);
    assert.equal(await pushBlob('team/app', viaToken), 403, 'outside the token scope, though bob may push there');
    const listed = await call('GET', '/api/v1/tokens', BOB);
    assert.ok(!JSON.stringify(listed.json).includes(secret.slice(-20)), 'the secret is shown once only');
    assert.equal((await call('DELETE', '/api/v1/users/bob', ROOT)).status, 204);
    assert.equal(await pushBlob('team/app', BOB), 401);
    assert.equal(await pushBlob('team/ci-cache', viaToken), 401);
  });
});
