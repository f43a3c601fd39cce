// The soak row (`npm run bench -- --only soak`, lib/soak-workloads.ts) at a few seconds: it must
// run its mixed pushes and pulls against Berth and the reference at once without a failed
// operation, sample both servers' RSS throughout, and print and write the slope and the peak.
// It asserts nothing about memory or speed; the slope's arithmetic is checked on known points.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { leastSquaresSlope, type SoakResult } from './lib/soak-workloads.js';

const projectRoot = resolve(import.meta.dirname, '..');

describe('the soak', () => {
  it('fits the least-squares slope', () => {
    assert.equal(leastSquaresSlope([0, 1, 2, 3].map((x) => ({ x, y: 5 + 2 * x }))), 2);
    // A sawtooth around a flat line (as a heap between collections): nearly no slope.
    assert.ok(Math.abs(leastSquaresSlope([3, 5, 3, 5, 3, 5, 3, 5].map((y, x) => ({ x, y })))) < 0.1);
    assert.ok(Number.isNaN(leastSquaresSlope([{ x: 1, y: 1 }])));
    assert.ok(Number.isNaN(leastSquaresSlope([1, 1, 1].map((x) => ({ x, y: x })))));
  });

  it('runs mixed pushes and pulls against Berth and the reference and reports the RSS slope and peak', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-bench-soak-'));
    try {
      const output = join(dir, 'results.json');
      // 9 s of soak at --smoke sizes (4 MiB blobs), Berth run through tsx.
      const soak = ['--smoke', '--tsx', '--only', 'soak', '--soak-minutes', '0.15', '--output', output];
      const run = spawnSync(process.execPath, ['--import', 'tsx', join(projectRoot, 'bench', 'run.ts'), ...soak], {
        cwd: projectRoot,
        encoding: 'utf8',
        timeout: 180_000,
      });
      assert.equal(run.status, 0, `bench exited with ${run.status}:\n${run.stdout}\n${run.stderr}`);
      assert.match(run.stdout, /RSS slope, second half/);
      const results = JSON.parse(await readFile(output, 'utf8')) as { soak: SoakResult; workloads: unknown[] };
      assert.deepEqual(results.workloads, [], 'the soak runs alone when --only names only it');
      assert.deepEqual(
        results.soak.series.map((s) => s.name),
        ['berth', 'reference'],
      );
      for (const series of results.soak.series) {
        assert.equal(series.errors, 0, `${series.name}: ${series.firstError ?? ''}`);
        // 9 s sampled every 0.3 s (at least 30 samples per run), both servers alive throughout.
        assert.ok(series.samples.length >= 25, `${series.name}: ${series.samples.length} samples`);
        for (const sample of series.samples) assert.ok(sample.rssMiB > 0, `${series.name}: RSS ${sample.rssMiB} at ${sample.t} s`);
        assert.ok(Number.isFinite(series.slopeMiBPerHour) && Number.isFinite(series.secondHalfSlopeMiBPerHour));
        assert.equal(series.peakMiB, Math.max(...series.samples.map((s) => s.rssMiB)));
        for (const [operation, count] of Object.entries(series.operations)) assert.ok(count > 0, `${series.name}: no ${operation}`);
        assert.ok(series.bytesPushed > 0 && series.bytesPulled > 0);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
