// The real `berth usage` command, run as a process against a temp SQLite database filled through
// the store: every namespace with its bytes (a shared layer counted once), repositories and quota
// from the file or the database, one namespace repository by repository, JSON, and a bad name.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { MetadataStore, openSqlite } from '../../src/metadata/index.js';
import { Digest } from '../../src/oci/digest.js';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const tsx = import.meta.resolve('tsx');
const digestOf = (seed: string): string => Digest.of(Buffer.from(seed)).toString();

let dir = '';
let configFile = '';

async function berth(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('REGISTRY_') || key.startsWith('BERTH_')) delete env[key];
  const child = spawn(process.execPath, ['--import', tsx, join(projectRoot, 'src/cli/main.ts'), ...args], { cwd: dir, env });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}

describe('berth usage', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-usage-cli-'));
    const database = join(dir, 'berth.db');
    configFile = join(dir, 'config.yml');
    await writeFile(
      configFile,
      [
        'storage:',
        `  filesystem: {rootdirectory: ${JSON.stringify(join(dir, 'data'))}}`,
        'metadata:',
        `  sqlite: {path: ${JSON.stringify(database)}}`,
        'quotas:',
        '  - {namespace: team, size: 10KiB, repositories: 5, warnat: 0.5}',
      ].join('\n'),
    );
    const store = new MetadataStore(openSqlite(database));
    await store.migrate();
    const shared = digestOf('shared');
    await store.addBlobToRepository('team/app', shared, 4000);
    await store.addBlobToRepository('team/tool', shared, 4000);
    await store.addBlobToRepository('team/tool', digestOf('own'), 1000);
    await store.putManifest({
      repository: 'team/app',
      digest: digestOf('manifest'),
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: 500,
      artifactType: undefined,
      subjectDigest: undefined,
      references: [{ digest: shared, kind: 'blob' }],
      tags: ['v1'],
    });
    await store.addBlobToRepository('ci/cache', digestOf('cache'), 3 * 2 ** 20);
    await store.quotaRules.putQuotaRule({
      namespace: 'ci',
      sizeBytes: 2 ** 30,
      repositories: undefined,
      warnAt: undefined,
      createdAt: new Date().toISOString(),
      createdBy: 'root',
    });
    await store.close();
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('prints every namespace with its usage and quota', async () => {
    const result = await berth(['usage', '--config', configFile]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      result.stdout
        .trimEnd()
        .split('\n')
        .map((line) => line.split(/\s{2,}/)),
      [
        ['NAMESPACE', 'USED', 'BYTES', 'REPOSITORIES', 'QUOTA'],
        ['ci', '3 MiB', String(3 * 2 ** 20), '0', '1 GiB (0%)'],
        ['team', '5.3 KiB', '5500', '1 of 5', '10 KiB (53%) !'],
      ],
    );
  });

  it('prints JSON as the admin API answers', async () => {
    const result = await berth(['usage', '--json', '--config', configFile]);
    assert.equal(result.code, 0, result.stderr);
    const { namespaces } = JSON.parse(result.stdout) as { namespaces: { namespace: string; bytes: number; quota?: { source: string } }[] };
    assert.deepEqual(
      namespaces.map((n) => [n.namespace, n.bytes, n.quota?.source]),
      [
        ['ci', 3 * 2 ** 20, 'api'],
        ['team', 5500, 'config'],
      ],
    );
  });

  it('prints one namespace repository by repository', async () => {
    const result = await berth(['usage', '--namespace', 'team', '--config', configFile]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'team: 5.3 KiB (5500 bytes) in 1 repositories; quota 10 KiB (53%) !');
    assert.deepEqual(
      lines.slice(1, 4).map((line) => line.split(/\s{2,}/)),
      [
        ['REPOSITORY', 'LINKED', 'BYTES', 'BLOBS', 'MANIFESTS', 'TAGS'],
        ['team/app', '4.3 KiB', '4500', '2', '1', '1'],
        ['team/tool', '4.8 KiB', '5000', '2', '0', '0'],
      ],
    );
    const json = JSON.parse((await berth(['usage', '--namespace', 'team', '--json', '--config', configFile])).stdout) as {
      bytes: number;
      repositoryUsage: unknown[];
    };
    assert.equal(json.bytes, 5500);
    assert.equal(json.repositoryUsage.length, 2);
  });

  it('refuses a name that is no namespace', async () => {
    const result = await berth(['usage', '--namespace', 'team/app', '--config', configFile]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /not a namespace/);
  });
});
