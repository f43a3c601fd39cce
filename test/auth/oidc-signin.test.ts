// Web UI sign-in through OpenID Connect, at the HTTP level, against a real issuer (oidc-provider,
// test/helpers/oidc-issuer.ts) and a real Berth process: the browser's part of the authorization
// code flow is played by fetch with a cookie jar and redirects followed by hand. A person signs
// in and gets the same session cookie a password sign-in gives, their account row is created
// with its origin marked and no password, their groups claim sets their team memberships (and a
// later sign-in removes one), they create an API token from the session and `podman login`s with
// it; a refused consent, a state that does not match, a lost flow cookie, an issuer that is down,
// an unknown provider and a name that belongs to a local account each end on the sign-in page
// with a message that says so. Then the same in Chromium: the sign-in page's provider button,
// the issuer's login and consent pages, back in the UI signed in; the account page creating and
// revoking a personal token; a refused consent shown on the sign-in page; axe-core on each.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import bcrypt from 'bcryptjs';
import type { Browser } from 'playwright-core';
import { assertUiBuilt, checkAccessibility, launchBrowser, openPage, saveScreenshot } from '../helpers/browser.js';
import { ContainerClients } from '../helpers/clients.js';
import { basicAuthorization } from '../helpers/credentials.js';
import { browserFetch, CookieJar, signInThroughIssuer, startOidcIssuer, type OidcIssuer } from '../helpers/oidc-issuer.js';
import { freePort } from '../helpers/ports.js';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';

const ADMIN = { user: 'root', password: 'root-password-1' };

