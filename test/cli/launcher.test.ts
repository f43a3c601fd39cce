// The `berth` command as the README has users run it: ./bin/berth.js from the checkout, running
// what `npm run build` compiled into dist/ (rebuilt here first if src/ changed since). Also: the
// launcher without a build says to build, and the README, docs, examples and deploy files all
// name this one way of running the command.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command` as a shell would (through the launcher's #! line), with no registry settings from the environment. */
async function run(command: string, args: string[], cwd: string): Promise<Result> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('REGISTRY_') && !key.startsWith('BERTH_')) env[key] = value;
  }
  // The `node` the #! line finds is the one running the tests.
  env.PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  return { code, stdout, stderr };
}

async function filesUnder(dir: string, keep: (path: string) => boolean): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .filter(keep);
}

/** Newest modification time of the sources `npm run build` compiles. */
async function newestSource(): Promise<number> {
  const sources = await filesUnder(
    join(projectRoot, 'src'),
    (p) => p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.includes('/testing/'),
  );
  let newest = (await stat(join(projectRoot, 'package.json'))).mtimeMs;
  for (const file of sources) newest = Math.max(newest, (await stat(file)).mtimeMs);
  return newest;
}

const version = (JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;

describe('./bin/berth.js from the checkout', { timeout: 300_000 }, () => {
  before(async () => {
    // CI runs `npm ci` (which builds) before `npm test`; in a working copy, build what changed.
    const built = await stat(join(projectRoot, 'dist/cli/main.js')).then(
      (s) => s.mtimeMs,
      () => 0,
    );
    if (built >= (await newestSource())) return;
    const result = spawnSync('npm', ['run', 'build'], { cwd: projectRoot, encoding: 'utf8' });
    assert.equal(result.status, 0, `npm run build failed:\n${result.stdout}${result.stderr}`);
  });

  it('--version prints the version in package.json', async () => {
    const result = await run('./bin/berth.js', ['--version'], projectRoot);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${version}\n`);
  });

  it('config check validates the annotated example', async () => {
    const result = await run('./bin/berth.js', ['config', 'check', 'examples/config.yml'], projectRoot);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'examples/config.yml is valid\n');
  });
});

describe('./bin/berth.js without a build', () => {
  let checkout = '';
  before(async () => {
    // A clone before `npm ci`: the launcher and package.json, no dist/ and no node_modules/.
    checkout = await mkdtemp(join(tmpdir(), 'berth-launcher-'));
    await mkdir(join(checkout, 'bin'));
    await copyFile(join(projectRoot, 'bin/berth.js'), join(checkout, 'bin/berth.js'));
    await copyFile(join(projectRoot, 'package.json'), join(checkout, 'package.json'));
  });
  after(async () => {
    await rm(checkout, { recursive: true, force: true });
  });

  it('says to run npm run build, in one line', async () => {
    const result = await run('./bin/berth.js', ['--version'], checkout);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^berth: .*dist\/cli\/main\.js is missing: Berth is not built\. Run `npm run build` in /);
    assert.equal(result.stderr.trim().split('\n').length, 1, `one line, not a stack trace:\n${result.stderr}`);
  });
});

describe('the documented way to run berth', () => {
  it('README, docs, examples and deploy files say ./bin/berth.js, never npx berth or node_modules/.bin', async () => {
    const texts = [
      join(projectRoot, 'README.md'),
      ...(await filesUnder(join(projectRoot, 'docs'), (p) => p.endsWith('.md'))),
      ...(await filesUnder(join(projectRoot, 'examples'), () => true)),
      ...(await filesUnder(join(projectRoot, 'deploy'), () => true)),
      join(projectRoot, 'bench/README.md'),
    ];
    const wrong: string[] = [];
    for (const file of texts) {
      const lines = (await readFile(file, 'utf8')).split('\n');
      let fence = false;
      lines.forEach((line, index) => {
        if (line.trimStart().startsWith('```')) fence = !fence;
        const where = `${relative(projectRoot, file)}:${index + 1}: ${line.trim()}`;
        if (/npx berth|node_modules\/\.bin\/berth/.test(line)) wrong.push(where);
        // A command line in a code block that starts with a bare `berth` (after any VAR=value).
        else if (fence && /^\s*(?:[A-Z_]+=\S*\s+)*berth\s/.test(line)) wrong.push(where);
      });
    }
    assert.deepEqual(wrong, []);
    const readme = await readFile(join(projectRoot, 'README.md'), 'utf8');
    assert.match(readme, /Run it from the checkout as `\.\/bin\/berth\.js`/);
  });
});
