// The web UI's repository and manifest pages in Debian's Chromium against a real Berth holding
// images built and pushed with buildah (a single-platform image under two tags, a multi-arch
// index) and an SBOM-like artifact referring to the image: the tags table equals
// /v2/<name>/tags/list with each tag's digest and size; the manifest page shows the config, the
// history, layers whose download links give the layer's bytes, and the referrer, linked; a pull
// command copied from the page (through the clipboard, and by selection where there is no
// Clipboard API) pulls with podman; a tag deleted after the confirmation no longer pulls; a
// private repository stays hidden, and the UI's refusals carry no WWW-Authenticate challenge
// (which would pop up the browser's password dialog) while /v2/ keeps it for real clients; sign
// out ends the session. axe-core on each page in light and dark mode and at phone width.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
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
  signIn,
  startUiRegistry,
  type UiRegistry,
} from '../helpers/browser.js';
import { callRegistry } from '../helpers/call.js';
import { type BuiltImage, ContainerClients, parseImageManifest } from '../helpers/clients.js';
import { artifact, pushEmptyConfig, putManifest, ROOT } from '../helpers/lifecycle.js';
import type { TestRegistry } from '../helpers/registry.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const ACCEPT = [OCI_MANIFEST, 'application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'].join(', ');
const SBOM_TYPE = 'application/vnd.example.sbom.v1+json';
const EMPTY_CONFIG_DIGEST = `sha256:${createHash('sha256').update('{}').digest('hex')}`;

/** The README's picture of the repository page. */
const README_SCREENSHOT = join(import.meta.dirname, '..', '..', 'docs', 'images', 'ui-repository.png');

const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** The tags /v2/<name>/tags/list lists for the caller. */
async function tagsList(registry: TestRegistry, repository: string, authorization?: string): Promise<string[]> {
  const answer = await callRegistry(registry, 'GET', `/v2/${repository}/tags/list`, authorization);
  assert.equal(answer.status, 200, answer.text);
  return (JSON.parse(answer.text) as { tags: string[] }).tags;
}

/** The manifest a reference names, as the registry serves it. */
async function manifestOf(
  registry: TestRegistry,
  repository: string,
  reference: string,
): Promise<{ bytes: Buffer; digest: string; type: string }> {
  const response = await fetch(`${registry.url}/v2/${repository}/manifests/${reference}`, { headers: { accept: ACCEPT } });
  assert.equal(response.status, 200);
  const bytes = Buffer.from(await response.arrayBuffer());
  return { bytes, digest: sha256(bytes), type: (response.headers.get('content-type') ?? '').split(';')[0] ?? '' };
}

/** The tags table's rows as the page shows them. */
async function shownTags(page: Page): Promise<{ tag: string; digest: string; bytes: number }[]> {
  await page.locator('#tags, #no-tags').first().waitFor();
  return page.locator('#tags tbody tr').evaluateAll((rows) =>
    rows.map((row) => ({
      tag: row.getAttribute('data-tag') ?? '',
      digest: row.querySelector('code[title]')?.getAttribute('title') ?? '',
      bytes: Number(row.querySelector('[data-bytes]')?.getAttribute('data-bytes')),
    })),
  );
}

/** Failed requests Chrome logs as console errors: expected where a test provokes a refusal. */
const isRefusedResource = (message: string): boolean =>
  /Failed to load resource: the server responded with a status of 40[13]/.test(message);

