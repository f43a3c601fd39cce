// Smoke test of the growth- rows (bench/lib/growth-workloads.ts), so that they cannot rot while
// nobody runs them: `bench/run.ts --smoke --only growth` fills a tiny small and large index on
// SQLite and on a throwaway PostgreSQL, and must time start-up and every request row against all
// four Berths (each row checked first for a 200 and a full page) and write complete results. It
// asserts nothing about speed; `--only growth` beside another row must be refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';

const projectRoot = resolve(import.meta.dirname, '..');

interface GrowthDocument {
  sizes: { label: string; repositories: number; tags: number }[];
  fillSeconds: Record<string, number>;
  values: Record<string, Record<string, Record<string, number[]>>>;
  table: string;
}

function bench(args: readonly string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(projectRoot, 'bench', 'run.ts'), ...args], {
    cwd: projectRoot,
    encoding: 'utf8',
    timeout: 300_000,
  });
}

describe('npm run bench -- --smoke --only growth', () => {
  it('fills both indexes on both databases and measures every row on each', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-bench-growth-smoke-'));
    try {
      const output = join(dir, 'growth.json');
      const run = bench(['--smoke', '--tsx', '--only', 'growth', '--output', output]);
      assert.equal(run.status, 0, `bench exited with ${run.status}:\n${run.stdout}\n${run.stderr}`);
      const results = JSON.parse(await readFile(output, 'utf8')) as GrowthDocument;
      const berths = ['SQLite small', 'SQLite large', 'PostgreSQL small', 'PostgreSQL large'];
      assert.deepEqual(Object.keys(results.fillSeconds).sort(), [...berths].sort());
      const [small, large] = results.sizes;
      assert.ok(small && large && large.repositories > small.repositories && large.tags > small.tags);
      const rows = [
        'growth-startup',
        'growth-manifest-get',
        'growth-tags-first',
        'growth-tags-deep',
        'growth-catalog-first',
        'growth-catalog-deep',
        'growth-ui-repositories-by-name',
        'growth-ui-repositories-by-last-push',
      ];
      assert.deepEqual(Object.keys(results.values).sort(), [...rows].sort());
      for (const row of rows) {
        for (const berth of berths) {
          const metrics = results.values[row]?.[berth] ?? {};
          const key = row === 'growth-startup' ? 'seconds' : 'p50Ms';
          const value = metrics[key]?.[0];
          assert.ok(value !== undefined && value > 0, `${row} on ${berth}: ${key} = ${value}`);
        }
      }
      assert.match(run.stdout, /L\/S/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses growth rows beside other rows', () => {
    const run = bench(['--smoke', '--tsx', '--only', 'growth,manifest-get-c1']);
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /growth- rows run on their own/);
  });
});
