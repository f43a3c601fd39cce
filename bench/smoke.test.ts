// Smoke test of the benchmark, so that it cannot rot: `bench/run.ts --smoke` (tiny sizes, one
// repetition, a few seconds) must start both registries (and the pair with auth on, and the
// pull-through caches with their upstream, and the garbage-collection rows on their generated
// content), run every workload against both (the token row and the manifest GETs during GC
// against Berth alone) without a failure, and write complete JSON results. It asserts nothing
// about speed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';

const projectRoot = resolve(import.meta.dirname, '..');

interface ResultsDocument {
  workloads: {
    id: string;
    error?: string;
    metrics: { key: string; label: string; unit: string }[];
    values: { berth: Record<string, number[]>; reference: Record<string, number[]>; limit: Record<string, number[]> };
    peakRssBytes: { berth: number; reference: number };
  }[];
  machineLimits: { id: string; error?: string; values: Record<string, number[]> }[];
  memory: { peakTreeBytes: { berth: number; reference: number } };
  table: string;
}

describe('npm run bench -- --smoke', () => {
  it('runs every workload against Berth and the reference and writes the results', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-bench-smoke-'));
    try {
      const output = join(dir, 'results.json');
      const hasNginx = spawnSync('sh', ['-c', 'command -v nginx']).status === 0;
      const run = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          join(projectRoot, 'bench', 'run.ts'),
          '--smoke',
          '--tsx',
          '--output',
          output,
          ...(hasNginx ? [] : ['--no-nginx']),
        ],
        { cwd: projectRoot, encoding: 'utf8', timeout: 300_000 },
      );
      assert.equal(run.status, 0, `bench exited with ${run.status}:\n${run.stdout}\n${run.stderr}`);
      const results = JSON.parse(await readFile(output, 'utf8')) as ResultsDocument;
      const ids = results.workloads.map((w) => w.id);
      const berthOnly = ['auth-token-manifest-get-c16', 'gc-manifest-get-c16'];
      for (const id of [
        'blob-pull',
        'blob-push-monolithic',
        'blob-push-chunked',
        'manifest-get-c1',
        'manifest-get-c16',
        'manifest-get-c64',
        'blob-head-c64',
        'tags-list-c16',
        'auth-manifest-get-c16',
        'auth-blob-get-c16',
        ...berthOnly,
        'proxy-cold-pull',
        'image-push',
        'image-pull',
        'catalog-walk',
        'tags-walk',
        'gc-offline-vs-online',
      ]) {
        assert.ok(ids.includes(id), `workload ${id} missing`);
      }
      for (const workload of [...results.workloads, ...results.machineLimits])
        assert.equal(workload.error, undefined, `${workload.id}: ${workload.error ?? ''}`);
      for (const workload of results.workloads) {
        assert.ok(Object.keys(workload.values.berth).length > 0, `${workload.id}: no Berth values`);
        if (berthOnly.includes(workload.id)) assert.deepEqual(workload.values.reference, {}, `${workload.id}: runs against Berth alone`);
        else assert.ok(Object.keys(workload.values.reference).length > 0, `${workload.id}: no reference values`);
      }
      // Server CPU and memory are read from each target's process tree: a tree whose root is not
      // the server that answers (or has exited) reads 0. The rows of small requests keep their
      // servers busy for the whole window (tens of clock ticks even at --smoke), so every
      // repetition's server CPU per request, Berth's and the reference's, must be above 0, and so
      // must each server's peak RSS during the row; the auth- rows, which run on servers of
      // their own, are among them.
      const perRequest = results.workloads.filter((w) => w.metrics.some((m) => m.key === 'cpuMsPerRequest'));
      for (const id of ['auth-manifest-get-c16', 'auth-blob-get-c16', 'auth-token-manifest-get-c16']) {
        assert.ok(
          perRequest.some((w) => w.id === id),
          `${id}: no server CPU per request`,
        );
      }
      for (const workload of perRequest) {
        const subjects = berthOnly.includes(workload.id) ? (['berth'] as const) : (['berth', 'reference'] as const);
        for (const subject of subjects) {
          for (const metric of workload.metrics.filter((m) => /server CPU/.test(m.label))) {
            const values = workload.values[subject][metric.key] ?? [];
            assert.ok(values.length > 0, `${workload.id}: no ${subject} ${metric.key}`);
            for (const value of values)
              assert.ok(value > 0, `${workload.id}: ${subject} ${metric.key} is ${value}, not > 0 (its process tree is not the server's?)`);
          }
          assert.ok(workload.peakRssBytes[subject] > 0, `${workload.id}: ${subject} peak RSS is ${workload.peakRssBytes[subject]}`);
        }
      }
      // The pull-through cache row: cold and warm pulls through both caches, and the direct pull.
      const proxy = results.workloads.find((w) => w.id === 'proxy-cold-pull');
      for (const subject of ['berth', 'reference'] as const) {
        for (const key of ['mbps', 'ttfbMs', 'warmMbps', 'warmTtfbMs'])
          assert.equal(proxy?.values[subject][key]?.length, 1, `proxy-cold-pull: ${subject} ${key}`);
      }
      assert.equal(proxy?.values.limit.mbps?.length, 1, 'proxy-cold-pull: no direct pull');
      assert.match(results.table, /pull-through cache: cold pull/);
      // The garbage-collection rows: both GCs deleted the same blobs (the untagged manifests and
      // what only they or nothing reached), and the manifest GETs ran while Berth's GC did.
      const gc = results.workloads.find((w) => w.id === 'gc-offline-vs-online');
      const freed = { berth: gc?.values.berth.blobsFreed ?? [], reference: gc?.values.reference.blobsFreed ?? [] };
      assert.equal(freed.berth.length, 1, 'gc-offline-vs-online: no Berth run');
      assert.ok((freed.berth[0] ?? 0) > 0, 'gc-offline-vs-online: Berth freed nothing');
      assert.deepEqual(freed.berth, freed.reference, 'gc-offline-vs-online: Berth and the reference freed different blob counts');
      assert.deepEqual(
        gc?.values.berth.blobsFreed,
        gc?.values.berth.expectedBlobsFreed,
        'gc-offline-vs-online: not what the content has to collect',
      );
      const during = results.workloads.find((w) => w.id === 'gc-manifest-get-c16');
      for (const key of ['p99Ms', 'idleP99Ms', 'gcSeconds'])
        assert.equal(during?.values.berth[key]?.length, 1, `gc-manifest-get-c16: ${key}`);
      assert.ok(results.memory.peakTreeBytes.berth > 0 && results.memory.peakTreeBytes.reference > 0);
      assert.match(results.table, /authenticated manifest GET by tag \(Basic, htpasswd bcrypt cost 4\)/);
      assert.match(run.stdout, /B\/R/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
