// `berth config check` and `berth serve` as processes, on the problems a new user meets: other
// programs' REGISTRY_* variables in the environment, a certificate file that is not there, a
// data directory that is a file or on a read-only file system, a database file that is not a
// database, and a database set up for authentication (users, grants, a private namespace)
// served with authentication off. config check must refuse what serve refuses, with the same
// message naming the key and the path. Read-only directories are read-only tmpfs mounts made
// (and unmounted) here; without the privilege to mount, those tests are skipped.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const tsx = import.meta.resolve('tsx');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dir = '';

/** The environment of the process: none of the caller's REGISTRY_ or BERTH_ variables, plus `extra`. */
function environment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('REGISTRY_') || key.startsWith('BERTH_')) delete env[key];
  return { ...env, ...extra };
}

async function berth(args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<Result> {
  const child = spawn(process.execPath, ['--import', tsx, join(projectRoot, 'src/cli/main.ts'), ...args], {
    cwd: dir,
    env: environment(options.env ?? {}),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(options.input ?? '');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}

/**
 * Starts `berth serve` and resolves once it listens (then stops it, by its PID) or exits.
 * 'listening' or the exit code, with everything it printed.
 */
async function serve(config: string, env: Record<string, string> = {}): Promise<{ outcome: 'listening' | number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', tsx, join(projectRoot, 'src/cli/main.ts'), 'serve', '--config', config], {
    cwd: dir,
    env: environment({ REGISTRY_HTTP_ADDR: '127.0.0.1:0', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const listening = new Promise<'listening'>((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      output += `${line}\n`;
      if (line.includes('"msg":"listening"')) resolve('listening');
    });
  });
  const outcome = await Promise.race([listening, exited]);
  if (outcome === 'listening') {
    child.kill('SIGTERM');
    await exited;
  }
  return { outcome, output };
}

async function configFile(name: string, lines: string[]): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

const storageAt = (root: string, extra: string[] = []): string[] => ['storage:', '  filesystem:', `    rootdirectory: ${root}`, ...extra];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-startup-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the environment of podman users', () => {
  it('warns about REGISTRY_AUTH_FILE instead of stopping config check, serve and the account commands', async () => {
    const env = { REGISTRY_AUTH_FILE: '/run/user/0/containers/auth.json' };
    const config = await configFile('env.yml', storageAt(join(dir, 'env-data')));
    const checked = await berth(['config', 'check', config], { env });
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stdout, /^warning: ignored: REGISTRY_AUTH_FILE names no setting \(no key "auth\.file"\)$/m);
    assert.match(checked.stdout, /is valid$/m);
    const added = await berth(['user', 'add', 'alice', '--password-stdin', '--config', config], { env, input: 'alice-password\n' });
    assert.equal(added.code, 0, added.stderr);
    // (alice makes the database one set up for authentication; that is the next suite's subject.)
    const served = await serve(config, { ...env, BERTH_AUTH_OPENACCESS: 'true' });
    assert.equal(served.outcome, 'listening', served.output);
    assert.match(served.output, /REGISTRY_AUTH_FILE names no setting/);
  });
});

/** Both commands fail, and both name the problem with the same line. */
async function bothRefuse(config: string, expected: RegExp): Promise<void> {
  const checked = await berth(['config', 'check', config]);
  assert.equal(checked.code, 2, `config check: ${checked.stdout}${checked.stderr}`);
  assert.match(checked.stderr, expected);
  const served = await serve(config);
  assert.notEqual(served.outcome, 'listening', served.output);
  assert.match(served.output, expected);
}

describe('start-up checks shared by config check and serve', () => {
  it('a certificate file that does not exist', async () => {
    const config = await configFile('tls.yml', [
      ...storageAt(join(dir, 'tls-data')),
      'http:',
      '  tls:',
      '    certificate: certs/missing.crt',
      '    key: certs/missing.key',
    ]);
    await bothRefuse(config, new RegExp(`^config: http\\.tls\\.certificate: ${join(dir, 'certs/missing.crt')} does not exist$`, 'm'));
    // Checking a file for another machine: the syntax alone.
    const syntax = await berth(['config', 'check', '--syntax-only', config]);
    assert.equal(syntax.code, 0, syntax.stderr);
    assert.match(syntax.stdout, /is valid \(syntax only/);
  });

  it('a data directory that is a file', async () => {
    const file = join(dir, 'not-a-directory');
    await writeFile(file, 'x');
    const config = await configFile('file-root.yml', storageAt(file));
    await bothRefuse(config, new RegExp(`^config: storage\\.filesystem\\.rootdirectory: ${file} is a file, not a directory`, 'm'));
    await bothRefuse(config, new RegExp(`^config: metadata\\.sqlite\\.path: ${file} is a file, not a directory`, 'm'));
  });

  it('a database file that is not a database: serve names the file', async () => {
    const root = join(dir, 'garbage');
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'berth.db'), Buffer.alloc(8192, 7));
    const served = await serve(await configFile('garbage.yml', storageAt(root)));
    assert.notEqual(served.outcome, 'listening', served.output);
    assert.match(
      served.output,
      new RegExp(`config: metadata\\.sqlite\\.path: cannot open the SQLite database ${join(root, 'berth.db')}: `),
    );
  });
});

