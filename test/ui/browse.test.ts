// The web UI's repository list in Debian's Chromium against a real Berth with htpasswd users and
// access rules: what an anonymous visitor, a developer and an administrator see equals what
// /v2/_catalog lists for each of them (every page of it, followed through "Next page"); a private
// namespace stays out of sight of who may not pull it; filtering by name, sorting by last push
// and the namespace tree; axe-core on each view in light and dark mode and at phone width, no
// console errors, a screenshot of each. The repositories are small OCI artifacts pushed over HTTP.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { callRegistry } from '../helpers/call.js';
import {
  assertUiBuilt,
  checkAccessibility,
  horizontalOverflow,
  LOOKS,
  launchBrowser,
  openPage,
  saveScreenshot,
  signIn,
  startUiRegistry,
  type UiRegistry,
} from '../helpers/browser.js';
import { artifact, DEV, pushEmptyConfig, putManifest, ROOT } from '../helpers/lifecycle.js';
import type { TestRegistry } from '../helpers/registry.js';

/** 105 repositories below public/bulk: with the others, more than one page of 100. */
const BULK = Array.from({ length: 105 }, (_, index) => `public/bulk/r${String(index).padStart(3, '0')}`);
/** Pushed after everything else, so it leads the list by last push. */
const NEWEST = 'public/world';

/** Every repository name of /v2/_catalog for the caller, following its Link pages. */
async function catalog(registry: TestRegistry, authorization: string | undefined): Promise<string[]> {
  const names: string[] = [];
  let path: string | undefined = '/v2/_catalog?n=20';
  while (path !== undefined) {
    const answer = await callRegistry(registry, 'GET', path, authorization);
    assert.equal(answer.status, 200, answer.text);
    names.push(...(JSON.parse(answer.text) as { repositories: string[] }).repositories);
    path = /<([^>]+)>;\s*rel="next"/.exec(answer.headers.get('link') ?? '')?.[1];
  }
  return names;
}

/** The repository names of the list page shown now. */
async function shownNames(page: Page): Promise<string[]> {
  await page.locator('#repositories, #no-repositories').first().waitFor();
  return page.locator('#repositories tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-repository') ?? ''));
}

/** Every repository name the list shows from its current page on, following "Next page". */
async function allShownNames(page: Page): Promise<string[]> {
  const names: string[] = [];
  for (;;) {
    names.push(...(await shownNames(page)));
    const next = page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Next page' });
    if ((await next.count()) === 0) return names;
    const last = names.at(-1) ?? '';
    await next.click();
    await page.waitForURL((url) => url.searchParams.get('after') === last);
  }
}

