// The container image of deploy/container: built by deploy/container/build.sh with buildah (a
// Debian root from mmdebstrap, no Docker, no base image pulled), pushed into a Berth and pulled
// back unchanged, then proved to serve. podman cannot run containers in this sandbox (crun:
// "cgroups in hybrid mode not supported"), so the image pulled back is mounted with
// `buildah mount` and its ENTRYPOINT + CMD run under chroot as the image's USER (65532), with
// the image's Env, on a loopback port set by REGISTRY_HTTP_ADDR, exactly as `podman run -e
// REGISTRY_HTTP_ADDR=... berth` would start it. The image's HEALTHCHECK command is run the same
// way. Before it serves, a registry:2 volume is moved into it as docs/migrating-from-distribution.md
// says (Distribution writes the image's /var/lib/registry, chown to the image's user, the image's
// `import distribution /var/lib/registry`); then the old image and a new one are pulled from it.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { ContainerClients, dockerRef, runCommand } from '../helpers/clients.js';
import { freePort } from '../helpers/ports.js';
import { referenceConfig } from '../helpers/reference-registry.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const projectRoot = resolve(import.meta.dirname, '..', '..');
const IMAGE = 'localhost/berth:image-test';
const BERTH_UID = 65532;

interface ImageConfig {
  readonly User: string;
  readonly Env: readonly string[];
  readonly Entrypoint: readonly string[];
  readonly Cmd: readonly string[];
  readonly ExposedPorts: Readonly<Record<string, unknown>>;
  readonly Volumes: Readonly<Record<string, unknown>>;
  readonly WorkingDir: string;
  readonly Healthcheck?: { readonly Test: readonly string[] };
}

/** The Docker-format config of an image in this storage (`buildah inspect`). */
async function imageConfig(clients: ContainerClients, image: string): Promise<ImageConfig> {
  const inspected = JSON.parse((await clients.buildah(['inspect', '--type', 'image', image])).stdout) as {
    Docker: { config: ImageConfig };
  };
  return inspected.Docker.config;
}

/** dist/ as `npm ci` builds it; rebuilt only when a source is newer (a working copy), as test/cli does. */
async function ensureBuilt(): Promise<void> {
  const built = await stat(join(projectRoot, 'dist/cli/main.js')).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  const entries = await readdir(join(projectRoot, 'src'), { withFileTypes: true, recursive: true });
  let newest = (await stat(join(projectRoot, 'package.json'))).mtimeMs;
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
    newest = Math.max(newest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
  }
  if (built >= newest) return;
  const result = spawnSync('npm', ['run', 'build'], { cwd: projectRoot, encoding: 'utf8' });
  assert.equal(result.status, 0, `npm run build failed:\n${result.stdout}${result.stderr}`);
}

/** Runs a command in the mounted root as the image's user, with the image's environment. */
function chrootSpawn(root: string, user: string, env: readonly string[], argv: readonly string[]): ChildProcess {
  return spawn('/usr/sbin/chroot', [`--userspec=${user}`, root, ...argv], {
    env: Object.fromEntries(env.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)])),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolveExit) => {
    if (child.exitCode !== null) resolveExit(child.exitCode);
    else child.once('exit', (code) => resolveExit(code));
  });
}

/** Runs Distribution (Debian's docker-registry) on `root`, pushes one image as old/app:1 and stops it. */
async function fillWithDistribution(clients: ContainerClients, root: string): Promise<{ digest: string }> {
  const port = await freePort();
  const configDir = await clients.scratchDir('registry2');
  const configFile = join(configDir, 'config.yml');
  await writeFile(configFile, referenceConfig({ rootDirectory: root, port, deleteEnabled: true }));
  // Only PATH: Distribution reads every REGISTRY_* variable as configuration.
  const distribution = spawn('docker-registry', ['serve', configFile], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    stdio: 'ignore',
  });
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const answered = await fetch(`http://127.0.0.1:${port}/v2/`).then(
        (response) => response.headers.get('docker-distribution-api-version') === 'registry/2.0',
        () => false,
      );
      if (answered) break;
      assert.ok(distribution.exitCode === null && Date.now() < deadline, 'docker-registry did not start');
      await new Promise((resolveWait) => setTimeout(resolveWait, 100));
    }
    const image = await clients.buildImage({ name: 'localhost/e2e/old-app:1', layers: [[1024, 32 * 1024]] });
    const { digest } = await clients.skopeoCopy(clients.storageRef(image.name), dockerRef(`127.0.0.1:${port}`, 'old/app', '1'));
    return { digest };
  } finally {
    const exited = exitOf(distribution);
    distribution.kill('SIGTERM');
    await exited;
  }
}

