// Rate limits across replicas: two Berth processes on one PostgreSQL database (and one storage
// directory) count anonymous pulls of one client together. Each replica counts in memory and
// adds its counts to rate_limit_counts every ratelimit.syncinterval; the test waits for those
// syncs by reading the table, so what it asserts does not depend on timing:
// - what replica A counted is enforced on replica B once B has synced;
// - the documented slack: a replica that has not synced since the others counted may admit
//   what it receives before its next sync (here exactly one pull), and refuses after it.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { callRegistry } from '../helpers/call.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { MEDIA, pushImage, uniqueRepo } from '../http/support.js';

const LIMIT = 20;
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('rate limits shared by replicas on PostgreSQL', { skip: testTarget === 'reference' ? 'Berth-only' : false }, () => {
  let postgres: TestPostgres;
  let database: pg.Client;
  let replicas: TestRegistry[] = [];
  let image = '';

  before(async () => {
    postgres = await startPostgres();
    const url = await postgres.createDatabase();
    const dataDir = await mkdtemp(join(tmpdir(), 'berth-ratelimit-replicas-'));
    const extraConfig = [
      'metadata:',
      `  postgres: {url: ${JSON.stringify(url)}}`,
      'ratelimit:',
      // Ten years, aligned to the epoch: no window boundary falls in a test run (next: December 2029).
      `  anonymouspulls: {limit: ${LIMIT}, window: 87600h}`,
      '  syncinterval: 100ms',
    ].join('\n');
    // One after the other: the first migrates the database.
    replicas.push(await startRegistry({ dataDir, extraConfig }));
    replicas.push(await startRegistry({ dataDir, extraConfig }));
    database = new pg.Client({ connectionString: url });
    await database.connect();
    const repo = uniqueRepo('shared-limit');
    await pushImage(replicas[0]?.url ?? '', repo, '1.0');
    image = `/v2/${repo}/manifests/1.0`;
  });
  after(async () => {
    await database?.end();
    await replicas[1]?.stop({ keepData: true });
    await replicas[0]?.stop();
    replicas = [];
    await postgres?.stop();
  });

  const pull = (replica: TestRegistry | undefined) =>
    callRegistry(replica ?? { url: '' }, 'GET', image, undefined, { headers: { accept: MEDIA.ociManifest } });

  /** Waits until the shared count of this client's pulls reaches `count` (the replicas have synced). */
  async function sharedCount(count: number): Promise<void> {
    for (let attempt = 0; attempt < 300; attempt++) {
      const { rows } = await database.query<{ count: string }>("select count from rate_limit_counts where key = 'pull|a:127.0.0.1'");
      if (Number(rows[0]?.count ?? 0) === count) return;
      assert.ok(Number(rows[0]?.count ?? 0) < count, `shared count ${rows[0]?.count} passed ${count}`);
      await pause(50);
    }
    assert.fail(`the shared count did not reach ${count}`);
  }

  it('enforces the combined count, within one sync interval of slack per replica', async () => {
    const [a, b] = replicas;
    for (let i = 0; i < 10; i++) assert.equal((await pull(a)).status, 200);
    await sharedCount(10);
    // B has not counted this client yet: its first pull is its own first, then it learns of A's ten.
    const first = await pull(b);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('ratelimit-remaining'), `${LIMIT - 1};w=315360000`);
    await sharedCount(11);
    const onB: number[] = [];
    for (let i = 0; i < LIMIT; i++) onB.push((await pull(b)).status);
    assert.deepEqual(onB.slice(0, LIMIT - 11), Array(LIMIT - 11).fill(200), 'B admits what is left of the combined limit');
    assert.deepEqual([...new Set(onB.slice(LIMIT - 11))], [429], 'and refuses the rest');
    await sharedCount(LIMIT);
    // A last synced when the count was 10: it admits one pull before its next sync (the slack)...
    const stale = await pull(a);
    assert.equal(stale.status, 200);
    await sharedCount(LIMIT + 1);
    // ...and refuses once it has synced, its headers showing the combined count.
    const refused = await pull(a);
    assert.equal(refused.status, 429, refused.text);
    assert.equal(refused.headers.get('ratelimit-remaining'), '0;w=315360000');
    assert.match(refused.text, /TOOMANYREQUESTS/);
  });
});
