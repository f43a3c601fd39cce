// The web UI's first page stays light: the JavaScript and CSS that index.html loads (scripts,
// stylesheets, module preloads) weigh under 150 KB compressed with gzip, built fresh from web/
// with the same Vite configuration as `npm run build` (into a temporary directory).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';

const BUDGET_BYTES = 150 * 1024;

describe('web UI bundle', () => {
  let outDir: string;
  before(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'berth-web-build-'));
    execFileSync('node_modules/.bin/vite', ['build', '--config', 'web/vite.config.ts', '--outDir', outDir, '--logLevel', 'warn'], {
      stdio: 'inherit',
    });
  });
  after(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it('loads under 150 KB of compressed JavaScript and CSS on the first page', async () => {
    const html = await readFile(join(outDir, 'index.html'), 'utf8');
    const urls = [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="\.\/([^"]+\.(?:js|css))"/g)].map((match) => match[1] ?? '');
    assert.ok(
      urls.some((url) => url.endsWith('.js')),
      `no script in ${html}`,
    );
    let total = 0;
    const sizes: string[] = [];
    for (const url of urls) {
      const compressed = gzipSync(await readFile(join(outDir, url)), { level: 9 }).length;
      total += compressed;
      sizes.push(`${url}: ${compressed} B`);
    }
    console.log(`first page: ${total} B gzip (${sizes.join(', ')})`);
    assert.ok(total < BUDGET_BYTES, `first page loads ${total} B compressed, over ${BUDGET_BYTES}: ${sizes.join(', ')}`);
  });
});
