// The layer lint (.dependency-cruiser.cjs) against imports it must refuse: dependency-cruiser runs
// with the project's configuration over a small tree in a temporary directory (a src/ with files
// in the layers' folders, the project's node_modules linked in), and the violations it reports are
// exactly the forbidden imports planted there; then over the real src/, which has none.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';

const root = resolve(import.meta.dirname, '../..');
const depcruise = join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const config = join(root, '.dependency-cruiser.cjs');

interface Violation {
  readonly from: string;
  readonly to: string;
  readonly rule: { readonly name: string };
}

/** Runs the lint over src/ in `cwd` as `npm run lint:layers` does: its exit status and what it printed. */
function lint(cwd: string, outputType = 'err'): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, [depcruise, 'src', '--config', config, '--output-type', outputType], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    // dependency-cruiser colours its report when it thinks the terminal (or CI) supports it.
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
  });
  return { status: run.status, output: stripVTControlCharacters(`${run.stdout}${run.stderr}`) };
}

/** The violations the lint reports in `cwd`, as "rule: from -> to" (packages by name). */
function violations(cwd: string): string[] {
  const { output } = lint(cwd, 'json');
  assert.ok(output.startsWith('{'), `dependency-cruiser printed no report: ${output}`);
  const report = JSON.parse(output) as { summary: { violations: Violation[] } };
  return report.summary.violations
    .map((v) => `${v.rule.name}: ${v.from} -> ${v.to.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+).*$/, '$1')}`)
    .sort();
}

/** Files of the temporary tree: path under src/ -> source. */
const tree: Record<string, string> = {
  // Targets the imports below point at.
  'config/index.ts': 'export interface Config { readonly port: number }\n',
  'storage/driver.ts': 'export interface StorageDriver { stat(key: string): Promise<void> }\n',
  'storage/s3/s3-driver.ts': "import { S3Client } from '@aws-sdk/client-s3';\nexport const client = S3Client;\n",
  // Forbidden: the web framework in the pure domain.
  'oci/framework.ts': "import Fastify from 'fastify';\nexport const app = Fastify;\n",
  // Forbidden: auth and the proxy reading the configuration's types.
  'auth/options.ts': "import type { Config } from '../config/index.js';\nexport type AuthPort = Config['port'];\n",
  'proxy/options.ts': "import type { Config } from '../config/index.js';\nexport type ProxyPort = Config['port'];\n",
  // Forbidden: the query builder outside metadata; allowed inside it.
  'http/query.ts': "import { sql } from 'kysely';\nexport const query = sql;\n",
  'metadata/query.ts': "import { sql } from 'kysely';\nexport const query = sql;\n",
  // Forbidden: the proxy using the registry's implementation; allowed: its interfaces.
  'registry/interfaces.ts': 'export interface BlobReader { stat(): Promise<void> }\n',
  'registry/registry.ts': 'export class Registry {}\n',
  'proxy/cache.ts':
    "import type { BlobReader } from '../registry/interfaces.js';\nimport type { Registry } from '../registry/registry.js';\nexport type Decorated = [BlobReader, Registry];\n",
  // Forbidden: the registry naming a concrete driver; allowed: its contract.
  'registry/blobs.ts':
    "import type { StorageDriver } from '../storage/driver.js';\nimport { client } from '../storage/s3/s3-driver.js';\nexport type Store = StorageDriver;\nexport const s3 = client;\n",
  // Forbidden: the AWS SDK outside the S3 driver.
  'storage/filesystem/driver.ts': "import { S3Client } from '@aws-sdk/client-s3';\nexport const client = S3Client;\n",
  // Forbidden: shared test code under src/ reaching into test/.
  'proxy/testing/fixtures.ts': "export { helper } from '../../../test/helpers/helper.js';\n",
};

describe('the layer lint', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-layers-'));
    const tsconfig = JSON.parse(await readFile(join(root, 'tsconfig.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ ...tsconfig, include: ['src', 'test'] }));
    await symlink(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    for (const [path, source] of Object.entries({ ...tree, '../test/helpers/helper.ts': 'export const helper = 1;\n' })) {
      const file = join(dir, 'src', path);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, source);
    }
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fails on each forbidden import, and only on those', () => {
    assert.deepEqual(violations(dir), [
      'layer-auth: src/auth/options.ts -> src/config/index.ts',
      'layer-proxy: src/proxy/options.ts -> src/config/index.ts',
      'package-aws-sdk: src/storage/filesystem/driver.ts -> @aws-sdk/client-s3',
      'package-fastify: src/oci/framework.ts -> fastify',
      'package-kysely: src/http/query.ts -> kysely',
      'registry-interfaces-only: src/proxy/cache.ts -> src/registry/registry.ts',
      'registry-storage-contract: src/registry/blobs.ts -> src/storage/s3/s3-driver.ts',
      'testing-not-from-test-helpers: src/proxy/testing/fixtures.ts -> test/helpers/helper.ts',
    ]);
    const { status, output } = lint(dir);
    assert.equal(status, 8, `the lint fails with one error per violation:\n${output}`);
    assert.match(output, /package-fastify: src\/oci\/framework\.ts/);
  });

  it('passes on the real tree', () => {
    const { status, output } = lint(root);
    assert.equal(status, 0, output);
    assert.match(output, /no dependency violations found/);
  });
});
