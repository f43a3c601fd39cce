// The web UI in Debian's Chromium against a real Berth with htpasswd users: an anonymous visitor
// sees the public repository and not the private one, signing in shows both, and the list page
// passes axe-core in light and dark mode with no console errors (screenshots kept as artifacts).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { assertUiBuilt, checkAccessibility, launchBrowser, openPage, saveScreenshot, signIn } from '../helpers/browser.js';
import { artifact, pushEmptyConfig, putManifest, ROOT, writeUsers } from '../helpers/lifecycle.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

describe('web UI: browsing the repositories', () => {
  let registry: TestRegistry;
  let browser: Browser;
  let usersDir: string;

  before(async () => {
    assertUiBuilt();
    usersDir = await mkdtemp(join(tmpdir(), 'berth-ui-users-'));
    const htpasswd = await writeUsers(usersDir);
    registry = await startRegistry({
      extraConfig: [
        'auth:',
        `  htpasswd: {path: ${JSON.stringify(htpasswd)}}`,
        '  bcryptcost: 4',
        '  access:',
        '    admins: [root]',
        '    rules:',
        '      - repository: "public/**"',
        '        anonymous: [pull]',
        '        authenticated: [pull]',
      ].join('\n'),
    });
    for (const repository of ['public/hello', 'secret/plans']) {
      await pushEmptyConfig(registry, repository, ROOT);
      const answer = await putManifest(registry, repository, 'v1', artifact(), ROOT);
      assert.equal(answer.status, 201, answer.text);
    }
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await registry?.stop();
    await rm(usersDir, { recursive: true, force: true });
  });

  for (const colorScheme of ['light', 'dark'] as const) {
    it(`shows an anonymous visitor only the public repository (${colorScheme})`, async () => {
      const { page, consoleErrors } = await openPage(browser, { baseUrl: registry.url, colorScheme });
      await page.goto('/ui/');
      const table = page.getByRole('table');
      await table.getByRole('link', { name: 'public/hello' }).waitFor();
      assert.deepEqual(await table.locator('tbody tr td:first-child').allInnerTexts(), ['public/hello']);
      await checkAccessibility(page, `repositories, anonymous, ${colorScheme}`);
      await saveScreenshot(page, `browse-anonymous-${colorScheme}`);
      assert.deepEqual(consoleErrors, []);
      await page.close();
    });
  }

  it('shows an administrator every repository after signing in', async () => {
    const { page, consoleErrors } = await openPage(browser, { baseUrl: registry.url });
    await signIn(page, registry.url, 'root', 'root-password');
    const table = page.getByRole('table');
    await table.getByRole('link', { name: 'secret/plans' }).waitFor();
    assert.deepEqual(await table.locator('tbody tr td:first-child').allInnerTexts(), ['public/hello', 'secret/plans']);
    await checkAccessibility(page, 'repositories, root');
    await saveScreenshot(page, 'browse-root');
    assert.deepEqual(consoleErrors, []);
    await page.close();
  });
});
