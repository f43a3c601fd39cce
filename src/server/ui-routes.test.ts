// The web UI served by buildApp (inject, a temporary SQLite file and directory): index.html for
// page paths with no-cache and a strict Content-Security-Policy, hashed assets with a year-long
// immutable cache and precompressed encodings, / redirecting to ui.path, /v2/ untouched, a
// moved ui.path, ui.enabled: false, and ui.path values that would shadow the APIs refused. Needs
// the built UI (dist/web): `npm run build` makes it; the test builds it when it is missing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { ConfigError, parseConfig } from '../config/index.js';
import { buildApp, type BerthApp } from './build-app.js';
import { DEFAULT_UI_DIRECTORY } from './ui-assets.js';

/** Builds dist/web once when a test run starts from a checkout that was never built. */
export function ensureUiBuilt(): void {
  if (existsSync(join(DEFAULT_UI_DIRECTORY, 'index.html'))) return;
  execFileSync('node_modules/.bin/vite', ['build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], { stdio: 'inherit' });
}

async function appWith(dir: string, env: Record<string, string>): Promise<BerthApp> {
  return buildApp(parseConfig('', { cwd: dir, env }), pino({ level: 'silent' }));
}

describe('web UI routes', () => {
  let dir: string;
  let app: BerthApp;
  before(async () => {
    ensureUiBuilt();
    dir = await mkdtemp(join(tmpdir(), 'berth-ui-'));
    app = await appWith(dir, {});
  });
  after(async () => {
    await app.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('redirects / and /ui to /ui/', async () => {
    const root = await app.http.inject('/');
    assert.equal(root.statusCode, 302);
    assert.equal(root.headers.location, '/ui/');
    const bare = await app.http.inject('/ui');
    assert.equal(bare.statusCode, 301);
    assert.equal(bare.headers.location, '/ui/');
  });

  it('serves index.html for every page path, with a <base>, no-cache and a strict CSP', async () => {
    for (const path of ['/ui/', '/ui/r/library/alpine', '/ui/r/a/b/-/manifest/sha256:00', '/ui/sign-in?next=x']) {
      const page = await app.http.inject(path);
      assert.equal(page.statusCode, 200, path);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      assert.equal(page.headers['cache-control'], 'no-cache');
      const csp = String(page.headers['content-security-policy']);
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.equal(page.headers['x-content-type-options'], 'nosniff');
      assert.match(page.body, /<base href="\/ui\/" \/>/);
      // No inline script: every <script> has a src.
      assert.doesNotMatch(page.body, /<script(?![^>]*\bsrc=)[^>]*>/);
    }
  });

  it('serves hashed assets immutable for a year, compressed when asked, and 404s unknown ones', async () => {
    const page = await app.http.inject('/ui/');
    const scripts = [...page.body.matchAll(/(?:src|href)="\.\/(assets\/[^"]+)"/g)].map((match) => match[1] ?? '');
    assert.ok(scripts.some((path) => path.endsWith('.js')) && scripts.some((path) => path.endsWith('.css')), page.body);
    for (const path of scripts) {
      const plain = await app.http.inject(`/ui/${path}`);
      assert.equal(plain.statusCode, 200, path);
      assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.equal(plain.headers['content-encoding'], undefined);
      const gzipped = await app.http.inject({ url: `/ui/${path}`, headers: { 'accept-encoding': 'gzip' } });
      assert.equal(gzipped.headers['content-encoding'], 'gzip');
      assert.equal(gunzipSync(gzipped.rawPayload).toString('utf8'), plain.body);
      const revalidated = await app.http.inject({ url: `/ui/${path}`, headers: { 'if-none-match': String(plain.headers.etag) } });
      assert.equal(revalidated.statusCode, 304);
    }
    const missing = await app.http.inject('/ui/assets/index-00000000.js');
    assert.equal(missing.statusCode, 404);
    assert.equal(JSON.parse(missing.body).errors[0].code, 'NOT_FOUND');
  });

  it('never shadows the registry API', async () => {
    const base = await app.http.inject('/v2/');
    assert.equal(base.statusCode, 200);
    assert.equal(base.body, '{}');
    const catalog = await app.http.inject('/v2/_catalog');
    assert.deepEqual(JSON.parse(catalog.body), { repositories: [] });
    assert.equal((await app.http.inject('/v2/ui/manifests/latest')).statusCode, 404);
  });

  it('moves to ui.path and disappears with ui.enabled: false', async () => {
    const moved = await appWith(dir, { BERTH_UI_PATH: '/console/' });
    try {
      assert.equal((await moved.http.inject('/')).headers.location, '/console/');
      const page = await moved.http.inject('/console/r/x');
      assert.match(page.body, /<base href="\/console\/" \/>/);
      assert.equal((await moved.http.inject('/ui/')).statusCode, 404);
    } finally {
      await moved.close();
    }
    const off = await appWith(dir, { BERTH_UI_ENABLED: 'false' });
    try {
      assert.equal((await off.http.inject('/')).statusCode, 404);
      assert.equal((await off.http.inject('/ui/')).statusCode, 404);
    } finally {
      await off.close();
    }
  });

  it('refuses ui.path values over the APIs or that are not plain paths', () => {
    for (const path of ['/', '/v2', '/v2/ui', '/api', '/token', '/metrics', 'ui', '/ui/../v2', '/a b']) {
      assert.throws(
        () => parseConfig(`ui:\n  path: ${JSON.stringify(path)}\n`, { cwd: dir, env: {} }),
        (error: unknown) => error instanceof ConfigError && /ui\.path/.test(error.message),
        path,
      );
    }
  });
});
