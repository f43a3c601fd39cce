// Every file in examples/ must be a valid configuration (CI runs `berth config check` on them
// too); the registry:2 one must load with warnings only.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from './index.js';

const examplesDir = fileURLToPath(new URL('../../examples/', import.meta.url));

describe('examples/', async () => {
  const files = (await readdir(examplesDir)).filter((name) => /\.ya?ml$/.test(name)).sort();

  it('holds the annotated Berth config and the registry:2 config', () => {
    assert.ok(files.includes('config.yml'));
    assert.ok(files.includes('registry2-config.yml'));
  });

  for (const name of files) {
    it(`${name} is valid`, async () => {
      await loadConfig({ file: path.join(examplesDir, name), cwd: examplesDir });
    });
  }

  it('config.yml shows the defaults, so it loads exactly like no file at all', async () => {
    const config = await loadConfig({ file: path.join(examplesDir, 'config.yml'), cwd: examplesDir });
    assert.deepEqual(config, await loadConfig({ cwd: examplesDir }));
  });

  it('registry2-config.yml keeps its storage and address and warns about the rest', async () => {
    const file = path.join(examplesDir, 'registry2-config.yml');
    const config = await loadConfig({ file, cwd: examplesDir });
    assert.equal(config.storage.filesystem.rootdirectory, '/var/lib/registry');
    assert.deepEqual(config.http.addr, { host: '0.0.0.0', port: 5000 });
    assert.deepEqual(config.warnings, [
      `ignored: log.fields is not supported yet (${file}:3)`,
      `ignored: storage.cache is not supported yet (${file}:6)`,
      `ignored: http.headers is not supported yet (${file}:12)`,
      `ignored: health is not supported yet (${file}:14)`,
    ]);
  });
});
