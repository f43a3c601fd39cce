// Every way of starting Berth passes the same Node.js flags (bench/lib/servers.ts
// BERTH_NODE_FLAGS), so that the benchmark measures Berth as users run it and no launcher drifts:
// bin/berth.js's first line (used when the `berth` command is run directly), `npm start`, the
// container image and the Kubernetes manifest.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { BERTH_NODE_FLAGS } from './lib/servers.js';

const projectRoot = resolve(import.meta.dirname, '..');
const read = (path: string) => readFile(resolve(projectRoot, path), 'utf8');

describe('Node.js flags of the launchers', () => {
  it('bin/berth.js runs node with them', async () => {
    const firstLine = (await read('bin/berth.js')).split('\n')[0];
    assert.equal(firstLine, `#!/usr/bin/env -S node ${BERTH_NODE_FLAGS.join(' ')}`);
  });

  it('npm start passes them', async () => {
    const pkg = JSON.parse(await read('package.json')) as { scripts: Record<string, string> };
    assert.equal(pkg.scripts.start, `node ${BERTH_NODE_FLAGS.join(' ')} bin/berth.js serve`);
  });

  it('the container image and the Kubernetes manifest pass them', async () => {
    const argv = JSON.stringify(['node', ...BERTH_NODE_FLAGS, 'bin/berth.js', 'serve', '/etc/berth/config.yml']).replaceAll(',', ', ');
    assert.ok((await read('deploy/Containerfile')).includes(`CMD ${argv}`), 'Containerfile CMD');
    assert.ok((await read('deploy/kubernetes/berth.yaml')).includes(`args: ${argv}`), 'kubernetes args');
  });
});