describe('web UI: the repository list', () => {
  let registry: TestRegistry;
  let browser: Browser;
  let ui: UiRegistry;

  before(async () => {
    assertUiBuilt();
    ui = await startUiRegistry([
      '      - repository: "public/**"',
      '        anonymous: [pull]',
      '        authenticated: [pull]',
      '      - repository: "team/**"',
      '        users: {dev: [pull, push]}',
    ]);
    registry = ui.registry;
    const repositories = [...BULK, 'public/hello', 'public/tools/a', 'public/tools/b', 'secret/plans', 'team/app', NEWEST];
    for (const repository of repositories) {
      if (repository === NEWEST) await new Promise((resolve) => setTimeout(resolve, 20));
      await pushEmptyConfig(registry, repository, ROOT);
      const answer = await putManifest(registry, repository, 'v1', artifact(), ROOT);
      assert.equal(answer.status, 201, answer.text);
    }
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await ui?.stop();
  });

  const callers = [
    { label: 'anonymous', user: undefined, authorization: undefined, namespaces: ['public'] },
    { label: 'dev', user: 'dev', authorization: DEV, namespaces: ['public', 'team'] },
    { label: 'root', user: 'root', authorization: ROOT, namespaces: ['public', 'secret', 'team'] },
  ] as const;

  for (const caller of callers) {
    it(`shows ${caller.label} exactly the repositories /v2/_catalog lists for them, page by page`, async () => {
      const { page, consoleErrors } = await openPage(browser, { baseUrl: registry.url });
      if (caller.user !== undefined) await signIn(page, registry.url, caller.user, `${caller.user}-password`);
      await page.goto('/ui/');
      const expected = await catalog(registry, caller.authorization);
      assert.ok(expected.length > 100, `${expected.length} repositories: the list should need two pages`);
      assert.equal((await shownNames(page)).length, 100, 'the first page holds 100, as /v2/_catalog without n');
      assert.deepEqual(await allShownNames(page), expected);
      assert.equal(expected.includes('secret/plans'), caller.label === 'root');
      assert.equal(expected.includes('team/app'), caller.label !== 'anonymous');
      // The namespace tree names the top-level namespaces the caller may read something in.
      await page.goto('/ui/');
      const tree = page.getByRole('navigation', { name: 'Namespaces' });
      await tree.getByRole('link').first().waitFor();
      assert.deepEqual(
        await tree.getByRole('link').evaluateAll((links) => links.map((link) => link.getAttribute('data-namespace'))),
        caller.namespaces,
      );
      assert.deepEqual(consoleErrors, []);
      await page.close();
    });
  }

  it('works from the keyboard: a skip link first, then the page', async () => {
    const { page, consoleErrors } = await openPage(browser, { baseUrl: registry.url });
    await page.goto('/ui/');
    await page.locator('#repositories').waitFor();
    const focused = (): Promise<unknown> =>
      page.evaluate(
        '({ id: document.activeElement.id, text: document.activeElement.textContent.trim(), inMain: !!document.activeElement.closest("main") })',
      );
    await page.keyboard.press('Tab');
    assert.deepEqual(await focused(), { id: '', text: 'Skip to content', inMain: false });
    await page.keyboard.press('Enter');
    assert.equal(((await focused()) as { id: string }).id, 'main');
    await page.keyboard.press('Tab');
    assert.deepEqual(await focused(), { id: '', text: 'public/', inMain: true });
    await page.keyboard.press('Enter');
    await page.waitForURL((url) => url.searchParams.get('ns') === 'public');
    assert.deepEqual(consoleErrors, []);
    await page.close();
  });

  it('refuses a bad order or namespace with a 400 and an OCI error body', async () => {
    const cases = [
      { path: '/api/v1/repositories?sort=size', code: 'BAD_REQUEST' },
      { path: '/api/v1/repositories?namespace=Team..x', code: 'NAME_INVALID' },
      { path: '/api/v1/repository-namespaces?parent=a//b', code: 'NAME_INVALID' },
      { path: '/api/v1/tags?repository=public/hello&sort=newest', code: 'BAD_REQUEST' },
    ];
    for (const { path, code } of cases) {
      const answer = await callRegistry(registry, 'GET', path, undefined);
      assert.equal(answer.status, 400, `${path}: ${answer.text}`);
      assert.equal(JSON.parse(answer.text).errors[0].code, code, path);
    }
  });

  it('filters by name, sorts by last push and walks the namespace tree', async () => {
    const { page, consoleErrors } = await openPage(browser, { baseUrl: registry.url });
    await page.goto('/ui/');
    await page.getByLabel('Filter by name').fill('tools');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL((url) => url.searchParams.get('q') === 'tools');
    assert.deepEqual(await shownNames(page), ['public/tools/a', 'public/tools/b']);
    await saveScreenshot(page, 'repositories-filtered');

    await page.goto('/ui/');
    await page.getByLabel('Sort by').selectOption('last-push');
    await page.waitForURL((url) => url.searchParams.get('sort') === 'last-push');
    await page.locator(`#repositories tbody tr[data-repository="${NEWEST}"]`).waitFor();
    const rows = await page.locator('#repositories tbody tr').evaluateAll((trs) =>
      trs.map((tr) => ({
        name: tr.getAttribute('data-repository') ?? '',
        pushed: tr.querySelector('time')?.getAttribute('datetime') ?? '',
      })),
    );
    assert.equal(rows[0]?.name, NEWEST, 'the repository pushed last comes first');
    const sorted = [...rows].sort((a, b) => (a.pushed === b.pushed ? (a.name < b.name ? -1 : 1) : a.pushed < b.pushed ? 1 : -1));
    assert.deepEqual(rows, sorted, 'newest push first, ties by name');
    // Every visible repository once, across the pages, in that order too.
    const everything = await allShownNames(page);
    assert.deepEqual([...everything].sort(), await catalog(registry, undefined));

    await page.goto('/ui/');
    await page.getByRole('navigation', { name: 'Namespaces' }).getByRole('link', { name: 'public/' }).click();
    await page.waitForURL((url) => url.searchParams.get('ns') === 'public');
    const subtree = page.getByRole('navigation', { name: 'Namespaces' });
    await subtree.getByRole('link').first().waitFor();
    assert.deepEqual(await subtree.getByRole('link').evaluateAll((links) => links.map((link) => link.getAttribute('data-namespace'))), [
      'public/bulk',
      'public/tools',
    ]);
    await subtree.getByRole('link', { name: 'tools/' }).click();
    await page.waitForURL((url) => url.searchParams.get('ns') === 'public/tools');
    await page.locator('#repositories tbody tr[data-repository="public/tools/a"]').waitFor();
    assert.deepEqual(await shownNames(page), ['public/tools/a', 'public/tools/b']);
    await checkAccessibility(page, 'repositories in a namespace');
    await saveScreenshot(page, 'repositories-namespace');
    assert.deepEqual(consoleErrors, []);
    await page.close();
  });

  for (const look of LOOKS) {
    it(`passes axe-core on the list and the sign-in page (${look.name})`, async () => {
      const { page, consoleErrors } = await openPage(browser, { baseUrl: registry.url, look });
      await page.goto('/ui/sign-in');
      await page.getByLabel('User name').waitFor();
      await checkAccessibility(page, `sign-in (${look.name})`);
      await saveScreenshot(page, `sign-in-${look.name}`);
      await page.goto('/ui/');
      await page.locator('#repositories').waitFor();
      await checkAccessibility(page, `repositories (${look.name})`);
      await saveScreenshot(page, `repositories-${look.name}`);
      if ('viewport' in look) {
        assert.equal(await horizontalOverflow(page), 0, 'the page does not scroll sideways at phone width');
      }
      assert.deepEqual(consoleErrors, []);
      await page.close();
    });
  }
});
