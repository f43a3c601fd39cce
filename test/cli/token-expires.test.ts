// `berth token create --expires`: what a wrong lifetime is told, run as a process against a temp
// SQLite database. The message names the flag the user typed and lists the units it takes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

async function berth(args: string[], input = ''): Promise<Result> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('REGISTRY_') && !key.startsWith('BERTH_')) env[key] = value;
  }
  const child = spawn(process.execPath, ['--import', tsx, join(projectRoot, 'src/cli/main.ts'), ...args], {
    cwd: dir,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(input);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}

const create = (expires: string): Promise<Result> =>
  berth(['token', 'create', '--user', 'alice', '--name', 'ci', '--scope', 'team/**:pull', '--expires', expires]);

describe('berth token create --expires', { timeout: 120_000 }, () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-cli-expires-'));
    const added = await berth(['user', 'add', 'alice', '--password-stdin', '--cost', '4'], 'alice-password\n');
    assert.equal(added.code, 0, added.stderr);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a unit it does not take: lists the ones it does', async () => {
    const result = await create('5y');
    assert.equal(result.code, 1, result.stderr);
    assert.equal(
      result.stderr,
      'berth token create: invalid --expires: "5y" is not a lifetime: use a whole number of days (d), or hours (h), minutes (m) and seconds (s), such as 30d, 720h or 1h30m\n',
    );
  });

  it('over a year: says so in days and hours', async () => {
    const result = await create('400d');
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stderr, 'berth token create: invalid --expires: must be at most a year (365d or 8760h)\n');
  });

  it('the units the message lists are taken', async () => {
    for (const expires of ['365d', '720h', '90m', '1h30m', '3600s']) {
      const result = await create(expires);
      assert.equal(result.code, 0, `${expires}: ${result.stderr}`);
      assert.match(result.stdout, /^berth_[0-9a-f]{16}_/);
    }
  });
});
