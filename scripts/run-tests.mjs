// Runs every test file (unit tests beside the code in src/, cross-process tests in test/, the
// benchmark's smoke test in bench/) with
// Node's test runner through tsx, two files at a time (the machine has two cores).
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

// Optional filters: `npm test -- src/oci test/http` runs only files under those paths.
const filters = process.argv.slice(2);
const files = [...testFiles('src'), ...testFiles('test'), ...testFiles('bench')]
  .filter((file) => filters.length === 0 || filters.some((f) => file.startsWith(f)))
  .sort();
const concurrency = process.env.BERTH_TEST_CONCURRENCY ?? '2';
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
