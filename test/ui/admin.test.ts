// The web UI's administrators' pages in Debian's Chromium against a real Berth (token mode,
// htpasswd root as the configured administrator and dev as a plain user, database users created
// through the UI), with a webhook receiver for events and a second Berth as a pull-through
// upstream. Each flow is done through the page and then checked against the registry's own API:
// a created user signs in; a token shown once works with podman login and at /v2/ until it is
// revoked; a team's grant changes what its member may push; GC runs show in the history; rules
// and quotas are listed by the API; read-only mode refuses a push; webhook endpoints are added,
// tested and redelivered to; the audit log filters and pages like the API. Every admin page
// passes axe-core in light and dark mode, on a desktop and at phone width, with a screenshot and
// no console errors; a non-administrator sees no admin navigation, never loads its chunk, and
// gets 403 from the admin API with their own session.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { checkAccessibility, horizontalOverflow, launchBrowser, LOOKS, openPage, saveScreenshot, signIn } from '../helpers/browser.js';
import { callRegistry } from '../helpers/call.js';
import { ContainerClients } from '../helpers/clients.js';
import { basicAuthorization } from '../helpers/credentials.js';
import { artifact, DEV, pushEmptyConfig, putManifest, ROOT, writeUsers } from '../helpers/lifecycle.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { sha256 } from '../http/support.js';

const projectRoot = resolve(import.meta.dirname, '..', '..');

/** Every admin section's path and heading, as AdminPages.tsx lists them. */
const SECTIONS = [
  ['users', 'Users'],
  ['teams', 'Teams'],
  ['namespaces', 'Namespaces'],
  ['tokens', 'API tokens'],
  ['upstreams', 'Pull-through upstreams'],
  ['storage', 'Storage and quotas'],
  ['gc', 'Garbage collection'],
  ['rules', 'Retention and immutability'],
  ['read-only', 'Read-only mode'],
  ['webhooks', 'Webhooks and events'],
  ['audit', 'Audit log'],
] as const;

/**
 * Builds the UI into dist/web (where Berth serves it from) unless the build there is newer than
 * every file of web/src and holds the admin chunk.
 */
function buildUiIfStale(): void {
  const index = join(projectRoot, 'dist', 'web', 'index.html');
  const newestSource = (dir: string): number =>
    Math.max(
      ...readdirSync(dir, { withFileTypes: true }).map((entry) =>
        entry.isDirectory() ? newestSource(join(dir, entry.name)) : statSync(join(dir, entry.name)).mtimeMs,
      ),
    );
  const assets = join(projectRoot, 'dist', 'web', 'assets');
  const fresh =
    existsSync(index) &&
    statSync(index).mtimeMs > newestSource(join(projectRoot, 'web')) &&
    readdirSync(assets).some((name) => name.startsWith('AdminPages-'));
  if (!fresh) {
    execFileSync('node_modules/.bin/vite', ['build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], {
      cwd: projectRoot,
      stdio: 'inherit',
    });
  }
}

/** The page's document, as the functions run in the browser see it (the tests compile without the DOM types). */
interface PageDocument {
  querySelectorAll(selector: string): Iterable<{ readonly textContent: string | null }>;
}

/** Waits until no part of the page is still loading (functions, not strings: the UI's CSP forbids eval). */
async function loaded(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const { document } = globalThis as unknown as { document: PageDocument };
    return ![...document.querySelectorAll('[aria-live=polite]')].some((element) => element.textContent?.startsWith('Loading'));
  });
}

/** A blob pushed monolithically; the status says whether the push was allowed. */
async function pushBlob(registry: TestRegistry, repository: string, authorization: string): Promise<number> {
  const data = randomBytes(64);
  const answer = await callRegistry(registry, 'POST', `/v2/${repository}/blobs/uploads/?digest=${sha256(data)}`, authorization, {
    body: data,
    headers: { 'content-type': 'application/octet-stream' },
  });
  return answer.status;
}

