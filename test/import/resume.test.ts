// A killed import resumes: `berth import distribution` is stopped with SIGKILL once it has
// finished some repositories of a tree docker-registry wrote, then run again; the second run
// skips what the first finished, imports the rest, and Berth serves every image with the
// reference's digests and intact blobs.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteReadOnly } from '../../src/metadata/index.js';
import { startRegistry } from '../helpers/registry.js';
import { getManifest, Pusher, runImport, sha256, startDistribution } from './support.js';

const REPOSITORIES = 60;

describe('berth import distribution after SIGKILL', { concurrency: false }, () => {
  let dir = '';
  let distRoot = '';
  /** repository -> manifest digest and layer digest the reference stored. */
  const pushed = new Map<string, { manifest: string; layer: string }>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-import-resume-'));
    distRoot = join(dir, 'dist');
    const distribution = await startDistribution(join(dir, 'dist-config'), { root: distRoot });
    try {
      const pusher = new Pusher(distribution.url);
      for (let i = 0; i < REPOSITORIES; i++) {
        const repository = `resume/repo-${String(i).padStart(2, '0')}`;
        const image = await pusher.image(repository, 'latest', 1024 * 1024);
        pushed.set(repository, { manifest: image.digest, layer: image.layer.digest });
      }
    } finally {
      await distribution.stop();
    }
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Repositories recorded as finished in the database, or 0 before it exists. */
  async function finished(database: string): Promise<number> {
    let db: ReturnType<typeof openSqliteReadOnly>;
    try {
      db = openSqliteReadOnly(database);
    } catch {
      return 0;
    }
    try {
      const rows = await db.selectFrom('settings').select('key').where('key', 'like', 'import.distribution.%').execute();
      return rows.length;
    } catch {
      return 0; // not migrated yet
    } finally {
      await db.destroy();
    }
  }

  it('continues after the last finished repository and imports everything', async () => {
    const data = join(dir, 'berth');
    const config = join(dir, 'berth.yml');
    await writeFile(config, `storage:\n  filesystem:\n    rootdirectory: ${JSON.stringify(data)}\n`);
    const database = join(data, 'berth.db');

    let pid = 0;
    const first = runImport([distRoot, '--config', config], { onSpawn: (id) => (pid = id) });
    let killedAfter = 0;
    for (;;) {
      killedAfter = await finished(database);
      if (killedAfter >= 3) {
        process.kill(pid, 'SIGKILL');
        break;
      }
      const state = await Promise.race([first.then(() => 'exited'), new Promise((r) => setTimeout(() => r('running'), 10))]);
      if (state === 'exited') break;
    }
    const killed = await first;
    assert.equal(killed.code, 'SIGKILL', `the first run was killed mid-way (it had finished ${killedAfter}):\n${killed.stdout}`);
    assert.ok(killedAfter < REPOSITORIES, 'killed before the end');

    const second = await runImport([distRoot, '--config', config]);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    const resumed = /^repositories: (\d+) \(and (\d+) finished by an earlier run\)/m.exec(second.stdout);
    assert.ok(resumed, second.stdout);
    assert.ok(Number(resumed[2]) >= killedAfter, 'what the first run finished is not read again');
    assert.equal(Number(resumed[1]) + Number(resumed[2]), REPOSITORIES);

    const registry = await startRegistry({ dataDir: data });
    try {
      for (const [repository, { manifest, layer }] of pushed) {
        const got = await getManifest(registry.url, repository, 'latest');
        assert.equal(got?.digest, manifest, repository);
        const blob = await fetch(`${registry.url}/v2/${repository}/blobs/${layer}`);
        assert.equal(blob.status, 200, `${repository} layer`);
        assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), layer, `${repository}: the layer's bytes match its digest`);
      }
    } finally {
      await registry.stop();
    }
  });
});
