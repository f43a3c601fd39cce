// The browser harness of the web UI tests (test/ui): Debian's Chromium driven by playwright-core
// (which downloads no browser of its own), a page that collects console errors and uncaught page
// errors (tests assert none), an axe-core accessibility check that fails on serious or critical
// violations, screenshots kept as test artifacts (test-artifacts/ui/ at the repository root, or
// BERTH_TEST_ARTIFACTS; .ci/run prints the folder), the looks every page is checked in (light and
// dark, desktop and phone width), signing in through the UI's own form, and a Berth with the
// htpasswd users root (an administrator) and dev and the access rules a test gives.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { type Browser, chromium, type Page } from 'playwright-core';
import { authConfig, writeUsers } from './lifecycle.js';
import { startRegistry, type TestRegistry } from './registry.js';

const projectRoot = resolve(import.meta.dirname, '..', '..');

/** Where screenshots go: BERTH_TEST_ARTIFACTS, else test-artifacts/ui/ in the repository. */
export const artifactsDir = process.env.BERTH_TEST_ARTIFACTS ?? join(projectRoot, 'test-artifacts', 'ui');

/** A phone's viewport (an iPhone 12 to 15), for the narrow-screen checks. */
export const PHONE_VIEWPORT = { width: 390, height: 844 } as const;

/** The looks each page is checked in: light and dark, on a desktop and at phone width. */
export const LOOKS = [
  { name: 'light', colorScheme: 'light' },
  { name: 'dark', colorScheme: 'dark' },
  { name: 'phone', colorScheme: 'light', viewport: PHONE_VIEWPORT },
  { name: 'phone-dark', colorScheme: 'dark', viewport: PHONE_VIEWPORT },
] as const satisfies readonly { name: string; colorScheme: 'light' | 'dark'; viewport?: { width: number; height: number } }[];

/** Starts Debian's Chromium headless. Close it in the test's after(). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.BERTH_TEST_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
}

export interface PageOptions {
  /** The registry's URL ("http://127.0.0.1:PORT"); relative page.goto() paths resolve against it. */
  readonly baseUrl: string;
  readonly colorScheme?: 'light' | 'dark';
  readonly viewport?: { readonly width: number; readonly height: number };
  /** One of LOOKS: its colour scheme and viewport, instead of giving them one by one. */
  readonly look?: (typeof LOOKS)[number];
  /** Grant clipboard-read and clipboard-write to the page's origin. */
  readonly clipboard?: boolean;
}

export interface OpenedPage {
  readonly page: Page;
  /** Console messages of type error and uncaught exceptions, as they happened; tests assert it stays empty. */
  readonly consoleErrors: string[];
}

/** A page in a fresh context (its own cookies), collecting console and page errors. */
export async function openPage(browser: Browser, options: PageOptions): Promise<OpenedPage> {
  const context = await browser.newContext({
    baseURL: options.baseUrl,
    colorScheme: options.colorScheme ?? options.look?.colorScheme ?? 'light',
    viewport:
      options.viewport ?? (options.look !== undefined && 'viewport' in options.look ? options.look.viewport : { width: 1280, height: 900 }),
  });
  if (options.clipboard) await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: options.baseUrl });
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => consoleErrors.push(`page error: ${error.stack ?? error.message}`));
  // Closing the page's context with it, so a test needs to close only the page.
  page.once('close', () => {
    context.close().catch(() => undefined);
  });
  return { page, consoleErrors };
}

const axeSource = (createRequire(import.meta.url)('axe-core') as { source: string }).source;

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  helpUrl: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/**
 * Runs axe-core on the page as it is now (WCAG 2.x A and AA rules and axe's best practices) and
 * fails on serious or critical violations, listing each with the elements concerned. Returns the
 * minor and moderate ones, which do not fail the check.
 */
export async function checkAccessibility(page: Page, label: string): Promise<AxeViolation[]> {
  // Strings, not functions: these run in the page, whose globals (window, document) this
  // Node-side file has no types for.
  const injected = (await page.evaluate("typeof window.axe === 'object'")) as boolean;
  // Evaluated through the DevTools protocol, which the page's Content-Security-Policy does not
  // govern (a <script> tag would be refused by script-src 'self').
  if (!injected) await page.evaluate(axeSource);
  const violations = await page.evaluate("window.axe.run(document, { resultTypes: ['violations'] }).then((result) => result.violations)");
  const found = violations as AxeViolation[];
  const serious = found.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
  const listing = serious
    .map(
      (violation) =>
        `- ${violation.id} (${violation.impact}): ${violation.help}\n` +
        violation.nodes.map((node) => `    ${JSON.stringify(node.target)} ${node.failureSummary?.replace(/\n/g, ' ') ?? ''}`).join('\n'),
    )
    .join('\n');
  assert.equal(serious.length, 0, `accessibility violations on ${label}:\n${listing}`);
  return found.filter((violation) => !serious.includes(violation));
}

/** Saves a full-page PNG as <artifacts>/<name>.png; returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(artifactsDir, { recursive: true });
  const path = join(artifactsDir, `${name.replace(/[^A-Za-z0-9._-]+/g, '-')}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Signs in through the UI's sign-in page and waits until the header names the user. */
export async function signIn(page: Page, baseUrl: string, username: string, password: string): Promise<void> {
  await page.goto(new URL('/ui/sign-in', baseUrl).href);
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Account' }).getByText(username, { exact: true }).waitFor();
}

/** Fails clearly when the UI was not built (`npm run build` builds web/ into dist/web, which Berth serves). */
export function assertUiBuilt(): void {
  assert.ok(existsSync(join(projectRoot, 'dist', 'web', 'index.html')), 'the web UI is not built: run `npm run build` first');
}

/** How far the page scrolls sideways (0 when it fits the viewport, as it must at phone width). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return Number(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'));
}

export interface UiRegistry {
  readonly registry: TestRegistry;
  /** Stops the registry and removes the users file. */
  stop(): Promise<void>;
}

/**
 * A Berth with htpasswd users root (password root-password, an administrator) and dev
 * (dev-password), and these auth.access.rules (YAML list items, indented as under `rules:`).
 */
export async function startUiRegistry(rules: readonly string[]): Promise<UiRegistry> {
  const usersDir = await mkdtemp(join(tmpdir(), 'berth-ui-users-'));
  const htpasswd = await writeUsers(usersDir);
  const registry = await startRegistry({ extraConfig: [authConfig(htpasswd), '    rules:', ...rules].join('\n') });
  return {
    registry,
    async stop() {
      await registry.stop();
      await rm(usersDir, { recursive: true, force: true });
    },
  };
}