describe('web UI: administration', () => {
  let registry: TestRegistry;
  let upstream: TestRegistry;
  let receiver: WebhookReceiver;
  let browser: Browser;
  let usersDir: string;
  /** root's page, signed in once; the flows navigate it from section to section. */
  let root: Page;
  let rootErrors: string[];

  async function api<T>(method: string, path: string, json?: unknown, authorization = ROOT): Promise<{ status: number; body: T }> {
    const answer = await callRegistry(registry, method, path, authorization, json === undefined ? {} : { json });
    return { status: answer.status, body: (answer.text === '' ? undefined : JSON.parse(answer.text)) as T };
  }

  /** Opens an admin section on root's page through the section navigation and waits for its heading. */
  async function open(section: (typeof SECTIONS)[number][0]): Promise<Page> {
    const entry = SECTIONS.find(([path]) => path === section);
    assert.ok(entry);
    if (!root.url().includes('/ui/admin')) {
      await root.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: 'Administration' }).click();
    }
    await root.getByRole('navigation', { name: 'Administration' }).getByRole('link', { name: entry[1], exact: true }).click();
    await root.getByRole('heading', { level: 1, name: entry[1] }).waitFor();
    return root;
  }

  /** Clicks the button and then the confirmation dialog's button. */
  async function confirm(page: Page, button: string, confirmation: string): Promise<void> {
    await page.getByRole('button', { name: button, exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: confirmation, exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
  }

  before(async () => {
    buildUiIfStale();
    usersDir = await mkdtemp(join(tmpdir(), 'berth-ui-admin-'));
    const htpasswd = await writeUsers(usersDir);
    receiver = await WebhookReceiver.start();
    upstream = await startRegistry();
    await pushEmptyConfig(upstream, 'library/hello');
    const pushed = await putManifest(upstream, 'library/hello', 'v1', artifact());
    assert.equal(pushed.status, 201, pushed.text);
    registry = await startRegistry({
      extraConfig: [
        'auth:',
        '  tokenserver: {enabled: true}',
        `  htpasswd: {path: ${JSON.stringify(htpasswd)}}`,
        '  bcryptcost: 4',
        '  access:',
        '    admins: [root]',
        '    rules: []',
        'proxy:',
        `  upstreams: [{name: up, url: ${JSON.stringify(upstream.url)}, namespace: up, allowprivateaddresses: true}]`,
        'notifications:',
        '  endpoints:',
        '    - name: receiver',
        `      url: ${receiver.url}`,
        '      timeout: 2s',
        '      backoff: 100ms',
        '      maxbackoff: 500ms',
        '      allowprivateaddresses: true',
      ].join('\n'),
    });
    browser = await launchBrowser();
    ({ page: root, consoleErrors: rootErrors } = await openPage(browser, { baseUrl: registry.url }));
    await signIn(root, registry.url, 'root', 'root-password');
  });
  after(async () => {
    await browser?.close();
    await registry?.stop();
    await upstream?.stop();
    await receiver?.close();
    await rm(usersDir, { recursive: true, force: true });
  });

  it('shows a non-administrator no admin navigation, and the server refuses their session', async () => {
    const { page } = await openPage(browser, { baseUrl: registry.url });
    const scripts: string[] = [];
    page.on('request', (request) => {
      if (request.resourceType() === 'script') scripts.push(request.url());
    });
    await signIn(page, registry.url, 'dev', 'dev-password');
    assert.equal(await page.getByRole('link', { name: 'Administration' }).count(), 0);
    await page.goto('/ui/admin/users');
    await page.getByRole('alert').getByText('Only registry administrators').waitFor();
    assert.equal(await page.getByRole('navigation', { name: 'Administration' }).count(), 0);
    // The same calls the admin pages make, with dev's cookie and CSRF token: all refused.
    const statuses = await page.evaluate(async () => {
      const session = (await (await fetch('/api/v1/session')).json()) as { csrfToken: string };
      const headers = { 'Content-Type': 'application/json', 'X-Berth-CSRF': session.csrfToken };
      return [
        (await fetch('/api/v1/users')).status,
        (await fetch('/api/v1/audit')).status,
        (await fetch('/api/v1/upstreams')).status,
        (await fetch('/api/v1/users', { method: 'POST', headers, body: JSON.stringify({ name: 'mallory', password: 'mallory-pass' }) }))
          .status,
        (await fetch('/api/v1/maintenance/readonly', { method: 'PUT', headers, body: JSON.stringify({ enabled: true }) })).status,
        (await fetch('/api/v1/gc/runs', { method: 'POST', headers, body: JSON.stringify({ dryRun: true }) })).status,
      ];
    });
    assert.deepEqual(statuses, [403, 403, 403, 403, 403, 403]);
    // The admin pages' chunk is never even loaded for a non-administrator.
    assert.ok(scripts.length > 0);
    assert.deepEqual(
      scripts.filter((url) => url.includes('AdminPages')),
      [],
    );
    assert.equal((await api('GET', '/api/v1/users/mallory')).status, 404);
    await page.close();
  });

  it('creates a database user who then signs in, makes them an administrator, sets their password and deletes them', async () => {
    const page = await open('users');
    await page.getByLabel('Name', { exact: true }).fill('carol');
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('alert').getByText('at least 8 characters').waitFor();
    await page.getByLabel('Password', { exact: true }).fill('carol-password');
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('status').getByText('Created user carol.').waitFor();
    await page.getByRole('row', { name: /carol/ }).waitFor();
    const created = await api<{ name: string; admin: boolean }>('GET', '/api/v1/users/carol');
    assert.equal(created.status, 200);
    assert.equal(created.body.admin, false);

    const { page: carol } = await openPage(browser, { baseUrl: registry.url });
    await signIn(carol, registry.url, 'carol', 'carol-password');
    assert.equal(await carol.getByRole('link', { name: 'Administration' }).count(), 0);

    await page.getByRole('button', { name: 'Make carol administrator' }).click();
    await page.getByRole('button', { name: 'Remove administrator carol' }).waitFor();
    assert.equal((await api<{ admin: boolean }>('GET', '/api/v1/users/carol')).body.admin, true);
    await page.getByLabel('New password for carol').fill('carol-second-password');
    await page.getByRole('button', { name: 'Set password' }).first().click();
    await page.getByRole('status').getByText('Password of carol set.').waitFor();
    assert.equal((await api('GET', '/api/v1/me', undefined, basicAuthorization('carol', 'carol-password'))).status, 401);
    assert.equal((await api('GET', '/api/v1/me', undefined, basicAuthorization('carol', 'carol-second-password'))).status, 200);
    // Signed in again with the new password, carol is an administrator and sees the admin pages.
    await signIn(carol, registry.url, 'carol', 'carol-second-password');
    await carol.getByRole('link', { name: 'Administration' }).click();
    await carol.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
    assert.equal(await carol.title(), 'Users · Administration · Berth');
    // An unknown section says so, beside the navigation.
    await carol.goto('/ui/admin/nothing-here');
    await carol.getByRole('heading', { level: 1, name: 'Not found' }).waitFor();
    await carol.getByRole('navigation', { name: 'Administration' }).waitFor();
    await carol.close();

    await confirm(page, 'Delete carol', 'Delete user');
    await page.getByRole('row', { name: /carol/ }).waitFor({ state: 'detached' });
    assert.equal((await api('GET', '/api/v1/users/carol')).status, 404);
    // The one refused creation is the only failed request so far.
    assert.deepEqual(
      rootErrors.filter((error) => !error.includes('status of 400')),
      [],
    );
    rootErrors.length = 0;
  });

  it('creates an API token shown once that works at /v2/ until it is revoked', async () => {
    const page = await open('tokens');
    await page.getByLabel('Token name').fill('ci');
    await page.getByLabel('Owner').fill('dev');
    await page.getByLabel('Repositories').fill('team/**');
    await page.getByLabel('Actions').fill('pull, push');
    await page.getByRole('button', { name: 'Create token' }).click();
    const once = page.locator('.once code');
    await once.waitFor();
    const token = ((await once.textContent()) ?? '').trim();
    assert.match(token, /^berth_[0-9a-f]{16}_/);
    const listed = await api<{ tokens: { id: string; owner: string; name: string }[] }>('GET', '/api/v1/tokens?all=true');
    const record = listed.body.tokens.find((entry) => entry.name === 'ci');
    assert.equal(record?.owner, 'dev');
    assert.ok(token.startsWith(`berth_${record?.id}_`));
    assert.equal((await callRegistry(registry, 'GET', '/v2/', basicAuthorization('dev', token))).status, 200);
    const podman = await ContainerClients.create();
    try {
      await podman.podman(['login', '--tls-verify=false', '-u', 'dev', '-p', token, registry.hostPort]);
      await podman.podman(['logout', registry.hostPort]);
    } finally {
      await podman.cleanup();
    }

    // Shown once: after a reload the page lists the token without its secret.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'API tokens' }).waitFor();
    await page.getByRole('row', { name: /ci/ }).waitFor();
    assert.equal(await page.getByText(token).count(), 0);
    assert.ok(!(await page.content()).includes(token));

    await confirm(page, 'Revoke ci', 'Revoke token');
    await page.getByRole('row', { name: /ci/ }).waitFor({ state: 'detached' });
    assert.equal((await callRegistry(registry, 'GET', '/v2/', basicAuthorization('dev', token))).status, 401);
    const refused = await ContainerClients.create();
    try {
      await assert.rejects(refused.podman(['login', '--tls-verify=false', '-u', 'dev', '-p', token, registry.hostPort]));
    } finally {
      await refused.cleanup();
    }
    assert.deepEqual(rootErrors, []);
  });

  it("grants a team on a namespace and the member's access follows", async () => {
    assert.equal(await pushBlob(registry, 'team/app', DEV), 403, 'dev holds no grant yet');
    const teams = await open('teams');
    await teams.getByLabel('Team name').fill('devs');
    await teams.getByRole('button', { name: 'Create team' }).click();
    await teams.getByRole('heading', { level: 3, name: 'devs' }).waitFor();
    await teams.getByLabel('User to add to devs').fill('dev');
    await teams.getByRole('button', { name: 'Add member' }).click();
    await teams.getByRole('button', { name: 'Remove dev from devs' }).waitFor();
    assert.deepEqual((await api<{ members: string[] }>('GET', '/api/v1/teams/devs')).body.members, ['dev']);

    const namespaces = await open('namespaces');
    await namespaces.getByLabel('Namespace', { exact: true }).fill('team');
    await namespaces.getByRole('button', { name: 'Save namespace' }).click();
    const card = namespaces.getByRole('listitem').filter({ has: namespaces.getByRole('heading', { name: 'team' }) });
    await card.waitFor();
    await card.getByLabel('Grant to', { exact: true }).selectOption('team');
    await card.getByLabel('Name', { exact: true }).fill('devs');
    await card.getByLabel('Role', { exact: true }).selectOption('push');
    await card.getByRole('button', { name: 'Grant role' }).click();
    await card.getByRole('button', { name: 'Revoke team devs' }).waitFor();
    assert.deepEqual((await api<{ grants: unknown[] }>('GET', '/api/v1/namespaces/team/grants')).body.grants, [
      { kind: 'team', subject: 'devs', role: 'push' },
    ]);
    assert.equal(await pushBlob(registry, 'team/app', DEV), 201, 'the team grant lets dev push');

    await card.getByRole('button', { name: 'Revoke team devs' }).click();
    await card.getByText('No grants').waitFor();
    assert.equal(await pushBlob(registry, 'team/app', DEV), 403, 'revoked');
    // Give it back for the flows below (events of team/app).
    await card.getByLabel('Name', { exact: true }).fill('devs');
    await card.getByRole('button', { name: 'Grant role' }).click();
    await card.getByRole('button', { name: 'Revoke team devs' }).waitFor();
    await pushEmptyConfig(registry, 'team/app', DEV);
    assert.equal((await putManifest(registry, 'team/app', 'v1', artifact(), DEV)).status, 201);
    assert.deepEqual(rootErrors, []);
  });

  it('runs a garbage-collection dry run and a run, and shows both in the history', async () => {
    const page = await open('gc');
    await page.getByLabel('Grace period').fill('0s');
    await page.getByRole('button', { name: 'Dry run' }).click();
    await page.getByRole('status').getByText('Dry run finished').waitFor();
    // Escape cancels the confirmation, and nothing runs.
    await page.getByRole('button', { name: 'Run garbage collection' }).click();
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    assert.equal((await api<{ runs: unknown[] }>('GET', '/api/v1/gc/runs')).body.runs.length, 1);
    await confirm(page, 'Run garbage collection', 'Delete now');
    await page.getByRole('status').getByText('Run finished').waitFor();
    const runs = (await api<{ runs: { dryRun: boolean; trigger: string; status: string }[] }>('GET', '/api/v1/gc/runs')).body.runs;
    assert.deepEqual(
      runs.slice(0, 2).map((run) => [run.dryRun, run.trigger, run.status]),
      [
        [false, 'api', 'finished'],
        [true, 'api', 'finished'],
      ],
    );
    const rows = page.getByRole('table').locator('tbody tr');
    await page.getByRole('table').getByRole('cell', { name: 'dry run', exact: true }).waitFor();
    assert.deepEqual(
      (await rows.allInnerTexts()).slice(0, 2).map((text) => text.split('\t').slice(1, 4)),
      [
        ['run', 'api', 'finished'],
        ['dry run', 'api', 'finished'],
      ],
    );
    assert.deepEqual(rootErrors, []);
  });

  it('adds retention and immutability rules and a quota, as the API then lists them', async () => {
    const rules = await open('rules');
    await rules.getByLabel('Repositories').first().fill('team/**');
    await rules.getByLabel('Keep the last').fill('5');
    await rules.getByLabel('Always keep tags').fill('v*, latest');
    await rules.getByRole('button', { name: 'Add policy' }).click();
    await rules.getByText('keep the last 5; always keep v*, latest').waitFor();
    await rules.getByLabel('Repositories').nth(1).fill('team/**');
    await rules.getByLabel('Protected tags').fill('v*');
    await rules.getByLabel('Except tags').fill('*-rc*');
    await rules.getByRole('button', { name: 'Add rule' }).click();
    await rules.getByRole('button', { name: 'Delete the immutability rule for team/**' }).waitFor();
    const retention = (await api<{ rules: Record<string, unknown>[] }>('GET', '/api/v1/retention/rules')).body.rules;
    assert.deepEqual(
      retention.map(({ repositories, keeplast, keeptags, source }) => ({ repositories, keeplast, keeptags, source })),
      [{ repositories: 'team/**', keeplast: 5, keeptags: ['v*', 'latest'], source: 'api' }],
    );
    const immutability = (await api<{ rules: Record<string, unknown>[] }>('GET', '/api/v1/immutability/rules')).body.rules;
    assert.deepEqual(
      immutability.map(({ repositories, tags, except }) => ({ repositories, tags, except })),
      [{ repositories: 'team/**', tags: ['v*'], except: ['*-rc*'] }],
    );
    // The rule holds: v1 cannot be pushed over with another manifest.
    assert.equal((await putManifest(registry, 'team/app', 'v1', artifact(), DEV)).status >= 400, true);
    await rules.getByRole('button', { name: 'Plan retention (dry run)' }).click();
    await rules.getByRole('status').getByText('Plan').waitFor();

    const storage = await open('storage');
    await storage.getByLabel('Namespace', { exact: true }).fill('team');
    await storage.getByLabel('Size').fill('1GiB');
    await storage.getByLabel('Most repositories').fill('10');
    await storage.getByLabel('Warn at (%)').fill('90');
    await storage.getByRole('button', { name: 'Set quota' }).click();
    await storage.getByRole('button', { name: 'Remove the quota of team' }).waitFor();
    const quotas = (await api<{ quotas: Record<string, unknown>[] }>('GET', '/api/v1/quotas')).body.quotas;
    assert.deepEqual(
      quotas.map(({ namespace, size, repositories, warnAt }) => ({ namespace, size, repositories, warnAt })),
      [{ namespace: 'team', size: 1024 ** 3, repositories: 10, warnAt: 0.9 }],
    );
    // The usage table shows what the API counts.
    const usage = (await api<{ namespaces: { namespace: string; repositories: number }[] }>('GET', '/api/v1/usage')).body.namespaces;
    const team = usage.find((entry) => entry.namespace === 'team');
    assert.ok(team);
    const row = storage.getByRole('row', { name: /^team/ }).first();
    await row.getByText(`${team.repositories} of 10`).waitFor();
    await storage.getByRole('button', { name: 'Repositories of team' }).click();
    await storage.getByRole('rowheader', { name: 'team/app' }).waitFor();
    assert.deepEqual(rootErrors, []);
  });

  it('turns read-only mode on with the keyboard alone, which refuses a push, and off again', async () => {
    const page = await open('read-only');
    await page.getByText('The registry is writable').waitFor();
    // Keyboard only: focus the button, Enter opens the confirmation (focus moves into it, on
    // Cancel first), Tab reaches the confirming button, Enter confirms.
    await page.getByRole('button', { name: 'Turn read-only mode on' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    assert.equal(
      await dialog.getByRole('button', { name: 'Cancel' }).evaluate((button) => button === button.ownerDocument.activeElement),
      true,
    );
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByText('The registry is read-only').waitFor();
    assert.equal((await api<{ enabled: boolean }>('GET', '/api/v1/maintenance/readonly')).body.enabled, true);
    assert.equal(await pushBlob(registry, 'team/app', ROOT), 405);
    await page.getByRole('button', { name: 'Turn read-only mode off' }).focus();
    await page.keyboard.press('Enter');
    await page.getByText('The registry is writable').waitFor();
    assert.equal(await pushBlob(registry, 'team/app', ROOT), 201);
    assert.deepEqual(rootErrors, []);
  });

  it('lists the upstream with what the cache holds after a pull through it', async () => {
    const manifest = await callRegistry(registry, 'GET', '/v2/up/library/hello/manifests/v1', ROOT, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(manifest.status, 200, manifest.text);
    const listed = await api<{ upstreams: { name: string; cache: { repositories: number; items: number; bytes: number } }[] }>(
      'GET',
      '/api/v1/upstreams',
    );
    assert.equal(listed.status, 200);
    const up = listed.body.upstreams.find((entry) => entry.name === 'up');
    assert.ok(up && up.cache.repositories === 1 && up.cache.items >= 1, JSON.stringify(listed.body));
    assert.ok(!JSON.stringify(listed.body).includes('password'));
    const page = await open('upstreams');
    const row = page.getByRole('row', { name: /^up / });
    await row.waitFor();
    assert.deepEqual((await row.getByRole('cell').allInnerTexts()).slice(0, 1), [upstream.url]);
    assert.equal((await row.getByRole('cell').allInnerTexts())[4], String(up.cache.items));
    assert.deepEqual(rootErrors, []);
  });

  it('adds and deletes a webhook endpoint, sends a test, and redelivers from the history and from an event', async () => {
    await receiver.waitFor(() => receiver.delivered().some((event) => event.action === 'push'), 'a push event');
    const page = await open('webhooks');
    const endpoints = page.getByRole('table', { name: 'Webhook endpoints' });
    await endpoints.getByRole('rowheader', { name: /receiver/ }).waitFor();

    // A test delivery to the file's endpoint, answered by the receiver.
    const received = receiver.delivered().length;
    await page.getByRole('button', { name: 'Send a test to receiver' }).click();
    await page.getByRole('status').getByText('Test delivered: HTTP 200.').waitFor();
    assert.ok(
      receiver
        .delivered()
        .slice(received)
        .some((event) => event.action === 'test'),
    );

    // A new endpoint: its secret shown once, listed by the API, then deleted after a confirmation.
    await page.getByLabel('Endpoint name').fill('ui-hook');
    await page.getByLabel('URL', { exact: true }).fill(`${receiver.url}/ui-hook`);
    await page.getByLabel('Namespace', { exact: true }).fill('team');
    await page.getByLabel('Event actions').fill('push, delete');
    await page.getByLabel('Allow private addresses').check();
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const secret = ((await page.locator('.once code').textContent()) ?? '').trim();
    assert.ok(secret.length >= 16);
    const listed = (
      await api<{ endpoints: { name: string; namespace: string | null; actions: string[] | null }[] }>('GET', '/api/v1/webhooks')
    ).body.endpoints;
    assert.deepEqual(
      listed.filter((endpoint) => endpoint.name === 'ui-hook').map(({ namespace, actions }) => ({ namespace, actions })),
      [{ namespace: 'team', actions: ['push', 'delete'] }],
    );
    assert.ok(!JSON.stringify(listed).includes(secret), 'the secret is never listed');
    await confirm(page, 'Delete ui-hook', 'Delete endpoint');
    await endpoints.getByRole('rowheader', { name: /ui-hook/ }).waitFor({ state: 'detached' });
    assert.ok(!(await api<{ endpoints: { name: string }[] }>('GET', '/api/v1/webhooks')).body.endpoints.some((e) => e.name === 'ui-hook'));

    // The receiver's history, newest event first, as the API pages it; redeliver the newest.
    const history = (
      await api<{ deliveries: { eventId: string; state: string }[] }>('GET', '/api/v1/webhooks/config:receiver/deliveries?limit=25')
    ).body.deliveries;
    await page.getByRole('button', { name: 'Deliveries to receiver' }).click();
    const deliveries = page.getByRole('table', { name: /^Deliveries to receiver/ }).locator('tbody tr');
    await deliveries.first().waitFor();
    assert.equal(await deliveries.count(), history.length);
    const newest = history[0]?.eventId;
    const before = receiver.delivered().length;
    await deliveries
      .first()
      .getByRole('button', { name: /^Redeliver/ })
      .click();
    await page.getByRole('status').getByText(`Event ${newest} is due again to receiver.`).waitFor();
    await receiver.waitFor(
      () =>
        receiver
          .delivered()
          .slice(before)
          .some((event) => event.id === newest),
      'the redelivered event',
    );

    // The events list, filtered as the API filters it; one event's deliveries redelivered.
    await page.getByLabel('Action', { exact: true }).fill('push');
    await page.getByLabel('Repository', { exact: true }).fill('team/app');
    await page.getByRole('button', { name: 'Filter events' }).click();
    const events = (await api<{ events: { id: string }[] }>('GET', '/api/v1/events?action=push&repository=team/app')).body.events;
    assert.ok(events.length > 0);
    const rows = page.getByRole('table', { name: 'Events, newest first' }).locator('tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), events.length);
    await rows.first().getByRole('button').click();
    await page.getByRole('heading', { name: `Deliveries of event ${events[0]?.id}` }).waitFor();
    const again = receiver.delivered().length;
    await page.getByRole('button', { name: 'Redeliver', exact: true }).click();
    await page.getByRole('status').getByText('Due again now: 1 delivery.').waitFor();
    await receiver.waitFor(
      () =>
        receiver
          .delivered()
          .slice(again)
          .some((event) => event.id === events[0]?.id),
      'the redelivered event',
    );
    assert.deepEqual(rootErrors, []);
  });

  it('filters the audit log and pages through it with the cursor, as the API does', async () => {
    // 60 refused pushes by dev: more than a page of denied entries.
    for (let i = 0; i < 60; i++) assert.equal(await pushBlob(registry, `other/app${i}`, DEV), 403);
    const page = await open('audit');
    await page.getByLabel('Actor').fill('dev');
    await page.getByLabel('Outcome').selectOption('denied');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await page.waitForURL(/actor=dev/);
    const table = page.getByRole('table');
    await table.locator('tbody tr').first().waitFor();
    const expected = await api<{ entries: { id: string; actor: string; outcome: string; repository: string }[]; next?: string }>(
      'GET',
      '/api/v1/audit?actor=dev&outcome=denied&limit=50',
    );
    assert.equal(expected.body.entries.length, 50);
    assert.ok(expected.body.next);
    const firstPage = await table.locator('tbody tr').allInnerTexts();
    assert.equal(firstPage.length, 50);
    for (const [index, text] of firstPage.entries()) {
      const cells = text.split('\t');
      assert.equal(cells[1], 'dev');
      assert.equal(cells[4], 'denied');
      assert.equal(cells[3], expected.body.entries[index]?.repository ?? '');
    }
    await page.getByRole('link', { name: 'Older entries' }).click();
    await page.waitForURL(/before=/);
    await page.getByRole('link', { name: 'Newest entries' }).waitFor();
    const second = await api<{ entries: { repository: string }[] }>(
      'GET',
      `/api/v1/audit?actor=dev&outcome=denied&limit=50&before=${expected.body.next}`,
    );
    await table.locator('tbody tr').first().waitFor();
    const secondPage = await table.locator('tbody tr').allInnerTexts();
    assert.deepEqual(
      secondPage.map((text) => text.split('\t')[3]),
      second.body.entries.map((entry) => entry.repository ?? ''),
    );
    // A time range that holds nothing: the page and the API agree.
    await page.getByLabel('Since').fill('2099-01-01T00:00');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await page.waitForURL(/since=2099/);
    const since = new URL(page.url()).searchParams.get('since') ?? '';
    await page.getByText('No entries match.').waitFor();
    assert.deepEqual(
      (await api<{ entries: unknown[] }>('GET', `/api/v1/audit?actor=dev&since=${encodeURIComponent(since)}`)).body.entries,
      [],
    );
    assert.deepEqual(rootErrors, []);
  });

  for (const look of LOOKS) {
    it(`passes axe on every admin page (${look.name}), fits the screen, with a screenshot of each`, async () => {
      const { page, consoleErrors } = await openPage(browser, { baseUrl: registry.url, look });
      await signIn(page, registry.url, 'root', 'root-password');
      for (const [path, heading] of SECTIONS) {
        await page.goto(`/ui/admin/${path}`);
        await page.getByRole('heading', { level: 1, name: heading }).waitFor();
        await loaded(page);
        assert.equal(await horizontalOverflow(page), 0, `admin ${path} (${look.name}) scrolls sideways`);
        await checkAccessibility(page, `admin ${path}, ${look.name}`);
        await saveScreenshot(page, `admin-${path}-${look.name}`);
      }
      assert.deepEqual(consoleErrors, []);
      await page.close();
    });
  }
});