describe('OpenID Connect sign-in of the web UI', { concurrency: false, skip: testTarget === 'reference' ? 'Berth-only' : false }, () => {
  let issuer: OidcIssuer | undefined;
  let registry: TestRegistry | undefined;
  let dir = '';

  const berth = (): TestRegistry => {
    assert.ok(registry, 'before() did not finish');
    return registry;
  };
  const startUrl = (provider = 'corp', returnPath?: string): string =>
    `${berth().url}/api/v1/session/oidc/start?${new URLSearchParams({ provider, ...(returnPath === undefined ? {} : { return: returnPath }) })}`;

  /** Signs in as `login` through the issuer and visits the callback; returns the jar and Berth's answer. */
  const signIn = async (login: string, returnPath?: string): Promise<{ jar: CookieJar; answer: Response }> => {
    const jar = new CookieJar();
    const callback = await signInThroughIssuer(jar, startUrl('corp', returnPath), berth().url, { login });
    const answer = await browserFetch(jar, callback);
    return { jar, answer };
  };

  /** The sign-in page's error message a redirect carries. */
  const errorOf = (answer: Response): string => {
    assert.equal(answer.status, 303);
    const location = new URL(answer.headers.get('location') ?? '', berth().url);
    assert.equal(location.pathname, '/ui/sign-in');
    return location.searchParams.get('error') ?? '';
  };

  const session = async (jar: CookieJar): Promise<{ user: { name: string } | null; csrfToken: string | null; providers: unknown }> =>
    (await (await browserFetch(jar, `${berth().url}/api/v1/session`)).json()) as never;

  before(async () => {
    issuer = await startOidcIssuer({
      people: {
        alice: { preferred_username: 'Alice', email: 'alice@example.com', groups: ['idp-developers', 'idp-ops', 'idp-unmapped'] },
        mallory: { preferred_username: 'root' },
        'bad-name': { preferred_username: 'Not A Name!' },
      },
    });
    // Nothing listens there: the provider that is down.
    const downPort = await freePort();
    dir = await mkdtemp(join(tmpdir(), 'berth-oidc-'));
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(htpasswd, `${ADMIN.user}:${bcrypt.hashSync(ADMIN.password, 5).replace(/^\$2b\$/, '$2y$')}\n`);
    registry = await startRegistry({
      extraConfig: [
        'auth:',
        `  htpasswd: {path: ${JSON.stringify(htpasswd)}}`,
        `  access: {admins: [${ADMIN.user}]}`,
        '  oidc:',
        '    providers:',
        '      - name: corp',
        '        displayname: Corp Login',
        `        issuer: ${issuer.url}`,
        '        clientid: berth',
        '        clientsecret: berth-test-secret',
        '        scopes: [openid, profile, email, groups]',
        '        groupsclaim: groups',
        '        teams: {idp-developers: developers, idp-ops: operators}',
        '      - name: down',
        `        issuer: http://127.0.0.1:${downPort}`,
        '        clientid: berth',
      ].join('\n'),
    });
    issuer.allowRedirect(`${registry.url}/api/v1/session/oidc/callback`);
    // The teams the mapping names, made by an administrator.
    for (const name of ['developers', 'operators', 'bystanders']) {
      const created = await fetch(`${registry.url}/api/v1/teams`, {
        method: 'POST',
        headers: { Authorization: basicAuthorization(ADMIN.user, ADMIN.password), 'Content-Type': 'application/json' },
        body: JSON.stringify({ name }),
      });
      assert.equal(created.status, 201);
    }
  });

  after(async () => {
    await registry?.stop();
    await issuer?.stop();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('lists the providers on GET /api/v1/session', async () => {
    const answer = await session(new CookieJar());
    assert.deepEqual(answer.providers, [
      { name: 'corp', displayName: 'Corp Login' },
      { name: 'down', displayName: 'down' },
    ]);
    assert.equal(answer.user, null);
  });

  it('signs a person in with the same session a password gives, and returns to the page they came from', async () => {
    const { jar, answer } = await signIn('alice', '/ui/r/team/app');
    assert.equal(answer.status, 303);
    assert.equal(answer.headers.get('location'), '/ui/r/team/app');
    const cookie = answer.headers.getSetCookie().find((line) => line.startsWith('berth_session='));
    assert.match(cookie ?? '', /HttpOnly; SameSite=Strict/);
    const current = await session(jar);
    assert.equal(current.user?.name, 'alice');
    assert.ok(current.csrfToken);
    // The flow cookie is for one use.
    assert.equal(jar.get(berth().url, 'berth_oidc_flow'), undefined);
  });

  it("creates the account without a password, marked as the provider's, with the mapped teams", async () => {
    const database = new Database(join(berth().dataDir, 'berth.db'), { readonly: true });
    try {
      const row = database.prepare('SELECT password_hash FROM users WHERE name = ?').get('alice') as { password_hash: string };
      assert.equal(row.password_hash, '!oidc:corp');
      const teams = (
        database.prepare('SELECT team FROM team_members WHERE user_name = ? ORDER BY team').all('alice') as { team: string }[]
      ).map((entry) => entry.team);
      assert.deepEqual(teams, ['developers', 'operators']);
    } finally {
      database.close();
    }
    // No password opens that account.
    const refused = await fetch(`${berth().url}/v2/`, { headers: { Authorization: basicAuthorization('alice', '!oidc:corp') } });
    assert.equal(refused.status, 401);
  });

  it('follows the groups claim at the next sign-in: a group left is a team left, other teams stay', async () => {
    const added = await fetch(`${berth().url}/api/v1/teams/bystanders/members/alice`, {
      method: 'PUT',
      headers: { Authorization: basicAuthorization(ADMIN.user, ADMIN.password) },
    });
    assert.equal(added.status, 200);
    issuer?.setPerson('alice', { preferred_username: 'alice', groups: ['idp-developers'] });
    const { jar } = await signIn('alice');
    const me = (await (await browserFetch(jar, `${berth().url}/api/v1/me`)).json()) as { name: string; teams: string[] };
    assert.equal(me.name, 'alice');
    assert.deepEqual([...me.teams].sort(), ['bystanders', 'developers']);
  });

  it('lets the signed-in person create an API token and log in with podman using it, then revoke it', async () => {
    const { jar } = await signIn('alice');
    const { csrfToken } = await session(jar);
    const created = await browserFetch(jar, `${berth().url}/api/v1/tokens`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Berth-CSRF': csrfToken ?? '' },
      body: JSON.stringify({ name: 'laptop', scopes: [{ repository: '**', actions: ['pull', 'push'] }], expiresIn: '24h' }),
    });
    assert.equal(created.status, 201);
    const token = (await created.json()) as { id: string; token: string; owner: string };
    assert.equal(token.owner, 'alice');
    const clients = await ContainerClients.create();
    try {
      const login = await clients.podman(['login', '--tls-verify=false', '-u', 'alice', '-p', token.token, berth().hostPort]);
      assert.match(login.stdout, /Login Succeeded/);
      const listed = (await (await browserFetch(jar, `${berth().url}/api/v1/tokens`)).json()) as { tokens: { id: string }[] };
      assert.deepEqual(
        listed.tokens.map((entry) => entry.id),
        [token.id],
      );
      const revoked = await browserFetch(jar, `${berth().url}/api/v1/tokens/${token.id}`, {
        method: 'DELETE',
        headers: { 'X-Berth-CSRF': csrfToken ?? '' },
      });
      assert.equal(revoked.status, 204);
      const after = await fetch(`${berth().url}/v2/`, { headers: { Authorization: basicAuthorization('alice', token.token) } });
      assert.equal(after.status, 401);
    } finally {
      await clients.cleanup();
    }
  });

  it('ends on the sign-in page when the person refuses consent', async () => {
    const jar = new CookieJar();
    const callback = await signInThroughIssuer(jar, startUrl(), berth().url, { login: 'alice', denyConsent: true });
    const message = errorOf(await browserFetch(jar, callback));
    assert.match(message, /did not allow the sign-in \(access denied\)/);
    assert.equal((await session(jar)).user, null);
  });

  it("refuses an answer whose state does not match the browser's sign-in", async () => {
    const jar = new CookieJar();
    const callback = new URL(await signInThroughIssuer(jar, startUrl(), berth().url, { login: 'alice' }));
    callback.searchParams.set('state', 'forged-state');
    assert.match(errorOf(await browserFetch(jar, callback.href)), /state mismatch/);
    assert.equal((await session(jar)).user, null);
  });

  it('refuses a callback without the flow cookie (another browser, or too late)', async () => {
    const jar = new CookieJar();
    const callback = await signInThroughIssuer(jar, startUrl(), berth().url, { login: 'alice' });
    const elsewhere = new CookieJar();
    assert.match(errorOf(await browserFetch(elsewhere, callback)), /started in another browser/);
  });

  it('says when the issuer cannot be reached, and when the provider is unknown', async () => {
    assert.match(errorOf(await browserFetch(new CookieJar(), startUrl('down'))), /^down cannot be reached right now/);
    assert.match(errorOf(await browserFetch(new CookieJar(), startUrl('nobody'))), /no sign-in provider named "nobody"/);
  });

  it('never signs anyone in as a local account or under a name Berth cannot use', async () => {
    const { answer } = await signIn('mallory');
    assert.match(errorOf(answer), /"root" belongs to a local account/);
    const bad = await signIn('bad-name');
    assert.match(errorOf(bad.answer), /is not a valid Berth user name/);
  });
  describe('in Chromium', () => {
    let browser: Browser | undefined;

    before(async () => {
      assertUiBuilt();
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
    });

    const open = async () => {
      assert.ok(browser, 'the browser did not start');
      return openPage(browser, { baseUrl: berth().url });
    };

    it("signs in through the provider button, the issuer's pages and back, then makes and revokes a token on the account page", async () => {
      issuer?.setPerson('carol', { preferred_username: 'carol', groups: ['idp-ops'] });
      const { page, consoleErrors } = await open();
      try {
        await page.goto('/ui/sign-in');
        const button = page.getByRole('button', { name: 'Sign in with Corp Login' });
        await button.waitFor();
        await checkAccessibility(page, 'the sign-in page with a provider');
        await saveScreenshot(page, 'oidc-sign-in');
        await button.click();
        // The issuer's development login and consent pages.
        await page.locator('input[name="login"]').fill('carol');
        await page.locator('input[name="password"]').fill('any');
        await page.getByRole('button', { name: 'Sign-in' }).click();
        await page.getByRole('button', { name: 'Continue' }).click();
        const header = page.getByRole('navigation', { name: 'Account' });
        await header.getByText('carol', { exact: true }).waitFor();
        assert.equal(new URL(page.url()).pathname, '/ui/');

        await header.getByRole('link', { name: 'Account and tokens' }).click();
        await page.getByRole('heading', { name: 'Your account' }).waitFor();
        await page.getByText('member of operators').waitFor();
        await page.getByLabel('Token name').fill('ci-laptop');
        await page.getByRole('button', { name: 'Create token' }).click();
        const shown = page.getByRole('status');
        await shown.getByText('Token ci-laptop created.').waitFor();
        const command = (await shown.textContent()) ?? '';
        const secret = /berth_[0-9a-f]+_[0-9a-f]+/.exec(command)?.[0];
        assert.ok(secret, `no token in ${command}`);
        const works = await fetch(`${berth().url}/v2/`, { headers: { Authorization: basicAuthorization('carol', secret) } });
        assert.equal(works.status, 200);
        await checkAccessibility(page, 'the account page with a new token');
        await saveScreenshot(page, 'oidc-account');

        await page.getByRole('button', { name: 'Revoke ci-laptop' }).click();
        await page.getByRole('button', { name: 'Revoke token' }).click();
        await page.getByText('You have no tokens.').waitFor();
        const revoked = await fetch(`${berth().url}/v2/`, { headers: { Authorization: basicAuthorization('carol', secret) } });
        assert.equal(revoked.status, 401);
        // The issuer's development pages load web fonts it cannot reach here; Berth's pages must be clean.
        assert.deepEqual(
          consoleErrors.filter((entry) => entry.includes(berth().url)),
          [],
        );
      } finally {
        await page.close();
      }
    });

    it('shows a refused consent on the sign-in page', async () => {
      const { page } = await open();
      try {
        await page.goto('/ui/sign-in');
        await page.getByRole('button', { name: 'Sign in with Corp Login' }).click();
        await page.locator('input[name="login"]').fill('carol');
        await page.locator('input[name="password"]').fill('any');
        await page.getByRole('button', { name: 'Sign-in' }).click();
        await page.getByRole('link', { name: '[ Cancel ]' }).click();
        await page.getByText('Corp Login did not allow the sign-in (access denied)').waitFor();
        assert.equal(new URL(page.url()).pathname, '/ui/sign-in');
        await checkAccessibility(page, 'the sign-in page with an error');
        await saveScreenshot(page, 'oidc-sign-in-refused');
      } finally {
        await page.close();
      }
    });
  });
});
