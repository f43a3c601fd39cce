// What the web UI's pages say about storage rules, in Debian's Chromium against a real Berth
// holding an image built and pushed with buildah under several tags: each repository's size on
// the list equals GET /api/v1/repositories' and, for the image's repository, the bytes pushed
// (config, layers and manifest, each once however many tags name them); an immutability rule and
// a retention policy created through the admin API show as labelled badges on the repository
// page, tag by tag exactly as GET /api/v1/tags marks them for the same visitor (an immutable tag
// kept by retention, one kept by keeptags, the newest kept by keeplast, one retention would
// untag), none in a repository no policy judges; and a retention dry run through the admin API
// plans exactly the tags the page marks for removal. axe-core and a screenshot of both pages in
// light and dark mode and at phone width.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import {
  assertUiBuilt,
  checkAccessibility,
  horizontalOverflow,
  LOOKS,
  launchBrowser,
  openPage,
  saveScreenshot,
  startUiRegistry,
  type UiRegistry,
} from '../helpers/browser.js';
import { callRegistry } from '../helpers/call.js';
import { ContainerClients, parseImageManifest } from '../helpers/clients.js';
import { ROOT } from '../helpers/lifecycle.js';
import type { TestRegistry } from '../helpers/registry.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
/** Pushed in this order, so by push time v2 is the newest. */
const SHOP_TAGS = ['v1', 'v1.1', 'stable', 'v2'] as const;

interface TagMarks {
  readonly immutable: boolean;
  readonly retention: { readonly rule: string; readonly keeps: boolean; readonly reasons: readonly string[] } | null;
}

/** GET /api/v1/* as an anonymous visitor (what the page's visitor is here). */
async function api<T>(registry: TestRegistry, path: string): Promise<T> {
  const answer = await callRegistry(registry, 'GET', path, undefined);
  assert.equal(answer.status, 200, answer.text);
  return JSON.parse(answer.text) as T;
}

/** The admin API as root; answers the parsed body. */
async function admin<T>(registry: TestRegistry, method: string, path: string, json?: unknown): Promise<T> {
  const answer = await callRegistry(registry, method, path, ROOT, json === undefined ? {} : { json });
  assert.ok(answer.status >= 200 && answer.status < 300, `${method} ${path}: ${answer.status} ${answer.text}`);
  return JSON.parse(answer.text) as T;
}

/** The badges of each tag row, as the page shows them: the words, and the mark each stands for. */
async function shownMarks(page: Page): Promise<Record<string, { mark: string; text: string }[]>> {
  await page.locator('#tags tbody tr').first().waitFor();
  const rows = await page.locator('#tags tbody tr').evaluateAll((trs) =>
    trs.map((tr) => ({
      tag: tr.getAttribute('data-tag') ?? '',
      badges: [...tr.querySelectorAll('.badge')].map((badge) => ({
        mark: badge.getAttribute('data-mark') ?? '',
        text: (badge.textContent ?? '').trim(),
      })),
    })),
  );
  return Object.fromEntries(rows.map((row) => [row.tag, row.badges]));
}

/** The badges a tag's marks in GET /api/v1/tags call for, in the page's order. */
function expectedBadges(marks: TagMarks): { mark: string; text: string }[] {
  const badges: { mark: string; text: string }[] = [];
  if (marks.immutable) badges.push({ mark: 'immutable', text: 'immutable' });
  if (marks.retention?.keeps === true) badges.push({ mark: 'retention-keep', text: 'retention: kept' });
  if (marks.retention?.keeps === false) {
    badges.push({ mark: 'retention-remove', text: `retention: removes (${marks.retention.reasons.join(', ')})` });
  }
  return badges;
}

