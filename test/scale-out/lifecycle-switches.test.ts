// Read-only mode and immutability rules across two replicas sharing one PostgreSQL (each with its
// own blob directory, which these requests do not need to share): a switch or a rule made through
// the admin API of replica A holds on replica B within seconds (polled with a deadline, not timed),
// and two pushes racing on the two replicas to create the same protected tag cannot both win.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { callRegistry } from '../helpers/call.js';
import {
  artifact,
  authConfig,
  DEV,
  pushEmptyConfig,
  putManifest,
  ROOT,
  tagDigest,
  waitForStatus,
  writeUsers,
} from '../helpers/lifecycle.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';

const berthOnly = { skip: testTarget === 'reference' ? 'replicas are Berth’s own' : false, concurrency: false };

describe('lifecycle switches across replicas sharing PostgreSQL', berthOnly, () => {
  let dir = '';
  let postgres: TestPostgres;
  let a: TestRegistry;
  let b: TestRegistry;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-lifecycle-replicas-'));
    postgres = await startPostgres();
    const extraConfig = authConfig(await writeUsers(dir));
    const env = { BERTH_METADATA_POSTGRES_URL: postgres.url };
    a = await startRegistry({ extraConfig, env });
    b = await startRegistry({ extraConfig, env });
  });
  after(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await postgres?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const uploadStatus = async (registry: TestRegistry): Promise<number> =>
    (await callRegistry(registry, 'POST', '/v2/replica/app/blobs/uploads/', DEV)).status;

  it('switches read-only mode on replica A and B follows within seconds, then back', async () => {
    assert.equal(await uploadStatus(b), 202);
    const on = await callRegistry(a, 'PUT', '/api/v1/maintenance/readonly', ROOT, { json: { enabled: true } });
    assert.equal(on.status, 200, on.text);
    assert.equal(await uploadStatus(a), 405, 'at once on the replica that switched');
    const tookOn = await waitForStatus(405, () => uploadStatus(b));
    // Pulls still answer on B.
    assert.equal((await callRegistry(b, 'GET', '/v2/', DEV)).status, 200);
    const off = await callRegistry(a, 'PUT', '/api/v1/maintenance/readonly', ROOT, { json: { enabled: false } });
    assert.equal(off.status, 200, off.text);
    const tookOff = await waitForStatus(202, () => uploadStatus(b));
    console.log(`# replica B followed after ${tookOn} ms (on) and ${tookOff} ms (off)`);
  });

  it('holds an immutability rule created on replica A on replica B within seconds', async () => {
    const repo = 'replica/app';
    await pushEmptyConfig(b, repo);
    const first = artifact();
    assert.equal((await putManifest(b, repo, 'v1', first)).status, 201);
    const created = await callRegistry(a, 'POST', '/api/v1/immutability/rules', ROOT, {
      json: { repositories: 'replica/**', tags: ['v*'] },
    });
    assert.equal(created.status, 201, created.text);
    // Each attempt pushes another manifest; until B knows the rule, it moves the tag.
    let lastAccepted = first.digest;
    const took = await waitForStatus(403, async () => {
      const next = artifact();
      const answer = await putManifest(b, repo, 'v1', next);
      if (answer.status === 201) lastAccepted = next.digest;
      return answer.status;
    });
    console.log(`# replica B held the rule after ${took} ms`);
    assert.equal(await tagDigest(b, repo, 'v1'), lastAccepted);
  });

  it('lets one of two pushes racing on the two replicas create a protected tag', async () => {
    const repo = 'replica/race';
    await pushEmptyConfig(a, repo);
    await pushEmptyConfig(b, repo);
    for (let round = 0; round < 10; round++) {
      const tag = `v${round}`;
      const contenders = [artifact(), artifact()];
      const answers = await Promise.all([
        putManifest(a, repo, tag, contenders[0] ?? artifact()),
        putManifest(b, repo, tag, contenders[1] ?? artifact()),
      ]);
      assert.deepEqual(
        answers.map((answer) => answer.status).sort(),
        [201, 403],
        `round ${round}: ${answers.map((answer) => answer.text).join(' | ')}`,
      );
      const winner = contenders[answers.findIndex((answer) => answer.status === 201)];
      assert.equal(await tagDigest(a, repo, tag), winner?.digest);
      assert.equal(await tagDigest(b, repo, tag), winner?.digest);
    }
  });
});
