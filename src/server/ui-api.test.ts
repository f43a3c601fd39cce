// The web UI's API over buildApp (inject, an htpasswd file, a temporary SQLite file): sign-in
// sets an HttpOnly SameSite=Strict cookie and answers with a CSRF token; the cookie stands for
// the user on /api/v1 and /v2/ as a password would; state-changing calls without the token are
// refused; sign-out ends the session; forged or ended cookies count as anonymous; repository
// listings and tag pages show only what the caller may pull, with the same answer for
// repositories that do not exist; listed sizes are the usage report's bytes per repository; tags
// are marked by immutability rules and by what retention would do now, as the admin API sets them.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import pino from 'pino';
import { parseConfig } from '../config/index.js';
import { buildApp, type BerthApp } from './build-app.js';

const PASSWORDS: Record<string, string> = { root: 'root-password', alice: 'alice-password' };

function basic(user: string): string {
  return `Basic ${Buffer.from(`${user}:${PASSWORDS[user]}`).toString('base64')}`;
}

function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

describe('web UI API', () => {
  let dir: string;
  let app: BerthApp;

  async function push(repository: string, tag: string): Promise<string> {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const layer = Buffer.from(`layer of ${repository}:${tag}`);
    for (const blob of [config, layer]) {
      const started = await app.http.inject({
        method: 'POST',
        url: `/v2/${repository}/blobs/uploads/`,
        headers: { authorization: basic('root') },
      });
      assert.equal(started.statusCode, 202, started.body);
      const location = String(started.headers.location);
      const separator = location.includes('?') ? '&' : '?';
      const put = await app.http.inject({
        method: 'PUT',
        url: `${location}${separator}digest=${digestOf(blob)}`,
        headers: { authorization: basic('root'), 'content-type': 'application/octet-stream' },
        payload: blob,
      });
      assert.equal(put.statusCode, 201, put.body);
    }
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(layer), size: layer.length }],
      }),
    );
    const put = await app.http.inject({
      method: 'PUT',
      url: `/v2/${repository}/manifests/${tag}`,
      headers: { authorization: basic('root'), 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      payload: manifest,
    });
    assert.equal(put.statusCode, 201, put.body);
    return digestOf(manifest);
  }

  async function signIn(user: string): Promise<{ cookie: string; csrf: string; setCookie: string }> {
    const response = await app.http.inject({
      method: 'POST',
      url: '/api/v1/session',
      headers: { 'x-berth-csrf': '1' },
      payload: { username: user, password: PASSWORDS[user] },
    });
    assert.equal(response.statusCode, 200, response.body);
    const setCookie = String(response.headers['set-cookie']);
    const cookie = setCookie.split(';')[0] ?? '';
    return { cookie, csrf: JSON.parse(response.body).csrfToken, setCookie };
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-ui-api-'));
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(
      htpasswd,
      Object.entries(PASSWORDS)
        .map(([user, password]) => `${user}:${bcrypt.hashSync(password, 4)}\n`)
        .join(''),
    );
    const yaml = [
      'auth:',
      `  htpasswd: {realm: test, path: ${JSON.stringify(htpasswd)}}`,
      '  access:',
      '    admins: [root]',
      '    rules:',
      '      - {repository: "team/**", users: {alice: [pull]}}',
      'storage:',
      '  delete: {enabled: true}',
      '',
    ].join('\n');
    app = await buildApp(parseConfig(yaml, { cwd: dir, env: {} }), pino({ level: 'silent' }));
    await push('pub/web', 'v1');
    await push('pub/web_2', 'v1');
    await push('team/api', 'v1');
    await push('team/api', 'v2');
    await push('secret/db', 'v1');
    const visibility = await app.http.inject({
      method: 'PUT',
      url: '/api/v1/namespaces/pub',
      headers: { authorization: basic('root') },
      payload: { visibility: 'public' },
    });
    assert.equal(visibility.statusCode, 200, visibility.body);
  });
  after(async () => {
    await app.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('signs in with a password: an HttpOnly SameSite=Strict cookie and a CSRF token', async () => {
    const anonymous = await app.http.inject('/api/v1/session');
    assert.deepEqual(JSON.parse(anonymous.body), { authEnabled: true, user: null, csrfToken: null, providers: [] });
    const { cookie, csrf, setCookie } = await signIn('alice');
    assert.match(setCookie, /^berth_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28\d{3}$/);
    assert.ok(csrf.length >= 32);
    const session = await app.http.inject({ url: '/api/v1/session', headers: { cookie } });
    assert.deepEqual(JSON.parse(session.body), {
      authEnabled: true,
      user: { name: 'alice', admin: false },
      csrfToken: csrf,
      providers: [],
    });
    const me = await app.http.inject({ url: '/api/v1/me', headers: { cookie } });
    assert.equal(me.statusCode, 200, me.body);
    assert.equal(JSON.parse(me.body).name, 'alice');
  });

  it('refuses a wrong password without a browser challenge, and sign-in without the CSRF header', async () => {
    const wrong = await app.http.inject({
      method: 'POST',
      url: '/api/v1/session',
      headers: { 'x-berth-csrf': '1' },
      payload: { username: 'alice', password: 'nope' },
    });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.headers['www-authenticate'], undefined);
    assert.equal(wrong.headers['set-cookie'], undefined);
    const crossSite = await app.http.inject({
      method: 'POST',
      url: '/api/v1/session',
      payload: { username: 'alice', password: PASSWORDS.alice },
    });
    assert.equal(crossSite.statusCode, 403);
    assert.equal(JSON.parse(crossSite.body).errors[0].code, 'DENIED');
    const malformed = await app.http.inject({
      method: 'POST',
      url: '/api/v1/session',
      headers: { 'x-berth-csrf': '1' },
      payload: { user: 'x' },
    });
    assert.equal(malformed.statusCode, 400);
  });

  it('needs the CSRF token on state-changing calls made with the cookie', async () => {
    const { cookie, csrf } = await signIn('root');
    const body = { name: 'ci', scopes: [{ repository: 'team/**', actions: ['pull'] }], expiresIn: '24h' };
    const without = await app.http.inject({ method: 'POST', url: '/api/v1/tokens', headers: { cookie }, payload: body });
    assert.equal(without.statusCode, 403, without.body);
    assert.match(JSON.parse(without.body).errors[0].message, /CSRF/);
    const wrong = await app.http.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { cookie, 'x-berth-csrf': `${csrf}x` },
      payload: body,
    });
    assert.equal(wrong.statusCode, 403);
    const right = await app.http.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { cookie, 'x-berth-csrf': csrf },
      payload: body,
    });
    assert.equal(right.statusCode, 201, right.body);
    // /v2/ too: a tag deleted with the cookie needs the token.
    const refused = await app.http.inject({ method: 'DELETE', url: '/v2/pub/web_2/manifests/v1', headers: { cookie } });
    assert.equal(refused.statusCode, 403);
    const deleted = await app.http.inject({
      method: 'DELETE',
      url: '/v2/pub/web_2/manifests/v1',
      headers: { cookie, 'x-berth-csrf': csrf },
    });
    assert.equal(deleted.statusCode, 202, deleted.body);
    assert.equal((await app.http.inject({ url: '/v2/pub/web_2/manifests/v1' })).statusCode, 404);
  });

  it('lists only the repositories the caller may pull, filtered by name, a page at a time', async () => {
    const names = async (url: string, cookie?: string): Promise<string[]> => {
      const response = await app.http.inject({ url, headers: cookie === undefined ? {} : { cookie } });
      assert.equal(response.statusCode, 200, response.body);
      return (JSON.parse(response.body).repositories as { name: string }[]).map((repository) => repository.name);
    };
    assert.deepEqual(await names('/api/v1/repositories'), ['pub/web', 'pub/web_2']);
    const alice = (await signIn('alice')).cookie;
    assert.deepEqual(await names('/api/v1/repositories', alice), ['pub/web', 'pub/web_2', 'team/api']);
    const root = (await signIn('root')).cookie;
    assert.deepEqual(await names('/api/v1/repositories', root), ['pub/web', 'pub/web_2', 'secret/db', 'team/api']);
    // _ is a literal, not LIKE's wildcard.
    assert.deepEqual(await names('/api/v1/repositories?q=b_', root), ['pub/web_2']);
    assert.deepEqual(await names('/api/v1/repositories?q=API', alice), ['team/api']);
    const first = await app.http.inject({ url: '/api/v1/repositories?n=2', headers: { cookie: root } });
    const page = JSON.parse(first.body) as { repositories: { name: string; tags: number; lastPush: string | null }[]; next: string };
    assert.deepEqual(
      page.repositories.map((repository) => repository.name),
      ['pub/web', 'pub/web_2'],
    );
    assert.equal(page.repositories[0]?.tags, 1);
    assert.equal(page.next, 'pub/web_2');
    assert.deepEqual(await names(`/api/v1/repositories?n=2&last=${page.next}`, root), ['secret/db', 'team/api']);
    assert.equal((await app.http.inject('/api/v1/repositories?n=0')).statusCode, 400);
  });

  it("shows a repository's tags with digest and size to who may pull it, and the same refusal whether it exists or not", async () => {
    const alice = (await signIn('alice')).cookie;
    const response = await app.http.inject({ url: '/api/v1/tags?repository=team/api', headers: { cookie: alice } });
    assert.equal(response.statusCode, 200, response.body);
    const list = JSON.parse(response.body) as {
      tags: { name: string; digest: string; size: number; pushedAt: string }[];
      mayDelete: boolean;
    };
    assert.deepEqual(
      list.tags.map((tag) => tag.name),
      ['v1', 'v2'],
    );
    assert.match(list.tags[0]?.digest ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.ok((list.tags[0]?.size ?? 0) > 0);
    assert.equal(list.mayDelete, false);
    for (const repository of ['secret/db', 'secret/none']) {
      const refused = await app.http.inject({ url: `/api/v1/tags?repository=${repository}`, headers: { cookie: alice } });
      assert.equal(refused.statusCode, 403, repository);
      const anonymous = await app.http.inject(`/api/v1/tags?repository=${repository}`);
      assert.equal(anonymous.statusCode, 401);
      assert.equal(anonymous.headers['www-authenticate'], undefined);
    }
    assert.equal((await app.http.inject('/api/v1/tags?repository=Bad Name')).statusCode, 400);
  });

  it("lists each repository's size as the usage report counts it, and marks tags by immutability and retention rules", async () => {
    const root = basic('root');
    const listed = await app.http.inject({ url: '/api/v1/repositories?q=team/', headers: { authorization: root } });
    const sizes = new Map(
      (JSON.parse(listed.body).repositories as { name: string; size: number }[]).map((repository) => [repository.name, repository.size]),
    );
    const usage = await app.http.inject({ url: '/api/v1/usage/namespaces/team', headers: { authorization: root } });
    assert.equal(usage.statusCode, 200, usage.body);
    const report = JSON.parse(usage.body).repositoryUsage as { repository: string; bytes: number }[];
    assert.deepEqual(new Map(report.map((row) => [row.repository, row.bytes])), sizes);
    // team/api: one config blob (the same for both tags), a layer and a manifest per tag.
    assert.ok((sizes.get('team/api') ?? 0) > 2 * 'layer of team/api:v1'.length);

    await push('team/marks', 'old');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await push('team/marks', 'new');
    const marks = async (): Promise<Record<string, unknown>> => {
      const response = await app.http.inject({ url: '/api/v1/tags?repository=team/marks', headers: { authorization: root } });
      assert.equal(response.statusCode, 200, response.body);
      const tags = JSON.parse(response.body).tags as { name: string; immutable: boolean; retention: unknown }[];
      return Object.fromEntries(tags.map((tag) => [tag.name, { immutable: tag.immutable, retention: tag.retention }]));
    };
    assert.deepEqual(await marks(), { new: { immutable: false, retention: null }, old: { immutable: false, retention: null } });
    const created = await app.http.inject({
      method: 'POST',
      url: '/api/v1/retention/rules',
      headers: { authorization: root },
      payload: { repositories: 'team/marks', keeplast: 1 },
    });
    assert.equal(created.statusCode, 201, created.body);
    const rule = JSON.parse(created.body).id as string;
    assert.deepEqual(await marks(), {
      new: { immutable: false, retention: { rule, keeps: true, reasons: [] } },
      old: { immutable: false, retention: { rule, keeps: false, reasons: ['keeplast'] } },
    });
    const frozen = await app.http.inject({
      method: 'POST',
      url: '/api/v1/immutability/rules',
      headers: { authorization: root },
      payload: { repositories: 'team/marks', tags: ['old'] },
    });
    assert.equal(frozen.statusCode, 201, frozen.body);
    // An immutable tag is never untagged by retention.
    assert.deepEqual(await marks(), {
      new: { immutable: false, retention: { rule, keeps: true, reasons: [] } },
      old: { immutable: true, retention: { rule, keeps: true, reasons: [] } },
    });
    for (const url of [`/api/v1/retention/rules/${rule}`, `/api/v1/immutability/rules/${JSON.parse(frozen.body).id}`]) {
      assert.equal((await app.http.inject({ method: 'DELETE', url, headers: { authorization: root } })).statusCode, 204, url);
    }
  });

  it('signs out: the session ends, its cookie is cleared and counts as anonymous; forged cookies too', async () => {
    const { cookie, csrf } = await signIn('alice');
    const refused = await app.http.inject({ method: 'DELETE', url: '/api/v1/session', headers: { cookie } });
    assert.equal(refused.statusCode, 403);
    const out = await app.http.inject({ method: 'DELETE', url: '/api/v1/session', headers: { cookie, 'x-berth-csrf': csrf } });
    assert.equal(out.statusCode, 204);
    assert.match(String(out.headers['set-cookie']), /^berth_session=; .*Max-Age=0/);
    const after = await app.http.inject({ url: '/api/v1/session', headers: { cookie } });
    assert.equal(JSON.parse(after.body).user, null);
    assert.equal((await app.http.inject({ url: '/api/v1/tags?repository=team/api', headers: { cookie } })).statusCode, 401);
    const forged = `${cookie.slice(0, -2)}xx`;
    assert.equal(JSON.parse((await app.http.inject({ url: '/api/v1/session', headers: { cookie: forged } })).body).user, null);
  });
});
