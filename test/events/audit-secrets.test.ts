// No password or token ever reaches the audit log: a running Berth with authentication, the web
// UI, an endpoint with a signing secret and every pull audited is signed in to every way it
// knows in htpasswd mode, right and wrong (Basic passwords and API tokens, a web UI session, a
// password changed through the admin API), and then none of those
// secrets, nor their Basic encodings, is in `berth audit export`, in GET /api/v1/audit, or
// anywhere in the database files.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { callRegistry } from '../helpers/call.js';
import { basicAuthorization } from '../helpers/credentials.js';
import { artifact, authConfig, DEV, pushEmptyConfig, putManifest, ROOT, writeUsers } from '../helpers/lifecycle.js';
import { childEnv, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const run = promisify(execFile);
const projectRoot = resolve(import.meta.dirname, '..', '..');
const WEBHOOK_SECRET = 'webhook-signing-secret-4f1c9e';
const NEW_PASSWORD = 'carol-new-password-77ab';
const FIRST_PASSWORD = 'carol-first-password-31cd';

describe('the audit log holds no secret', { concurrency: false }, () => {
  let receiver: WebhookReceiver;
  let registry: TestRegistry | undefined;

  before(async () => {
    receiver = await WebhookReceiver.start();
    const dir = await mkdtemp(join(tmpdir(), 'berth-audit-secrets-'));
    registry = await startRegistry({
      extraConfig: [
        authConfig(await writeUsers(dir)),
        'ui:',
        '  enabled: true',
        'audit:',
        '  pulls: 1',
        'notifications:',
        '  endpoints:',
        '    - name: receiver',
        `      url: ${receiver.url}`,
        '      allowprivateaddresses: true',
        `      secret: ${WEBHOOK_SECRET}`,
      ].join('\n'),
    });
  });

  after(async () => {
    await registry?.stop();
    await receiver.close();
  });

  it('signs in every way, right and wrong, and finds none of the secrets afterwards', async () => {
    assert.ok(registry);
    const secrets: string[] = ['dev-password', 'root-password', WEBHOOK_SECRET, NEW_PASSWORD, FIRST_PASSWORD];
    const basic = (user: string, password: string): string => {
      const header = basicAuthorization(user, password);
      secrets.push(password, header.slice('Basic '.length));
      return header;
    };

    // Basic passwords, right and wrong; a push and a pull with them.
    await pushEmptyConfig(registry, 'team/app', DEV);
    assert.equal((await putManifest(registry, 'team/app', 'v1', artifact(), DEV)).status, 201);
    assert.equal((await callRegistry(registry, 'GET', '/v2/team/app/tags/list', basic('dev', 'wrong-password-9d2e'))).status, 401);

    // API tokens: one created through the admin API and used, one made up.
    const created = await callRegistry(registry, 'POST', '/api/v1/tokens', DEV, {
      json: { name: 'ci', scopes: [{ repository: 'team/app', actions: ['pull', 'push'] }], expiresIn: '24h' },
    });
    assert.equal(created.status, 201, created.text);
    const apiToken = (JSON.parse(created.text) as { token: string }).token;
    secrets.push(apiToken, apiToken.slice(apiToken.lastIndexOf('_') + 1));
    assert.equal((await callRegistry(registry, 'GET', '/v2/team/app/manifests/v1', basic('dev', apiToken))).status, 200);
    const madeUp = `berth_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('hex')}`;
    assert.equal((await callRegistry(registry, 'GET', '/v2/team/app/manifests/v1', basic('dev', madeUp))).status, 401);
    // A token pasted as the user name is not recorded as the name tried.
    assert.equal(
      (await callRegistry(registry, 'GET', '/v2/team/app/manifests/v1', basic(madeUp, 'pasted-token-password-6c1d'))).status,
      401,
    );

    // A user whose password is changed through the admin API.
    const user = await callRegistry(registry, 'POST', '/api/v1/users', ROOT, { json: { name: 'carol', password: FIRST_PASSWORD } });
    assert.equal(user.status, 201, user.text);
    const changed = await callRegistry(registry, 'PUT', '/api/v1/users/carol/password', ROOT, { json: { password: NEW_PASSWORD } });
    assert.equal(changed.status, 204, changed.text);

    // The web UI: a sign-in with the wrong password, one with the right one, and the session used.
    const wrongSession = await callRegistry(registry, 'POST', '/api/v1/session', undefined, {
      json: { username: 'carol', password: 'wrong-session-password-0b3f' },
      headers: { 'x-berth-csrf': '1' },
    });
    secrets.push('wrong-session-password-0b3f');
    assert.equal(wrongSession.status, 401, wrongSession.text);
    const session = await callRegistry(registry, 'POST', '/api/v1/session', undefined, {
      json: { username: 'carol', password: NEW_PASSWORD },
      headers: { 'x-berth-csrf': '1' },
    });
    assert.equal(session.status, 200, session.text);
    const cookie = (session.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    assert.match(cookie, /^berth_session=./);
    const csrf = (JSON.parse(session.text) as { csrfToken: string }).csrfToken;
    secrets.push(cookie.slice(cookie.indexOf('=') + 1), csrf);
    assert.equal((await callRegistry(registry, 'GET', '/api/v1/me', undefined, { headers: { cookie } })).status, 200);
    const signOut = await callRegistry(registry, 'DELETE', '/api/v1/session', undefined, { headers: { cookie, 'x-berth-csrf': csrf } });
    assert.ok(signOut.status < 300, signOut.text);

    // The push's event was delivered, signed: the secret was in use.
    await receiver.waitFor(() => receiver.delivered().some((event) => event.action === 'push'), 'the push event');

    // Reading through the API writes what the server holds in memory.
    const listed = await callRegistry(registry, 'GET', '/api/v1/audit?limit=500', ROOT);
    assert.equal(listed.status, 200, listed.text);
    const { stdout: exported } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        join(projectRoot, 'src/cli/main.ts'),
        'audit',
        'export',
        '--since',
        '1h',
        '--config',
        join(registry.dataDir, 'berth-test-config.yml'),
      ],
      { cwd: projectRoot, env: childEnv() },
    );
    const lines = exported.trimEnd().split('\n');
    const actions = new Set(lines.map((line) => (JSON.parse(line) as { action: string }).action));
    for (const action of ['manifest.put', 'login', 'login.failed', 'admin', 'manifest.get']) assert.ok(actions.has(action), action);
    const failedNames = lines
      .map((line) => JSON.parse(line) as { action: string; detail?: { user?: string } })
      .filter((entry) => entry.action === 'login.failed')
      .map((entry) => entry.detail?.user);
    assert.ok(failedNames.includes('dev') && failedNames.includes('carol'), JSON.stringify(failedNames));
    assert.ok(
      lines.some((line) => {
        const entry = JSON.parse(line) as { action: string; actor?: string };
        return entry.action === 'login' && entry.actor === 'carol';
      }),
      'the web UI sign-in names who signed in',
    );

    for (const secret of secrets) {
      assert.equal(exported.includes(secret), false, `the export holds ${secret}`);
      assert.equal(listed.text.includes(secret), false, `the API's listing holds ${secret}`);
    }
    for (const file of (await readdir(registry.dataDir)).filter((name) => name.startsWith('berth.db'))) {
      const bytes: Buffer = await readFile(join(registry.dataDir, file));
      for (const secret of secrets) assert.equal(bytes.includes(secret), false, `${file} holds ${secret}`);
    }
  });
});
