// The garbage-collection admin API against a real server with authentication: administrators
// run collections (waiting for the report, or not) and read their history; everyone else is
// refused; bad input gets 400; a run while another holds the cluster's lease gets 409.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MetadataStore, openSqlite } from '../../src/metadata/index.js';
import { GARBAGE_COLLECTION } from '../../src/registry/index.js';
import { callRegistry } from '../helpers/call.js';
import { authConfig, DEV, firstError, ROOT, writeUsers } from '../helpers/lifecycle.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { deleteReference, newImage, pushImage, storedBlobFiles } from './support.js';

interface RunRecord {
  id: string;
  status: string;
  trigger: string;
  dryRun: boolean;
  stats?: { blobsDeleted: number; bytesFreed: number };
}

describe('the garbage-collection admin API', () => {
  let registry: TestRegistry;
  let usersDir: string;

  before(async () => {
    usersDir = await mkdtemp(join(tmpdir(), 'berth-gc-api-'));
    registry = await startRegistry({ extraConfig: authConfig(await writeUsers(usersDir)) });
  });

  after(async () => {
    await registry.stop();
    await rm(usersDir, { recursive: true, force: true });
  });

  it('runs a dry run and a run for an administrator, and lists them newest first', async () => {
    const image = newImage();
    assert.equal(await pushImage(registry, 'api/app', 'v1', image, DEV), 201);
    assert.equal(await deleteReference(registry, 'api/app', 'v1', DEV), 202);
    const before = await storedBlobFiles(registry.dataDir);

    const dry = await callRegistry(registry, 'POST', '/api/v1/gc/runs', ROOT, {
      json: { dryRun: true, deleteUntagged: true, grace: '0s' },
    });
    assert.equal(dry.status, 200, dry.text);
    const dryReport = JSON.parse(dry.text) as { runId: string; dryRun: boolean; stats: { blobsDeleted: number; bytesFreed: number } };
    assert.equal(dryReport.dryRun, true);
    assert.equal(dryReport.stats.blobsDeleted, 4, 'the manifest, its config and its two layers');
    assert.deepEqual(await storedBlobFiles(registry.dataDir), before);

    const started = await callRegistry(registry, 'POST', '/api/v1/gc/runs', ROOT, {
      json: { deleteUntagged: true, grace: '0s', wait: false },
    });
    assert.equal(started.status, 202, started.text);
    const { id } = JSON.parse(started.text) as { id: string };
    let run: RunRecord | undefined;
    for (let i = 0; i < 100; i++) {
      const answer = await callRegistry(registry, 'GET', `/api/v1/gc/runs/${id}`, ROOT);
      assert.equal(answer.status, 200, answer.text);
      run = JSON.parse(answer.text) as RunRecord;
      if (run.status !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(run?.status, 'finished');
    assert.equal(run?.trigger, 'api');
    assert.equal(run?.stats?.bytesFreed, dryReport.stats.bytesFreed, 'the run freed what the dry run predicted');
    assert.equal((await storedBlobFiles(registry.dataDir)).length, before.length - 4);

    const history = await callRegistry(registry, 'GET', '/api/v1/gc/runs?limit=1', ROOT);
    assert.equal(history.status, 200);
    const page = JSON.parse(history.text) as { runs: RunRecord[]; next?: string };
    assert.deepEqual(
      page.runs.map((r) => r.id),
      [id],
    );
    assert.equal(page.next, id);
    const older = JSON.parse((await callRegistry(registry, 'GET', `/api/v1/gc/runs?before=${page.next}`, ROOT)).text) as {
      runs: RunRecord[];
    };
    assert.deepEqual(
      older.runs.map((r) => [r.id, r.dryRun]),
      [[dryReport.runId, true]],
    );
  });

  it('refuses callers who are not administrators, and bad input', async () => {
    const anonymous = await callRegistry(registry, 'POST', '/api/v1/gc/runs', undefined, { json: {} });
    assert.equal(anonymous.status, 401);
    const developer = await callRegistry(registry, 'POST', '/api/v1/gc/runs', DEV, { json: {} });
    assert.equal(developer.status, 403);
    assert.equal(firstError(developer).code, 'DENIED');
    assert.equal((await callRegistry(registry, 'GET', '/api/v1/gc/runs', DEV)).status, 403);
    for (const json of [{ grace: 'soon' }, { grace: '-1h' }, { dryRun: 'yes' }, { unknown: true }]) {
      const answer = await callRegistry(registry, 'POST', '/api/v1/gc/runs', ROOT, { json });
      assert.equal(answer.status, 400, `${JSON.stringify(json)}: ${answer.text}`);
      assert.equal(firstError(answer).code, 'INVALID_REQUEST');
    }
    const notJson = await callRegistry(registry, 'POST', '/api/v1/gc/runs', ROOT, {
      body: '{',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(notJson.status, 400);
    for (const query of ['limit=0', 'limit=101', 'limit=x']) {
      assert.equal((await callRegistry(registry, 'GET', `/api/v1/gc/runs?${query}`, ROOT)).status, 400, query);
    }
    const unknown = await callRegistry(registry, 'GET', '/api/v1/gc/runs/no-such-run', ROOT);
    assert.equal(unknown.status, 404);
  });

  it('answers 409 GC_RUNNING while another run holds the lease', async () => {
    // Another holder of the cluster-wide lease (as a `berth gc` in another process would be).
    const store = new MetadataStore(openSqlite(join(registry.dataDir, 'berth.db')));
    try {
      assert.equal(await store.leases.acquireLease(GARBAGE_COLLECTION, 'another-run', 60_000), true);
      const answer = await callRegistry(registry, 'POST', '/api/v1/gc/runs', ROOT, { json: {} });
      assert.equal(answer.status, 409, answer.text);
      assert.equal(firstError(answer).code, 'GC_RUNNING');
      await store.leases.releaseLease(GARBAGE_COLLECTION, 'another-run');
      assert.equal((await callRegistry(registry, 'POST', '/api/v1/gc/runs', ROOT, { json: { dryRun: true } })).status, 200);
    } finally {
      await store.close();
    }
  });
});