describe('web UI: repository and manifest pages', () => {
  let registry: TestRegistry;
  let browser: Browser;
  let ui: UiRegistry;
  let builder: ContainerClients;
  let puller: ContainerClients;
  let image: BuiltImage;
  let imageDigest: string;
  let indexDigest: string;
  let sbomDigest: string;

  before(async () => {
    assertUiBuilt();
    ui = await startUiRegistry(['      - repository: "public/**"', '        anonymous: [pull]', '        authenticated: [pull]']);
    registry = ui.registry;
    [builder, puller] = await Promise.all([ContainerClients.create(), ContainerClients.create()]);
    await builder.podman(['login', '--tls-verify=false', '-u', 'root', '-p', 'root-password', registry.hostPort]);
    // The puller has no credentials: anonymous visitors may pull public/** (podman answers the
    // Basic challenge with empty credentials, which Berth takes as anonymous).
    image = await builder.buildImage({
      name: 'localhost/ui/app:1',
      layers: [[2048], [64 * 1024]],
      labels: { 'org.opencontainers.image.title': 'Berth UI test' },
    });
    imageDigest = (await builder.buildahPush(image.name, `${registry.hostPort}/public/app:v1`, { format: 'oci' })).digest;
    for (const tag of ['old', 'latest']) await builder.buildahPush(image.name, `${registry.hostPort}/public/app:${tag}`, { format: 'oci' });
    const arm = await builder.buildImage({ name: 'localhost/ui/app-arm64:1', arch: 'arm64', layers: [[1024]] });
    await builder.buildah(['manifest', 'create', 'localhost/ui/multi:1']);
    for (const built of [image, arm]) await builder.buildah(['manifest', 'add', 'localhost/ui/multi:1', builder.storageRef(built.name)]);
    indexDigest = (await builder.buildahManifestPush('localhost/ui/multi:1', `${registry.hostPort}/public/multi:1.0`, { format: 'oci' }))
      .digest;
    // The same index in public/app too: a repository with an image and a multi-arch tag.
    const appIndex = await builder.buildahManifestPush('localhost/ui/multi:1', `${registry.hostPort}/public/app:2.0`, { format: 'oci' });
    assert.equal(appIndex.digest, indexDigest);

    // An SBOM-like artifact whose subject is the image: a referrer, pushed by digest.
    const subject = await manifestOf(registry, 'public/app', 'v1');
    await pushEmptyConfig(registry, 'public/app', ROOT);
    const sbom = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: SBOM_TYPE,
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: EMPTY_CONFIG_DIGEST, size: 2 },
        layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: EMPTY_CONFIG_DIGEST, size: 2 }],
        subject: { mediaType: subject.type, digest: subject.digest, size: subject.bytes.length },
        annotations: { 'org.opencontainers.image.description': 'software bill of materials' },
      }),
    );
    sbomDigest = sha256(sbom);
    const put = await callRegistry(registry, 'PUT', `/v2/public/app/manifests/${sbomDigest}`, ROOT, {
      body: sbom,
      headers: { 'content-type': OCI_MANIFEST },
    });
    assert.equal(put.status, 201, put.text);

    await pushEmptyConfig(registry, 'secret/plans', ROOT);
    assert.equal((await putManifest(registry, 'secret/plans', 'v1', artifact(), ROOT)).status, 201);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await Promise.allSettled([builder?.cleanup(), puller?.cleanup()]);
    await ui?.stop();
  });

  it('lists the tags /v2/<name>/tags/list lists, with digest and size, and the platforms of an index', async () => {
    const { page, consoleErrors } = await openPage(browser, { baseUrl: registry.url });
    await page.goto('/ui/r/public/app');
    const rows = await shownTags(page);
    assert.deepEqual(
      rows.map((row) => row.tag),
      await tagsList(registry, 'public/app'),
    );
    const manifest = parseImageManifest((await manifestOf(registry, 'public/app', 'v1')).bytes);
    const bytes = manifest.config.size + manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
    for (const row of rows) {
      if (row.tag === '2.0') assert.equal(row.digest, indexDigest);
      else assert.deepEqual(row, { tag: row.tag, digest: imageDigest, bytes });
    }
    // Anonymous visitors may not delete: no button for it.
    assert.equal(await page.getByRole('button', { name: /^Delete tag/ }).count(), 0);

    await page.goto('/ui/r/public/multi');
    const [indexRow] = await shownTags(page);
    assert.equal(indexRow?.digest, indexDigest);
    const platforms = page.locator('#tags tbody tr[data-tag="1.0"] a.chip');
    await platforms.first().waitFor();
    assert.deepEqual(await platforms.allInnerTexts(), ['linux/amd64', 'linux/arm64']);
    assert.deepEqual(consoleErrors, []);
    await page.close();
  });

  it('shows a manifest: config, history, downloadable layers, annotations and referrers, linked', async () => {
    const { page, consoleErrors } = await openPage(browser, { baseUrl: registry.url });
    await page.goto('/ui/r/public/app');
    await page.locator('#tags tbody tr[data-tag="v1"] th a').click();
    await page.waitForURL(`**/ui/r/public/app/-/manifest/${imageDigest}`);
    await page.locator(`code[data-digest="${imageDigest}"]`).waitFor();
    assert.equal(await page.locator('[data-media-type]').getAttribute('data-media-type'), OCI_MANIFEST);
    const facts = (await page.locator('main').textContent()) ?? '';
    for (const text of ['linux/amd64', '["/e2e/app"]', 'BERTH_E2E=1', `berth.e2e.token`, image.token, 'Berth UI test']) {
      assert.ok(facts.includes(text), `the manifest page shows ${text}`);
    }
    assert.ok((await page.locator('ol.history li').count()) > 0, 'the history is listed');

    const manifest = parseImageManifest((await manifestOf(registry, 'public/app', imageDigest)).bytes);
    const layerRows = page.locator('tr[data-digest]');
    assert.deepEqual(
      await layerRows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-digest'))),
      manifest.layers.map((layer) => layer.digest),
    );
    // The download link gives the layer's bytes (through the registry, with the page's cookies).
    const [download] = await Promise.all([page.waitForEvent('download'), layerRows.first().getByRole('link').click()]);
    const path = await download.path();
    assert.equal(sha256(await readFile(path)), manifest.layers[0]?.digest);

    // The SBOM refers to the image: listed with its artifact type, and linked.
    const referrer = page.locator(`li[data-digest="${sbomDigest}"]`);
    assert.ok(((await referrer.textContent()) ?? '').includes(SBOM_TYPE));
    await checkAccessibility(page, 'image manifest');
    await saveScreenshot(page, 'manifest-image');
    await referrer.getByRole('link').click();
    await page.waitForURL(`**/ui/r/public/app/-/manifest/${sbomDigest}`);
    await page.getByText('software bill of materials', { exact: true }).waitFor();
    assert.ok(((await page.locator('main').textContent()) ?? '').includes(SBOM_TYPE));
    await page.locator(`a[href$="/-/manifest/${imageDigest}"]`).first().waitFor();
    await checkAccessibility(page, 'referrer manifest');
    await saveScreenshot(page, 'manifest-referrer');

    await page.goto(`/ui/r/public/multi/-/manifest/${indexDigest}`);
    const children = page.locator('tr[data-digest]');
    await children.first().waitFor();
    assert.deepEqual(await children.locator('td:first-child').allInnerTexts(), ['linux/amd64', 'linux/arm64']);
    await checkAccessibility(page, 'index manifest');
    await saveScreenshot(page, 'manifest-index');
    assert.deepEqual(consoleErrors, []);
    await page.close();
  });

  it('copies a pull command that podman then pulls, through the clipboard or by selecting it', async () => {
    const { page, consoleErrors } = await openPage(browser, { baseUrl: registry.url, clipboard: true });
    await page.goto('/ui/r/public/app');
    await page.getByLabel('Tag', { exact: true }).selectOption('v1');
    await page.getByRole('button', { name: 'Copy podman pull command', exact: true }).click();
    await page.getByRole('button', { name: 'Copy podman pull command', exact: true }).getByText('Copied').waitFor();
    const copied = String(await page.evaluate('navigator.clipboard.readText()'));
    assert.equal(copied, `podman pull ${registry.hostPort}/public/app:v1`);
    const [program, verb, reference] = copied.split(' ');
    assert.deepEqual([program, verb], ['podman', 'pull']);
    const id = (await puller.podman(['pull', '-q', '--tls-verify=false', reference ?? ''])).stdout.trim();
    assert.equal(id, image.id);
    assert.deepEqual(consoleErrors, []);
    await page.close();

    // Without the Clipboard API (a page on plain http under a host name), the button selects the text.
    const plain = await openPage(browser, { baseUrl: registry.url });
    await plain.page.addInitScript('Object.defineProperty(navigator, "clipboard", { value: undefined })');
    await plain.page.goto('/ui/r/public/app');
    await plain.page.getByLabel('Tag', { exact: true }).selectOption('v1');
    await plain.page.getByRole('button', { name: 'Copy podman pull by digest command' }).click();
    const selected = String(await plain.page.evaluate('window.getSelection().toString()'));
    assert.equal(selected, `podman pull ${registry.hostPort}/public/app@${imageDigest}`);
    assert.equal((await puller.podman(['pull', '-q', '--tls-verify=false', selected.split(' ')[2] ?? ''])).stdout.trim(), image.id);
    assert.deepEqual(plain.consoleErrors, []);
    await plain.page.close();
  });

  it('deletes a tag and a manifest after the confirmation, and podman can no longer pull them', async () => {
    const { page, consoleErrors } = await openPage(browser, { baseUrl: registry.url });
    await signIn(page, registry.url, 'root', 'root-password');
    await page.goto('/ui/r/public/app');
    assert.deepEqual(
      (await shownTags(page)).map((row) => row.tag),
      await tagsList(registry, 'public/app', ROOT),
    );
    // From the keyboard: the confirmation opens, Escape cancels it, and focus is back on its button.
    const deleteOld = page.getByRole('button', { name: 'Delete tag old' });
    await deleteOld.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    assert.ok(await deleteOld.evaluate((button) => button === button.ownerDocument.activeElement));
    assert.ok((await tagsList(registry, 'public/app', ROOT)).includes('old'));
    await deleteOld.click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await checkAccessibility(page, 'delete confirmation');
    await saveScreenshot(page, 'repository-delete-confirmation');
    await dialog.getByRole('button', { name: 'Delete tag' }).click();
    await page.locator('#tags tbody tr[data-tag="old"]').waitFor({ state: 'detached' });
    await page.locator('#tags tbody tr[data-tag="v1"]').waitFor();
    const remaining = await tagsList(registry, 'public/app', ROOT);
    assert.ok(!remaining.includes('old'));
    assert.deepEqual(
      (await shownTags(page)).map((row) => row.tag),
      remaining,
    );
    await assert.rejects(
      puller.podman(['pull', '-q', '--tls-verify=false', `${registry.hostPort}/public/app:old`]),
      /manifest unknown|not found/i,
    );
    assert.equal((await puller.podman(['pull', '-q', '--tls-verify=false', `${registry.hostPort}/public/app:v1`])).stdout.trim(), image.id);

    // A manifest, deleted from its page: its tag goes with it, and it no longer pulls by digest.
    const doomed = artifact();
    assert.equal((await putManifest(registry, 'public/app', 'doomed', doomed, ROOT)).status, 201);
    await page.goto(`/ui/r/public/app/-/manifest/${doomed.digest}`);
    await page.getByRole('button', { name: 'Delete manifest' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete manifest' }).click();
    await page.waitForURL('**/ui/r/public/app');
    await page.locator('#tags tbody tr[data-tag="v1"]').waitFor();
    assert.ok(!(await tagsList(registry, 'public/app', ROOT)).includes('doomed'));
    assert.equal((await callRegistry(registry, 'GET', `/v2/public/app/manifests/${doomed.digest}`, ROOT)).status, 404);
    await assert.rejects(
      puller.podman(['pull', '-q', '--tls-verify=false', `${registry.hostPort}/public/app@${doomed.digest}`]),
      /manifest unknown|not found/i,
    );
    assert.deepEqual(consoleErrors, []);
    await page.close();
  });

  it("pages through a repository's tags by name and sorts them by last push", async () => {
    // 105 tags of one artifact, more than a page of 100; the last one pushed after a pause.
    const tags = Array.from({ length: 105 }, (_, index) => `t${String(index).padStart(3, '0')}`);
    const manifest = artifact();
    await pushEmptyConfig(registry, 'public/many', ROOT);
    for (const tag of tags) {
      if (tag === 't000') continue;
      assert.equal((await putManifest(registry, 'public/many', tag, manifest, ROOT)).status, 201);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal((await putManifest(registry, 'public/many', 't000', manifest, ROOT)).status, 201);

    const { page, consoleErrors } = await openPage(browser, { baseUrl: registry.url });
    await page.goto('/ui/r/public/many');
    const shown: string[] = [];
    for (;;) {
      const rows = await shownTags(page);
      shown.push(...rows.map((row) => row.tag));
      const next = page.getByRole('navigation', { name: 'Pages of tags' }).getByRole('link', { name: 'Next page' });
      if ((await next.count()) === 0) break;
      await next.click();
      await page.waitForURL((url) => url.searchParams.get('after') === shown.at(-1));
    }
    assert.deepEqual(shown, await tagsList(registry, 'public/many'));

    await page.goto('/ui/r/public/many');
    await page.getByLabel('Sort tags by').selectOption('last-push');
    await page.waitForURL((url) => url.searchParams.get('sort') === 'last-push');
    const byPush = await shownTags(page);
    assert.equal(byPush.length, 100);
    assert.equal(byPush[0]?.tag, 't000', 'the tag pushed last comes first');
    assert.deepEqual(consoleErrors, []);
    await page.close();
  });

  it('keeps a private repository from anonymous visitors and users without a grant, with no WWW-Authenticate challenge for the UI while /v2/ keeps it', async () => {
    const { page, consoleErrors } = await openPage(browser, { baseUrl: registry.url });
    const challenged: string[] = [];
    page.on('response', (response) => {
      if (response.headers()['www-authenticate'] !== undefined) challenged.push(response.url());
    });
    await page.goto('/ui/');
    await page.locator('#repositories').waitFor();
    assert.equal(await page.locator('tr[data-repository="secret/plans"]').count(), 0);
    await page.goto('/ui/r/secret/plans');
    await page.getByRole('alert').waitFor();
    assert.match((await page.getByRole('alert').textContent()) ?? '', /UNAUTHORIZED/);
    await page.goto(`/ui/r/secret/plans/-/manifest/${imageDigest}`);
    await page.getByRole('alert').waitFor();
    // A signed-in user without a grant on it: refused too, and not listed.
    await signIn(page, registry.url, 'dev', 'dev-password');
    await page.locator('#repositories').waitFor();
    assert.equal(await page.locator('tr[data-repository="secret/plans"]').count(), 0);
    await page.goto('/ui/r/secret/plans');
    await page.getByRole('alert').waitFor();
    assert.match((await page.getByRole('alert').textContent()) ?? '', /DENIED/);
    assert.deepEqual(challenged, []);
    assert.deepEqual(
      consoleErrors.filter((message) => !isRefusedResource(message)),
      [],
    );

    // Real clients still get the challenge; the UI's requests (X-Berth-UI) the same refusal without it.
    for (const path of ['/v2/secret/plans/tags/list', '/v2/', '/api/v1/users']) {
      const plain = await callRegistry(registry, 'GET', path, undefined);
      assert.equal(plain.status, 401, path);
      assert.match(plain.headers.get('www-authenticate') ?? '', /^Basic realm=/, path);
      const fromUi = await callRegistry(registry, 'GET', path, undefined, { headers: { 'x-berth-ui': '1' } });
      assert.equal(fromUi.status, 401, path);
      assert.equal(fromUi.headers.get('www-authenticate'), null, path);
      assert.equal(JSON.parse(fromUi.text).errors[0].code, 'UNAUTHORIZED');
    }
    await page.close();
  });

  it('signs out: the session ends, and its cookie no longer reads anything', async () => {
    const { page, consoleErrors } = await openPage(browser, { baseUrl: registry.url });
    await signIn(page, registry.url, 'root', 'root-password');
    await page.goto('/ui/r/secret/plans');
    await page.locator('#tags, #no-tags').first().waitFor();
    const cookie = (await page.context().cookies()).find((entry) => entry.name === 'berth_session');
    assert.ok(cookie, 'a session cookie is set');
    const withCookie = { cookie: `berth_session=${cookie.value}` };
    assert.equal((await callRegistry(registry, 'GET', '/v2/secret/plans/tags/list', undefined, { headers: withCookie })).status, 200);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: 'Sign in' }).waitFor();
    assert.deepEqual(
      (await page.context().cookies()).filter((entry) => entry.name === 'berth_session'),
      [],
    );
    assert.equal((await callRegistry(registry, 'GET', '/v2/secret/plans/tags/list', undefined, { headers: withCookie })).status, 401);
    const session = await callRegistry(registry, 'GET', '/api/v1/session', undefined, { headers: withCookie });
    assert.equal(JSON.parse(session.text).user, null);
    assert.deepEqual(consoleErrors, []);
    await page.close();
  });

  for (const look of LOOKS) {
    it(`passes axe-core on the repository and manifest pages (${look.name})`, async () => {
      const { page, consoleErrors } = await openPage(browser, { baseUrl: registry.url, look });
      await signIn(page, registry.url, 'root', 'root-password');
      const pages = [
        { name: 'repository', path: '/ui/r/public/app', ready: '#tags a.chip' },
        { name: 'repository-index', path: '/ui/r/public/multi', ready: '#tags a.chip' },
        { name: 'manifest-image', path: `/ui/r/public/app/-/manifest/${imageDigest}`, ready: 'ol.history' },
        { name: 'manifest-index', path: `/ui/r/public/multi/-/manifest/${indexDigest}`, ready: 'tr[data-digest]' },
      ];
      for (const shown of pages) {
        await page.goto(shown.path);
        await page.locator(shown.ready).first().waitFor();
        await checkAccessibility(page, `${shown.name} (${look.name})`);
        const screenshot = await saveScreenshot(page, `${shown.name}-${look.name}`);
        // BERTH_TEST_UPDATE_SCREENSHOTS=1 also refreshes the README's picture of the repository page.
        if (process.env.BERTH_TEST_UPDATE_SCREENSHOTS === '1' && shown.name === 'repository' && look.name === 'light') {
          await copyFile(screenshot, README_SCREENSHOT);
        }
        if ('viewport' in look) {
          assert.equal(await horizontalOverflow(page), 0, `${shown.name} does not scroll sideways at phone width`);
        }
      }
      assert.deepEqual(consoleErrors, []);
      await page.close();
    });
  }
});
