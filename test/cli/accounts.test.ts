// The real `berth user | team | namespace | token` commands, run as processes: against a temp
// htpasswd file (entries verified with verifyPassword, other tools' $2y$ lines and comments kept)
// and against a temp SQLite database (checked afterwards through the store).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { parseApiToken, tokenSecretMatches } from '../../src/auth/api-tokens.js';
import { parseHtpasswd } from '../../src/auth/htpasswd.js';
import { verifyPassword } from '../../src/auth/passwords.js';
import { MetadataStore, openSqlite } from '../../src/metadata/index.js';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const tsx = import.meta.resolve('tsx');
// The crypt_blowfish test vector for "U*U", as `htpasswd -B` writes it.
const FROM_APACHE = 'ci:$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dir = '';

/** Runs the CLI in `cwd` (default the temp folder) with no configuration from the environment. */
async function berth(args: string[], options: { input?: string; cwd?: string } = {}): Promise<Result> {
  const env = { ...process.env };
  delete env.BERTH_CONFIG;
  delete env.REGISTRY_CONFIGURATION_PATH;
  for (const key of Object.keys(env)) if (key.startsWith('REGISTRY_') || key.startsWith('BERTH_')) delete env[key];
  const child = spawn(process.execPath, ['--import', tsx, join(projectRoot, 'src/cli/main.ts'), ...args], {
    cwd: options.cwd ?? dir,
    env,
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

function hasScript(): boolean {
  return spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Runs the CLI on a pseudo-terminal (util-linux `script`), answering each prompt when it
 * appears, as a person typing would.
 */
async function berthOnTerminal(args: string[], answers: string[]): Promise<Result> {
  const quote = (text: string): string => `'${text.replaceAll("'", "'\\''")}'`;
  const command = [process.execPath, '--import', tsx, join(projectRoot, 'src/cli/main.ts'), ...args].map(quote).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let answered = 0;
  let seen = 0;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    // Each prompt ends with "password: "; answer it once it is on the screen.
    const prompts = stdout.split(/[Pp]assword: /).length - 1;
    while (seen < prompts && answered < answers.length) {
      seen++;
      child.stdin.write(`${answers[answered++] ?? ''}\r`);
    }
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}

function ok(result: Result): Result {
  assert.equal(result.code, 0, `exit status 0\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

function fails(result: Result, message: RegExp): void {
  assert.equal(result.code, 1, `exit status 1\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  assert.match(result.stderr, message);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'a one-line message, not a stack trace');
}

async function withStore<T>(path: string, work: (store: MetadataStore) => Promise<T>): Promise<T> {
  const store = new MetadataStore(openSqlite(path));
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-cli-accounts-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('berth user --htpasswd', { timeout: 120_000 }, () => {
  it('adds, changes and removes users in an htpasswd file that other tools wrote', async () => {
    const file = join(dir, 'existing.htpasswd');
    await writeFile(file, `# managed by hand\n${FROM_APACHE}\nold:$apr1$abcdefgh$0123456789abcdefghijkl\n`, { mode: 0o640 });

    ok(await berth(['user', 'add', 'alice', '--htpasswd', file, '--password-stdin', '--cost', '5'], { input: 'alice-password\n' }));
    let text = await readFile(file, 'utf8');
    assert.ok(text.startsWith(`# managed by hand\n${FROM_APACHE}\nold:$apr1$`), 'other lines are kept as they were');
    let parsed = parseHtpasswd(text);
    assert.deepEqual([...parsed.users.keys()], ['ci', 'alice']);
    const alice = parsed.users.get('alice') ?? '';
    assert.match(alice, /^\$2y\$05\$/, '$2y$ as htpasswd -B writes, with the requested cost');
    assert.equal(await verifyPassword('alice-password', alice), true, 'the trailing newline of stdin is not part of the password');
    assert.equal(
      await verifyPassword('U*U', parsed.users.get('ci') ?? ''),
      true,
      'the $2y$ entry of another tool still parses and verifies',
    );
    assert.equal((await stat(file)).mode & 0o777, 0o640, 'an existing file keeps its mode');

    fails(await berth(['user', 'add', 'alice', '--htpasswd', file, '--password-stdin'], { input: 'another-password' }), /already exists/);

    const passwd = ok(await berth(['user', 'passwd', 'alice', '--htpasswd', file, '--password', 'changed-password', '--cost', '4']));
    assert.match(passwd.stderr, /warning: .*shell history/);
    text = await readFile(file, 'utf8');
    parsed = parseHtpasswd(text);
    assert.equal(await verifyPassword('changed-password', parsed.users.get('alice') ?? ''), true);
    assert.equal(await verifyPassword('alice-password', parsed.users.get('alice') ?? ''), false);
    fails(await berth(['user', 'passwd', 'nobody', '--htpasswd', file, '--password-stdin'], { input: 'whatever-pass' }), /no user nobody/);

    const list = ok(await berth(['user', 'list', '--htpasswd', file]));
    assert.deepEqual(list.stdout.trim().split('\n'), ['ci', 'alice']);
    assert.match(list.stderr, /warning: .*:3 old: MD5/);

    ok(await berth(['user', 'remove', 'alice', '--htpasswd', file]));
    assert.equal(await readFile(file, 'utf8'), `# managed by hand\n${FROM_APACHE}\nold:$apr1$abcdefgh$0123456789abcdefghijkl\n`);
    fails(await berth(['user', 'remove', 'alice', '--htpasswd', file]), /no user alice/);
  });

  it('asks for the password twice on a terminal, without echoing it', async (t) => {
    if (!hasScript()) {
      t.skip('script (util-linux) is not installed');
      return;
    }
    const file = join(dir, 'terminal.htpasswd');
    const added = await berthOnTerminal(['user', 'add', 'tty', '--htpasswd', file, '--cost', '4'], ['typed-password', 'typed-password']);
    assert.equal(added.code, 0, added.stdout);
    assert.match(added.stdout, /Password: [\s\S]*Repeat password: /);
    assert.ok(!added.stdout.includes('typed-password'), `the password is not echoed: ${added.stdout}`);
    assert.equal(await verifyPassword('typed-password', parseHtpasswd(await readFile(file, 'utf8')).users.get('tty') ?? ''), true);

    const mismatch = await berthOnTerminal(
      ['user', 'passwd', 'tty', '--htpasswd', file, '--cost', '4'],
      ['first-password', 'other-password'],
    );
    assert.equal(mismatch.code, 1, mismatch.stdout);
    assert.match(mismatch.stdout, /do not match/);
    assert.equal(await verifyPassword('typed-password', parseHtpasswd(await readFile(file, 'utf8')).users.get('tty') ?? ''), true);
  });

  it('creates a missing file with mode 0600, with the cost of the configuration', async () => {
    const file = join(dir, 'new', 'users.htpasswd');
    const config = join(dir, 'cost.yml');
    await writeFile(config, 'auth:\n  bcryptcost: 5\n');
    ok(await berth(['user', 'add', 'bob', '--htpasswd', file, '--password-stdin', '-c', config], { input: 'bob-password' }));
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const hash = parseHtpasswd(await readFile(file, 'utf8')).users.get('bob') ?? '';
    assert.match(hash, /^\$2y\$05\$/);
    assert.equal(await verifyPassword('bob-password', hash), true);
  });

  it('refuses short passwords, bad names, a missing password and --admin, changing nothing', async () => {
    const file = join(dir, 'refusals.htpasswd');
    fails(await berth(['user', 'add', 'carol', '--htpasswd', file, '--password-stdin'], { input: 'short' }), /at least 8 characters/);
    fails(await berth(['user', 'add', 'Carol!', '--htpasswd', file, '--password-stdin'], { input: 'long-enough' }), /invalid name/);
    fails(await berth(['user', 'add', 'carol', '--htpasswd', file]), /no password given: use --password-stdin/);
    fails(
      await berth(['user', 'add', 'carol', '--htpasswd', file, '--admin', '--password-stdin'], { input: 'long-enough' }),
      /auth\.access\.admins/,
    );
    fails(
      await berth(['user', 'add', 'carol', '--htpasswd', file, '--cost', '99', '--password-stdin'], { input: 'long-enough' }),
      /--cost/,
    );
    await assert.rejects(stat(file), { code: 'ENOENT' });
  });
});

describe('berth user | team | namespace | token on the database', { timeout: 180_000 }, () => {
  let config = '';
  let database = '';

  before(async () => {
    config = join(dir, 'db.yml');
    database = join(dir, 'db-data', 'berth.db');
    await writeFile(config, `storage:\n  filesystem:\n    rootdirectory: ${join(dir, 'db-data')}\nauth:\n  bcryptcost: 4\n`);
  });

  it('manages users in the database of the configuration', async () => {
    ok(await berth(['user', 'add', 'root', '--admin', '--password-stdin', '-c', config], { input: 'root-password\n' }));
    ok(await berth(['user', 'add', 'alice', '--password-stdin', '-c', config], { input: 'alice-password' }));
    fails(await berth(['user', 'add', 'alice', '--password-stdin', '-c', config], { input: 'alice-password' }), /already exists/);
    const list = ok(await berth(['user', 'list', '--json', '-c', config]));
    const users = (JSON.parse(list.stdout) as { users: { name: string; admin: boolean }[] }).users;
    assert.deepEqual(
      users.map((u) => [u.name, u.admin]),
      [
        ['alice', false],
        ['root', true],
      ],
    );
    assert.doesNotMatch(list.stdout, /\$2y\$/, 'hashes are never printed');

    ok(await berth(['user', 'passwd', 'alice', '--password-stdin', '-c', config], { input: 'alice-new-password\n' }));
    fails(await berth(['user', 'passwd', 'nobody', '--password-stdin', '-c', config], { input: 'long-enough' }), /no such user/);
    await withStore(database, async (store) => {
      const alice = await store.accounts.getUser('alice');
      assert.equal(await verifyPassword('alice-new-password', alice?.passwordHash ?? ''), true);
      assert.match(alice?.passwordHash ?? '', /^\$2y\$04\$/, 'auth.bcryptcost of the configuration');
      assert.equal((await store.accounts.getUser('root'))?.admin, true);
    });
  });

  it('manages teams, namespaces, grants and tokens', async () => {
    ok(await berth(['team', 'add', 'devs', '-c', config]));
    fails(await berth(['team', 'add', 'devs', '-c', config]), /already exists/);
    ok(await berth(['team', 'member', 'add', 'devs', 'alice', '-c', config]));
    fails(await berth(['team', 'member', 'add', 'ghosts', 'alice', '-c', config]), /no such team/);
    assert.match(ok(await berth(['team', 'list', '-c', config])).stdout, /^devs: alice$/m);

    ok(await berth(['namespace', 'set', 'team-a', '--visibility', 'public', '-c', config]));
    fails(await berth(['namespace', 'set', 'team-a', '--visibility', 'open', '-c', config]), /public or private/);
    ok(await berth(['namespace', 'grant', 'team-a', '--team', 'devs', '--role', 'push', '-c', config]));
    ok(await berth(['namespace', 'grant', 'team-a', '--user', 'alice', '--role', 'admin', '-c', config]));
    fails(await berth(['namespace', 'grant', 'team-a', '--user', 'alice', '--role', 'owner', '-c', config]), /role/);
    fails(
      await berth(['namespace', 'grant', 'team-a', '--user', 'alice', '--team', 'devs', '--role', 'pull', '-c', config]),
      /exactly one/,
    );
    const namespaces = JSON.parse(ok(await berth(['namespace', 'list', '--json', '-c', config])).stdout) as {
      namespaces: { name: string; visibility: string; grants: unknown[] }[];
    };
    assert.deepEqual(
      namespaces.namespaces.map((n) => [n.name, n.visibility, n.grants]),
      [
        [
          'team-a',
          'public',
          [
            { kind: 'user', subject: 'alice', role: 'admin' },
            { kind: 'team', subject: 'devs', role: 'push' },
          ],
        ],
      ],
    );
    ok(await berth(['namespace', 'revoke', 'team-a', '--user', 'alice', '-c', config]));
    fails(await berth(['namespace', 'revoke', 'team-a', '--user', 'alice', '-c', config]), /no such grant/);

    const created = ok(
      await berth([
        'token',
        'create',
        '--user',
        'alice',
        '--name',
        'ci',
        '--scope',
        'team-a/**:pull,push',
        '--scope',
        'library/*:pull',
        '--expires',
        '720h',
        '-c',
        config,
      ]),
    );
    const token = created.stdout.trim();
    const parsed = parseApiToken(token);
    assert.ok(parsed, `a berth_ token on stdout: ${created.stdout}`);
    assert.match(created.stderr, /shown only now/);
    await withStore(database, async (store) => {
      const record = await store.accounts.getApiToken(parsed.id);
      assert.ok(record);
      assert.equal(record.owner, 'alice');
      assert.equal(tokenSecretMatches(parsed.secret, record.secretHash), true);
      assert.deepEqual(record.scopes, [
        { repository: 'team-a/**', actions: ['pull', 'push'] },
        { repository: 'library/*', actions: ['pull'] },
      ]);
    });
    fails(
      await berth(['token', 'create', '--user', 'alice', '--name', 'ci', '--scope', 'team-a/**:pull', '--expires', '9000h', '-c', config]),
      /at most a year/,
    );
    fails(await berth(['token', 'create', '--user', 'alice', '--name', 'ci', '--expires', '1h', '-c', config]), /--scope/);
    fails(
      await berth(['token', 'create', '--user', 'alice', '--name', 'ci', '--scope', 'team-a', '--expires', '1h', '-c', config]),
      /REPOSITORY-GLOB:ACTIONS/,
    );

    const listed = ok(await berth(['token', 'list', '--user', 'alice', '-c', config]));
    assert.match(listed.stdout, new RegExp(`^${parsed.id}  alice  "ci"  team-a/\\*\\*:pull,push library/\\*:pull  expires `, 'm'));
    assert.ok(!listed.stdout.includes(parsed.secret), 'the secret is never listed');
    assert.ok(!ok(await berth(['token', 'list', '--json', '-c', config])).stdout.includes(parsed.secret));
    ok(await berth(['token', 'revoke', parsed.id, '-c', config]));
    fails(await berth(['token', 'revoke', parsed.id, '-c', config]), /no such token/);

    // A user's removal takes their memberships, grants and tokens with it.
    ok(await berth(['token', 'create', '--user', 'alice', '--name', 'other', '--scope', '**:pull', '--expires', '1h', '-c', config]));
    ok(await berth(['user', 'remove', 'alice', '-c', config]));
    fails(await berth(['user', 'remove', 'alice', '-c', config]), /no such user/);
    await withStore(database, async (store) => {
      assert.deepEqual(await store.accounts.teamMembers('devs'), []);
      assert.deepEqual(await store.accounts.listApiTokens('alice'), []);
      assert.deepEqual(await store.accounts.grantsOf('user', 'alice'), []);
    });
    ok(await berth(['team', 'remove', 'devs', '-c', config]));
    await withStore(database, async (store) => assert.deepEqual(await store.accounts.listGrants('team-a'), []));
  });

  it('uses ./data/berth.db when no configuration is given', async () => {
    const cwd = await mkdtemp(join(dir, 'cwd-'));
    ok(await berth(['team', 'add', 'default-db'], { cwd }));
    await withStore(join(cwd, 'data', 'berth.db'), async (store) => assert.ok(await store.accounts.getTeam('default-db')));
  });
});