describe('start-up checks: read-only file systems', () => {
  const mounts: string[] = [];
  let skip: string | false = false;

  /** A read-only tmpfs (holding `files` written before it turns read-only). */
  async function readOnlyDirectory(name: string, files: Record<string, string> = {}): Promise<string> {
    const mountPoint = join(dir, name);
    await mkdir(mountPoint, { recursive: true });
    const mount = (options: string): ReturnType<typeof spawnSync> =>
      spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', mountPoint], { encoding: 'utf8' });
    const mounted = mount('size=1m,mode=0755');
    if (mounted.status !== 0) throw new Error(`mount: ${String(mounted.stderr)}`);
    mounts.push(mountPoint);
    for (const [file, content] of Object.entries(files)) {
      await mkdir(join(mountPoint, file, '..'), { recursive: true });
      await writeFile(join(mountPoint, file), content);
    }
    const remounted = spawnSync('mount', ['-o', 'remount,ro', mountPoint], { encoding: 'utf8' });
    if (remounted.status !== 0) throw new Error(`mount -o remount,ro: ${remounted.stderr}`);
    return mountPoint;
  }

  before(async () => {
    try {
      await readOnlyDirectory('probe');
    } catch (error) {
      skip = `cannot mount a read-only tmpfs here (${error instanceof Error ? error.message.trim() : String(error)})`;
    }
  });
  after(() => {
    for (const mountPoint of mounts.reverse()) spawnSync('umount', [mountPoint]);
  });

  it('a read-only data directory (the database in it): named, with the reason', async (t) => {
    if (skip) return t.skip(skip);
    const root = await readOnlyDirectory('ro-root');
    await bothRefuse(
      await configFile('ro-root.yml', storageAt(root)),
      new RegExp(`^config: metadata\\.sqlite\\.path: ${root} is not writable \\(read-only file system\\)`, 'm'),
    );
  });

  it('a read-only blob directory with the database elsewhere: refused at start-up, not at the first push', async (t) => {
    if (skip) return t.skip(skip);
    const root = await readOnlyDirectory('ro-blobs');
    const config = await configFile('ro-blobs.yml', [
      ...storageAt(root),
      'metadata:',
      '  sqlite:',
      `    path: ${join(dir, 'ro-blobs-meta', 'berth.db')}`,
    ]);
    await bothRefuse(
      config,
      new RegExp(
        `^config: storage\\.filesystem\\.rootdirectory: ${root} is not writable \\(read-only file system\\): Berth writes blobs and uploads there$`,
        'm',
      ),
    );
  });

  it('a read-only blobs folder below a writable root', async (t) => {
    if (skip) return t.skip(skip);
    const root = join(dir, 'sub-root');
    await mkdir(root, { recursive: true });
    const blobs = join(root, 'blobs');
    await mkdir(blobs);
    spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', blobs]);
    mounts.push(blobs);
    await bothRefuse(
      await configFile('ro-sub.yml', storageAt(root)),
      new RegExp(`^config: storage\\.filesystem\\.rootdirectory: ${blobs} is not writable \\(read-only file system\\)`, 'm'),
    );
  });
});

describe('a database set up for authentication, with authentication off', () => {
  it('is refused by config check and serve, naming what it holds and the option that allows it', async () => {
    const root = join(dir, 'secured');
    const config = await configFile('secured.yml', storageAt(root));
    const run = async (args: string[], input?: string): Promise<void> => {
      const result = await berth([...args, '--config', config], input === undefined ? {} : { input });
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    };
    // The README's "Secure it", steps 3, into the database of an open configuration.
    await run(['user', 'add', 'alice', '--password-stdin'], 'alice-password\n');
    await run(['user', 'add', 'bob', '--password-stdin'], 'bob-password\n');
    await run(['namespace', 'set', 'team', '--visibility', 'private']);
    await run(['namespace', 'grant', 'team', '--user', 'alice', '--role', 'push']);

    const expected =
      /^config: auth: the metadata database \(.*berth\.db\) holds 2 users, 1 namespace grant and 1 private namespace but authentication is off.*auth\.tokenserver\.enabled.*auth\.htpasswd\.path.*auth\.openaccess: true \(BERTH_AUTH_OPENACCESS=true\)/m;
    const checked = await berth(['config', 'check', config]);
    assert.equal(checked.code, 2, checked.stdout);
    assert.match(checked.stderr, expected);
    const served = await serve(config);
    assert.notEqual(served.outcome, 'listening', served.output);
    assert.match(served.output, expected);

    // Asked for explicitly: served openly.
    const open = { BERTH_AUTH_OPENACCESS: 'true' };
    assert.equal((await berth(['config', 'check', config], { env: open })).code, 0);
    assert.equal((await serve(config, open)).outcome, 'listening');
    // With authentication configured, the same database is fine.
    const secured = await configFile('secured-auth.yml', [...storageAt(root), 'auth:', '  tokenserver:', '    enabled: true']);
    const withAuth = await berth(['config', 'check', secured]);
    assert.equal(withAuth.code, 0, withAuth.stderr);
    assert.equal((await serve(secured)).outcome, 'listening');
  });
});