describe('the container image (deploy/container)', { timeout: 900_000 }, () => {
  let builder: ContainerClients;
  let elsewhere: ContainerClients;
  let registry: TestRegistry;
  let builtId: string;
  let pushedDigest: string;
  let mountedRoot: string;
  let container: string;

  before(async () => {
    builder = await ContainerClients.create({ timeoutMs: 600_000 });
    elsewhere = await ContainerClients.create({ timeoutMs: 600_000 });
    registry = await startRegistry();
  });

  after(async () => {
    if (container) await elsewhere.buildah(['umount', container]).catch(() => undefined);
    await registry?.stop();
    await builder?.cleanup();
    await elsewhere?.cleanup();
  });

  it('builds with buildah from Debian packages (build.sh), no Docker', async () => {
    await ensureBuilt();
    const storage = `--root ${builder.root} --runroot ${builder.runroot} --storage-driver vfs`;
    const output = await runCommand(
      join(projectRoot, 'deploy/container/build.sh'),
      [IMAGE],
      { ...process.env, BUILDAH: storage, STORAGE_DRIVER: 'vfs', BUILDAH_ISOLATION: 'chroot' },
      { timeoutMs: 600_000 },
    );
    builtId = (output.stdout.trim().split('\n').pop() ?? '').trim();
    assert.match(builtId, /^[0-9a-f]{64}$/, `${output.stdout}\n${output.stderr}`);
  });

  it('runs as a non-root user, exposes 5000, keeps /var/lib/registry in a volume and has a HEALTHCHECK', async () => {
    const config = await imageConfig(builder, IMAGE);
    assert.equal(config.User, `${BERTH_UID}:${BERTH_UID}`);
    assert.deepEqual(Object.keys(config.ExposedPorts), ['5000/tcp']);
    assert.deepEqual(Object.keys(config.Volumes), ['/var/lib/registry']);
    assert.deepEqual(config.Cmd, ['serve', '/etc/docker/registry/config.yml']);
    assert.deepEqual(config.Healthcheck?.Test, ['CMD', '/usr/local/bin/node', '/app/healthcheck.mjs']);
    assert.equal(config.Entrypoint[config.Entrypoint.length - 1], '/app/bin/berth.js');
  });

  it('is pushed into a Berth and pulled back unchanged', async () => {
    const reference = dockerRef(registry.hostPort, 'berth/berth', 'image-test');
    pushedDigest = (await builder.skopeoCopy(builder.storageRef(IMAGE), reference)).digest;
    assert.equal(await builder.manifestDigest(reference), pushedDigest);
    // Another machine's storage: the image ID (its config's digest) is the one built.
    const pulledId = await elsewhere.podmanPull(`${registry.hostPort}/berth/berth:image-test`);
    assert.equal(pulledId, builtId);
  });

  it('serves from the pulled image as its user, with registry:2 defaults; HEALTHCHECK passes, then fails once stopped', async () => {
    const image = `${registry.hostPort}/berth/berth:image-test`;
    const config = await imageConfig(elsewhere, image);
    container = (await elsewhere.buildah(['from', '--pull-never', image])).stdout.trim().split('\n').pop() ?? '';
    mountedRoot = (await elsewhere.buildah(['mount', container])).stdout.trim();
    const defaults = await readFile(join(mountedRoot, 'etc/docker/registry/config.yml'), 'utf8');
    assert.match(defaults, /addr: :5000/);
    assert.match(defaults, /rootdirectory: \/var\/lib\/registry/);

    // A registry:2 volume at the image's /var/lib/registry, moved as the migration page says:
    // chown to the image's user, then `import distribution /var/lib/registry` with the image's
    // entrypoint (it finds its own config.yml through REGISTRY_CONFIGURATION_PATH).
    const volume = join(mountedRoot, 'var/lib/registry');
    const old = await fillWithDistribution(elsewhere, volume);
    await runCommand('chown', ['-R', `${BERTH_UID}:${BERTH_UID}`, volume], { PATH: process.env.PATH ?? '/usr/bin:/bin' });
    const importer = chrootSpawn(mountedRoot, config.User, config.Env, [
      ...config.Entrypoint,
      'import',
      'distribution',
      '/var/lib/registry',
    ]);
    const importLog: string[] = [];
    importer.stdout?.on('data', (chunk: Buffer) => importLog.push(chunk.toString()));
    importer.stderr?.on('data', (chunk: Buffer) => importLog.push(chunk.toString()));
    assert.equal(await exitOf(importer), 0, importLog.join(''));

    const port = await freePort();
    // The only change from `podman run berth`: listen on loopback at a free port (-e REGISTRY_HTTP_ADDR).
    const env = [...config.Env, `REGISTRY_HTTP_ADDR=127.0.0.1:${port}`];
    const berth = chrootSpawn(mountedRoot, config.User, env, [...config.Entrypoint, ...config.Cmd]);
    const log: string[] = [];
    berth.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    try {
      const listening = await new Promise<{ storage: string; metadata: string }>((resolveStart, reject) => {
        const timer = setTimeout(() => reject(new Error(`the image's Berth did not start:\n${log.join('')}`)), 60_000);
        if (!berth.stdout) throw new Error('no stdout');
        createInterface({ input: berth.stdout }).on('line', (line) => {
          log.push(`${line}\n`);
          const entry = JSON.parse(line) as { msg?: string; storage?: string; metadata?: string };
          if (entry.msg === 'listening') {
            clearTimeout(timer);
            resolveStart({ storage: entry.storage ?? '', metadata: entry.metadata ?? '' });
          }
        });
        berth.once('exit', (code) => reject(new Error(`the image's Berth exited with ${code}:\n${log.join('')}`)));
      });
      assert.deepEqual(listening, { storage: '/var/lib/registry', metadata: '/var/lib/registry/berth.db' });
      // Not root: the kernel's view of the process the chroot started.
      const status = await readFile(`/proc/${berth.pid}/status`, 'utf8');
      assert.match(status, new RegExp(`^Uid:\\s+${BERTH_UID}\\s+${BERTH_UID}`, 'm'));

      const probe = config.Healthcheck?.Test.slice(1) ?? [];
      assert.equal(await exitOf(chrootSpawn(mountedRoot, config.User, env, probe)), 0, 'HEALTHCHECK while serving');

      // Push through the containerised Berth and pull back, byte for byte.
      const hostPort = `127.0.0.1:${port}`;
      const app = await elsewhere.buildImage({ name: 'localhost/e2e/through-image:1' });
      const pushed = await elsewhere.skopeoCopy(elsewhere.storageRef(app.name), dockerRef(hostPort, 'e2e/app', '1'));
      assert.equal(await elsewhere.manifestDigest(dockerRef(hostPort, 'e2e/app', '1')), pushed.digest);
      const copyBack = await elsewhere.scratchDir('copy-back');
      const back = await elsewhere.skopeoCopy(dockerRef(hostPort, 'e2e/app', '1'), `dir:${copyBack}`);
      assert.equal(back.digest, pushed.digest);
      // The image registry:2 held before, pulled from the containerised Berth unchanged.
      assert.equal(await elsewhere.manifestDigest(dockerRef(hostPort, 'old/app', '1')), old.digest);
      // The bytes are in the image's /var/lib/registry, owned by its user.
      const blobs = await readdir(join(mountedRoot, 'var/lib/registry'));
      assert.ok(blobs.includes('blobs'), `no blobs in /var/lib/registry: ${blobs.join(', ')}`);
      assert.equal((await stat(join(mountedRoot, 'var/lib/registry/blobs'))).uid, BERTH_UID);
    } finally {
      const exited = exitOf(berth);
      berth.kill('SIGTERM');
      await exited;
    }
    assert.equal(
      await exitOf(chrootSpawn(mountedRoot, config.User, env, config.Healthcheck?.Test.slice(1) ?? [])),
      1,
      'HEALTHCHECK once stopped',
    );
  });
});