describe('web UI: sizes and rule markers', () => {
  let registry: TestRegistry;
  let browser: Browser;
  let ui: UiRegistry;
  let builder: ContainerClients;
  /** Bytes of the image's config, layers and manifest: what public/shop holds. */
  let pushedBytes: number;
  let retentionRule: string;

  before(async () => {
    assertUiBuilt();
    ui = await startUiRegistry(['      - repository: "public/**"', '        anonymous: [pull]', '        authenticated: [pull]']);
    registry = ui.registry;
    builder = await ContainerClients.create();
    await builder.podman(['login', '--tls-verify=false', '-u', 'root', '-p', 'root-password', registry.hostPort]);
    const image = await builder.buildImage({ name: 'localhost/ui/shop:1', layers: [[4096], [32 * 1024]] });
    let digest = '';
    for (const tag of SHOP_TAGS)
      digest = (await builder.buildahPush(image.name, `${registry.hostPort}/public/shop:${tag}`, { format: 'oci' })).digest;
    await builder.buildahPush(image.name, `${registry.hostPort}/public/plain:v1`, { format: 'oci' });
    const response = await fetch(`${registry.url}/v2/public/shop/manifests/${digest}`, { headers: { accept: OCI_MANIFEST } });
    const manifestBytes = Buffer.from(await response.arrayBuffer());
    const manifest = parseImageManifest(manifestBytes);
    pushedBytes = manifest.config.size + manifest.layers.reduce((sum, layer) => sum + layer.size, 0) + manifestBytes.length;

    // Through the admin API, as an administrator would: v1 is frozen everywhere below public/;
    // public/shop keeps its newest tag and every "stable".
    await admin(registry, 'POST', '/api/v1/immutability/rules', { repositories: 'public/**', tags: ['v1'] });
    retentionRule = (
      await admin<{ id: string }>(registry, 'POST', '/api/v1/retention/rules', {
        repositories: 'public/shop',
        keeplast: 1,
        keeptags: ['stable'],
      })
    ).id;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await builder?.cleanup();
    await ui?.stop();
  });

  it("shows each repository's size as the API gives it: the bytes pushed, each blob once", async () => {
    const { page, consoleErrors } = await openPage(browser, { baseUrl: registry.url });
    await page.goto('/ui/?q=public/');
    await page.locator('#repositories tbody tr').first().waitFor();
    const shown = await page.locator('#repositories tbody tr').evaluateAll((rows) =>
      rows.map((row) => ({
        name: row.getAttribute('data-repository') ?? '',
        size: Number(row.querySelector('[data-bytes]')?.getAttribute('data-bytes')),
      })),
    );
    const listed = await api<{ repositories: { name: string; size: number }[] }>(registry, '/api/v1/repositories?q=public/&n=100');
    assert.deepEqual(
      shown,
      listed.repositories.map(({ name, size }) => ({ name, size })),
    );
    assert.equal(shown.find((row) => row.name === 'public/shop')?.size, pushedBytes);
    // The same image in public/plain: the same bytes, counted in each repository as the usage report does.
    assert.equal(shown.find((row) => row.name === 'public/plain')?.size, pushedBytes);
    // Formatted for people next to the exact bytes.
    assert.match((await page.locator('tr[data-repository="public/shop"] [data-bytes]').textContent()) ?? '', /^\d+(\.\d)? KiB$/);
    assert.deepEqual(consoleErrors, []);
    await page.close();
  });

  it('marks tags immutable and with what retention would do, as /api/v1/tags does, and a dry run agrees', async () => {
    const { page, consoleErrors } = await openPage(browser, { baseUrl: registry.url });
    await page.goto('/ui/r/public/shop');
    const marks = await api<{ tags: ({ name: string } & TagMarks)[] }>(registry, '/api/v1/tags?repository=public/shop');
    const byTag = Object.fromEntries(marks.tags.map((tag) => [tag.name, { immutable: tag.immutable, retention: tag.retention }]));
    const keeps = { rule: retentionRule, keeps: true, reasons: [] };
    assert.deepEqual(byTag, {
      stable: { immutable: false, retention: keeps },
      v1: { immutable: true, retention: keeps },
      'v1.1': { immutable: false, retention: { rule: retentionRule, keeps: false, reasons: ['keeplast'] } },
      v2: { immutable: false, retention: keeps },
    });
    const shown = await shownMarks(page);
    assert.deepEqual(shown, Object.fromEntries(marks.tags.map((tag) => [tag.name, expectedBadges(tag)])));

    // The page's "removes" are what a retention dry run plans for the repository.
    const plan = await admin<{ repositories: { repository: string; deleteTags: { tag: string }[] }[] }>(
      registry,
      'POST',
      '/api/v1/retention/runs',
      { dryRun: true },
    );
    const planned = plan.repositories
      .filter((entry) => entry.repository === 'public/shop')
      .flatMap((entry) => entry.deleteTags.map((tag) => tag.tag));
    const removing = Object.entries(shown)
      .filter(([, badges]) => badges.some((badge) => badge.mark === 'retention-remove'))
      .map(([tag]) => tag);
    assert.deepEqual(planned, removing);

    // No policy judges public/plain: only the immutability badge.
    await page.goto('/ui/r/public/plain');
    assert.deepEqual(await shownMarks(page), { v1: [{ mark: 'immutable', text: 'immutable' }] });
    assert.deepEqual(consoleErrors, []);
    await page.close();
  });

  for (const look of LOOKS) {
    it(`passes axe-core on the list with sizes and the tags with badges (${look.name})`, async () => {
      const { page, consoleErrors } = await openPage(browser, { baseUrl: registry.url, look });
      for (const shown of [
        { name: 'list-sizes', path: '/ui/?q=public/', ready: '#repositories [data-bytes]' },
        { name: 'repository-markers', path: '/ui/r/public/shop', ready: '#tags .badge' },
      ]) {
        await page.goto(shown.path);
        await page.locator(shown.ready).first().waitFor();
        await checkAccessibility(page, `${shown.name} (${look.name})`);
        await saveScreenshot(page, `${shown.name}-${look.name}`);
        if ('viewport' in look) assert.equal(await horizontalOverflow(page), 0, `${shown.name} does not scroll sideways at phone width`);
      }
      assert.deepEqual(consoleErrors, []);
      await page.close();
    });
  }
});
