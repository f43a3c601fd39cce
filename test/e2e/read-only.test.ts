// Read-only mode against a real server (SQLite file, htpasswd): `berth maintenance readonly on`
// run as its own process while the server serves the same database switches it within seconds:
// pushes get 405 UNSUPPORTED with a message skopeo prints, pulls go on, the admin API reads and
// switches it (administrators only, bad bodies 400), and `off` lets pushes through again. A server
// whose file sets storage.maintenance.readonly.enabled stays read-only whatever the switch says.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ClientCommandError, ContainerClients, dockerRef, type BuiltImage } from '../helpers/clients.js';
import { callRegistry } from '../helpers/call.js';
import { authConfig, DEV, firstError, ROOT, waitForStatus, writeUsers } from '../helpers/lifecycle.js';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';

const berthOnly = { skip: testTarget === 'reference' ? 'the runtime switch is Berth’s own' : false, concurrency: false };
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const READ_ONLY_MESSAGE = 'the registry is in read-only mode for maintenance: pulls work, pushes and deletes are refused';

/** Runs `berth ...` as its own process; resolves with its exit code and output. */
async function berth(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('REGISTRY_') || key.startsWith('BERTH_')) delete env[key];
  const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, 'src/cli/main.ts'), ...args], {
    cwd: projectRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}

/** The status of starting an upload: 202 when writes are accepted, 405 in read-only mode. */
async function uploadStatus(registry: TestRegistry, repository = 'e2e/read-only'): Promise<number> {
  return (await callRegistry(registry, 'POST', `/v2/${repository}/blobs/uploads/`, DEV)).status;
}

describe('read-only mode switched while the registry serves', berthOnly, () => {
  let dir = '';
  let registry: TestRegistry;
  let clients: ContainerClients;
  let image: BuiltImage;
  const configFile = (): string => join(registry.dataDir, 'berth-test-config.yml');
  const ref = (tag: string): string => dockerRef(registry.hostPort, 'e2e/read-only', tag);
  const push = (tag: string) =>
    clients.skopeo(['copy', '--dest-creds', 'dev:dev-password', '--dest-tls-verify=false', clients.storageRef(image.name), ref(tag)]);
  const pullDigest = async (tag: string): Promise<string> =>
    (
      await clients.skopeo(['inspect', '--tls-verify=false', '--creds', 'dev:dev-password', '--format', '{{.Digest}}', ref(tag)])
    ).stdout.trim();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-read-only-'));
    registry = await startRegistry({ extraConfig: authConfig(await writeUsers(dir)) });
    clients = await ContainerClients.create();
    image = await clients.buildImage({ name: 'localhost/e2e/read-only:1', layers: [[64, 2048]] });
  });
  after(async () => {
    await clients?.cleanup();
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses writes with 405 UNSUPPORTED once the CLI switches it on, and serves pulls', async () => {
    await push('before');
    const digest = await pullDigest('before');

    const on = await berth(['maintenance', 'readonly', 'on', '--config', configFile()]);
    assert.equal(on.code, 0, on.stderr);
    assert.match(on.stdout, /read-only mode on/);
    await waitForStatus(405, () => uploadStatus(registry));

    const refused = await callRegistry(registry, 'POST', '/v2/e2e/read-only/blobs/uploads/', DEV);
    assert.deepEqual(firstError(refused), { code: 'UNSUPPORTED', message: READ_ONLY_MESSAGE });
    for (const [method, path] of [
      ['PUT', '/v2/e2e/read-only/manifests/x'],
      ['DELETE', '/v2/e2e/read-only/manifests/before'],
      ['PATCH', '/v2/e2e/read-only/blobs/uploads/some-id'],
      [
        'POST',
        '/v2/e2e/other/blobs/uploads/?mount=sha256:0000000000000000000000000000000000000000000000000000000000000000&from=e2e/read-only',
      ],
    ] as const) {
      const answer = await callRegistry(registry, method, path, DEV, { body: '' });
      assert.equal(answer.status, 405, `${method} ${path}: ${answer.text}`);
    }

    let printed = '';
    try {
      await push('during');
      assert.fail('the push succeeded');
    } catch (error) {
      if (!(error instanceof ClientCommandError)) throw error;
      printed = error.stderr;
    }
    const line = printed.split('\n').find((l) => l.includes('read-only')) ?? printed;
    console.log(`# skopeo printed: ${line}`);
    assert.ok(printed.includes(READ_ONLY_MESSAGE), printed);

    // Pulls go on: by tag and by digest, manifest and blobs.
    assert.equal(await pullDigest('before'), digest);
    const copied = await clients.skopeo([
      'copy',
      '--src-tls-verify=false',
      '--src-creds',
      'dev:dev-password',
      ref('before'),
      `dir:${await clients.scratchDir('pulled')}`,
    ]);
    assert.ok(copied);

    const status = await berth(['maintenance', 'readonly', 'status', '--config', configFile()]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /read-only mode on: .*runtime switch: on; storage\.maintenance\.readonly\.enabled: false/);
  });

  it('is read and switched through the admin API by administrators only', async () => {
    const read = await callRegistry(registry, 'GET', '/api/v1/maintenance/readonly', ROOT);
    assert.equal(read.status, 200, read.text);
    assert.deepEqual(JSON.parse(read.text), { enabled: true, config: false, runtime: true });
    for (const body of ['', '{', '{"enabled":"yes"}', '{"enabled":true,"more":1}', '[]']) {
      const answer = await callRegistry(registry, 'PUT', '/api/v1/maintenance/readonly', ROOT, {
        body,
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(answer.status, 400, `${body}: ${answer.text}`);
    }
    assert.equal((await callRegistry(registry, 'GET', '/api/v1/maintenance/readonly', DEV)).status, 403);
    assert.equal((await callRegistry(registry, 'PUT', '/api/v1/maintenance/readonly', DEV, { json: { enabled: false } })).status, 403);
    assert.equal(
      (await callRegistry(registry, 'PUT', '/api/v1/maintenance/readonly', undefined, { json: { enabled: false } })).status,
      401,
    );
    assert.equal(await uploadStatus(registry), 405, 'still read-only');
  });

  it('accepts pushes again once the CLI switches it off', async () => {
    const off = await berth(['maintenance', 'readonly', 'off', '--config', configFile()]);
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stdout, /read-only mode off/);
    await waitForStatus(202, () => uploadStatus(registry));
    await push('after');
    assert.match(await pullDigest('after'), /^sha256:/);

    const bad = await berth(['maintenance', 'readonly', 'maybe', '--config', configFile()]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /expected on, off or status, got "maybe"/);
  });
});

describe('read-only mode from the configuration file', berthOnly, () => {
  let dir = '';
  let registry: TestRegistry;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-read-only-file-'));
    registry = await startRegistry({
      extraConfig: authConfig(await writeUsers(dir)),
      env: { REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED: 'true' },
    });
  });
  after(async () => {
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('stays read-only whatever the runtime switch says', async () => {
    assert.equal(await uploadStatus(registry), 405);
    const switched = await callRegistry(registry, 'PUT', '/api/v1/maintenance/readonly', ROOT, { json: { enabled: false } });
    assert.equal(switched.status, 200, switched.text);
    assert.deepEqual(JSON.parse(switched.text), { enabled: true, config: true, runtime: false });
    assert.equal(await uploadStatus(registry), 405);
    // Reads work.
    assert.equal((await callRegistry(registry, 'GET', '/v2/', DEV)).status, 200);
  });
});
