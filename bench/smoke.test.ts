// Smoke test of the benchmark, so that it cannot rot: `bench/run.ts --smoke` (tiny sizes, one
// repetition, a few seconds) must start Berth and the reference registries (Debian's
// docker-registry, and Distribution 3.0.0 from ../shared/reference/ when that file is there, as a
// second --reference), and the servers with auth on, the pull-through caches with their
// upstream, and the garbage-collection rows on their generated content; run every workload
// against all of them (the token row and the manifest GETs during GC against Berth alone)
// without a failure, and write complete JSON results. It asserts nothing about speed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';

const projectRoot = resolve(import.meta.dirname, '..');
/** Distribution 3.0.0 (see its README there); the test runs without it where it is absent. */
const distribution3 = resolve(projectRoot, '..', 'shared', 'reference', 'distribution-registry-3.0.0');

type Subject = 'berth' | 'reference' | 'reference2' | 'limit';

interface ResultsDocument {
  workloads: {
    id: string;
    error?: string;
    metrics: { key: string; label: string; unit: string }[];
    values: Record<Subject, Record<string, number[]>>;
    peakRssBytes: Record<Exclude<Subject, 'limit'>, number>;
  }[];
  machineLimits: { id: string; error?: string; values: Record<string, number[]> }[];
  memory: { peakTreeBytes: Record<Exclude<Subject, 'limit'>, number> };
  machine: { references: { name: string; label: string }[] };
  table: string;
}

describe('npm run bench -- --smoke', () => {
  it('runs every workload against Berth and the references and writes the results', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-bench-smoke-'));
    try {
      const output = join(dir, 'results.json');
      const hasNginx = spawnSync('sh', ['-c', 'command -v nginx']).status === 0;
      const withDistribution3 = existsSync(distribution3);
      const references = withDistribution3 ? (['reference', 'reference2'] as const) : (['reference'] as const);
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
          ...(withDistribution3 ? ['--reference', 'docker-registry', '--reference', distribution3] : []),
        ],
        { cwd: projectRoot, encoding: 'utf8', timeout: 300_000 },
      );
      assert.equal(run.status, 0, `bench exited with ${run.status}:\n${run.stdout}\n${run.stderr}`);
      const results = JSON.parse(await readFile(output, 'utf8')) as ResultsDocument;
      const ids = results.workloads.map((w) => w.id);
      const berthOnly = ['auth-token-manifest-get-c16', 'gc-manifest-get-c16'];
      // The events rows (`*-events*`) and the LDAP row (`auth-ldap-*`) compare Berth with another
      // Berth, which they put in the first reference's column only.
      const berthAgainstBerth = (id: string): boolean => id.includes('-events') || id.startsWith('auth-ldap-');
      const subjectsOf = (id: string): readonly Exclude<Subject, 'limit'>[] =>
        berthOnly.includes(id) ? ['berth'] : berthAgainstBerth(id) ? ['berth', 'reference'] : ['berth', ...references];
      for (const id of [
        'blob-pull',
        'blob-push-monolithic',
        'blob-push-chunked',
        'manifest-get-c1',
        'manifest-get-c16',
        'manifest-get-c64',
        'manifest-get-digest-c1',
        'manifest-get-digest-c16',
        'manifest-get-digest-c64',
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
      assert.deepEqual(
        results.machine.references.map((r) => r.label),
        withDistribution3 ? ['Distribution 2.8.2', 'Distribution 3.0.0'] : ['Distribution 2.8.2'],
      );
      for (const workload of [...results.workloads, ...results.machineLimits])
        assert.equal(workload.error, undefined, `${workload.id}: ${workload.error ?? ''}`);
      for (const workload of results.workloads) {
        assert.ok(Object.keys(workload.values.berth).length > 0, `${workload.id}: no Berth values`);
        const subjects = subjectsOf(workload.id);
        for (const reference of references) {
          if (subjects.includes(reference))
            assert.ok(Object.keys(workload.values[reference]).length > 0, `${workload.id}: no ${reference} values`);
          else assert.deepEqual(workload.values[reference], {}, `${workload.id}: has ${reference} values it should not`);
        }
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
        for (const subject of subjectsOf(workload.id)) {
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
      for (const subject of ['berth', ...references] as const) {
        for (const key of ['mbps', 'ttfbMs', 'warmMbps', 'warmTtfbMs'])
          assert.equal(proxy?.values[subject][key]?.length, 1, `proxy-cold-pull: ${subject} ${key}`);
      }
      assert.equal(proxy?.values.limit.mbps?.length, 1, 'proxy-cold-pull: no direct pull');
      assert.match(results.table, /pull-through cache: cold pull/);
      // The garbage-collection rows: both GCs deleted the same blobs (the untagged manifests and
      // what only they or nothing reached), and the manifest GETs ran while Berth's GC did.
      const gc = results.workloads.find((w) => w.id === 'gc-offline-vs-online');
      const freed = gc?.values.berth.blobsFreed ?? [];
      assert.equal(freed.length, 1, 'gc-offline-vs-online: no Berth run');
      assert.ok((freed[0] ?? 0) > 0, 'gc-offline-vs-online: Berth freed nothing');
      for (const reference of references)
        assert.deepEqual(
          freed,
          gc?.values[reference].blobsFreed,
          `gc-offline-vs-online: Berth and ${reference} freed different blob counts`,
        );
      assert.deepEqual(
        gc?.values.berth.blobsFreed,
        gc?.values.berth.expectedBlobsFreed,
        'gc-offline-vs-online: not what the content has to collect',
      );
      const during = results.workloads.find((w) => w.id === 'gc-manifest-get-c16');
      for (const key of ['p99Ms', 'idleP99Ms', 'gcSeconds'])
        assert.equal(during?.values.berth[key]?.length, 1, `gc-manifest-get-c16: ${key}`);
      for (const subject of ['berth', ...references] as const)
        assert.ok(results.memory.peakTreeBytes[subject] > 0, `${subject}: no peak RSS`);
      assert.match(results.table, /authenticated manifest GET by tag \(Basic, htpasswd bcrypt cost 4\)/);
      // One ratio column per reference, and the goals with a verdict.
      assert.match(run.stdout, withDistribution3 ? /B\/2\.8\.2 .* B\/3\.0\.0 .* goal/ : /B\/R .* goal/);
      assert.match(run.stdout, /manifest GET by digest, c=16 .* >= 2\.50x +(ok|SHORT)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
