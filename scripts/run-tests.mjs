// Runs the tests with Node's test runner through tsx (which strips types without checking them),
// two files at a time (the machine has two cores; BERTH_TEST_CONCURRENCY changes it).
//
//   run-tests.mjs --checks=typecheck,lint,lint:layers   `npm test`: those npm scripts first, then every
//                                                  test file: unit tests beside the code in src/,
//                                                  cross-process tests in test/, bench/'s smoke tests
//   run-tests.mjs --checks=... PATH...             `npm test -- PATH...`: only the test files under
//                                                  those paths, and no checks (the fast loop)
//   run-tests.mjs --unit [PATH...]                 `npm run test:unit`: only the in-process tests in
//                                                  src/ (no servers, clients or databases), no checks
//   run-tests.mjs ... --node-releases=22,24        with no PATH (the whole suite, `npm test`): then
//                                                  src/ and test/http again on each of those Node
//                                                  releases (scripts/test-node-releases.mjs)
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const args = process.argv.slice(2);
const unit = args.includes('--unit');
const checks =
  args
    .find((arg) => arg.startsWith('--checks='))
    ?.slice('--checks='.length)
    .split(',')
    .filter(Boolean) ?? [];
// Paths as the shell completes them (./src/oci/) match too.
const filters = args.filter((arg) => !arg.startsWith('--')).map((f) => f.replace(/^\.\//, ''));
const roots = unit ? ['src'] : ['src', 'test', 'bench'];
const files = roots
  .flatMap(testFiles)
  .filter((file) => filters.length === 0 || filters.some((f) => file.startsWith(f)))
  .sort();
if (files.length === 0) {
  console.error(`run-tests: no test file under ${filters.join(', ')}${unit ? ' in src/ (--unit)' : ''}`);
  process.exit(1);
}

if (!unit && filters.length === 0) {
  for (const check of checks) {
    const result = spawnSync('npm', ['run', check], { stdio: 'inherit' });
    if (result.status !== 0) process.exit(result.status ?? 1);
  }
}

const concurrency = process.env.BERTH_TEST_CONCURRENCY ?? '2';
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files], {
  stdio: 'inherit',
});
// The other Node releases run even when the suite failed: CI then reports both in one run.
const releases = args.find((arg) => arg.startsWith('--node-releases='))?.slice('--node-releases='.length) ?? '';
if (!unit && filters.length === 0 && releases !== '') {
  const script = new URL('test-node-releases.mjs', import.meta.url).pathname;
  const other = spawnSync(process.execPath, [script, `--node=${releases}`], { stdio: 'inherit' });
  if ((result.status ?? 1) === 0) process.exit(other.status ?? 1);
}
process.exit(result.status ?? 1);
