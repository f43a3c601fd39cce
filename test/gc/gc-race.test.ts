// Online garbage collection racing pushes: GC runs in a tight loop (with grace periods of 0 to 2
// seconds, deleting untagged manifests) while hundreds of pushes, re-pushes of the same layers,
// cross-repository mounts and deletes go on, on both backends:
// - SQLite + filesystem: GC on a second app over the same database file and store (its own
//   SQLite connection, so it takes turns with the server exactly as `berth gc` would);
// - PostgreSQL + S3 (Ceph RGW): two replicas, pushes spread over both, GC on one of them.
// Afterwards every image whose manifest PUT got 201 and whose tag was not deleted is pulled and
// every byte checked against its digest; then every tag is deleted, GC run with no grace period,
// and no byte may be left in the blob store.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { parseConfig } from '../../src/config/index.js';
import { GcAlreadyRunning } from '../../src/registry/index.js';
import { buildApp, type BerthApp } from '../../src/server/build-app.js';
import type { StorageDriver } from '../../src/storage/driver.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { s3Environment, startS3OrSkip, type TestS3 } from '../helpers/s3.js';
import {
  deleteReference,
  hasBlob,
  mountBlob,
  newImage,
  pullAndVerify,
  pushBlob,
  putManifest,
  randomBlob,
  type Blob,
  type Target,
} from './support.js';

const PUSHES = 240;
const CONCURRENCY = 12;
const REPOSITORIES = ['race/a', 'race/b', 'race/c', 'race/d'];
const silent = pino({ level: 'silent' });

async function listen(app: BerthApp): Promise<Target> {
  await app.http.listen({ port: 0, host: '127.0.0.1' });
  const address = app.http.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${address.port}` };
}

interface Pushed {
  readonly repository: string;
  readonly tag: string;
  readonly digest: string;
}

/**
 * The workload: PUSHES images over `targets`, CONCURRENCY at a time. Each reuses layers of a
 * small shared pool (so the same layer is pushed again and again, and mounted across
 * repositories) plus a layer of its own; one push in five deletes an earlier image's tag or
 * manifest. Returns the images whose PUT got 201 and that were not deleted.
 */
async function pushWorkload(targets: readonly Target[]): Promise<{ kept: Pushed[]; succeeded: number; failed: number }> {
  const pool: Blob[] = Array.from({ length: 6 }, () => randomBlob(1024 + Math.floor(Math.random() * 4096)));
  const pushed: Pushed[] = [];
  const deleted = new Set<Pushed>();
  let next = 0;
  let failed = 0;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

  async function pushOne(index: number): Promise<void> {
    const target = targets[index % targets.length] as Target;
    const repository = pick(REPOSITORIES);
    const layers = [pick(pool), pick(pool), randomBlob()].filter((blob, i, all) => all.indexOf(blob) === i);
    const image = newImage(layers);
    for (const blob of [image.config, ...image.layers]) {
      if (await hasBlob(target, repository, blob.digest)) continue;
      if (pool.includes(blob) && Math.random() < 0.4) {
        const from = pick(REPOSITORIES.filter((r) => r !== repository));
        if (await mountBlob(target, repository, from, blob.digest)) continue;
      }
      const status = await pushBlob(target, repository, blob, Math.random() < 0.5 ? 'monolithic' : 'chunked');
      // A blob upload may lose to nothing here: GC never takes bytes an upload is writing.
      assert.equal(status, 201, `upload of ${blob.digest} to ${repository}`);
    }
    const tag = `t${index}`;
    const status = await putManifest(target, repository, tag, image.manifest);
    if (status === 201) {
      pushed.push({ repository, tag, digest: image.manifest.digest });
    } else {
      // A layer found by HEAD but unreferenced and older than the grace period may be unlinked
      // before the manifest arrives: the push is refused (MANIFEST_BLOB_UNKNOWN), never half-accepted.
      assert.equal(status, 400, `manifest PUT ${repository}:${tag}`);
      failed++;
    }
    if (index % 5 === 4 && pushed.length > 0) {
      const victim = pick(pushed);
      if (!deleted.has(victim)) {
        deleted.add(victim);
        const byDigest = Math.random() < 0.5;
        const answer = await deleteReference(target, victim.repository, byDigest ? victim.digest : victim.tag);
        assert.ok([202, 404].includes(answer), `delete ${victim.repository}:${victim.tag}: ${answer}`);
        if (byDigest) {
          // Deleting by digest removes every tag naming it: the same manifest pushed twice to one repository.
          for (const other of pushed) if (other.repository === victim.repository && other.digest === victim.digest) deleted.add(other);
        }
      }
    }
  }

  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let index = next++; index < PUSHES; index = next++) await pushOne(index);
    }),
  );
  return { kept: pushed.filter((p) => !deleted.has(p)), succeeded: pushed.length, failed };
}

interface GcLoop {
  /** Stops the loop after the run in progress; resolves with how many runs finished. */
  stop(): Promise<number>;
}

/** GC in a tight loop in this process, on one replica, until stopped. */
function gcLoopInProcess(app: BerthApp): GcLoop {
  let stopping = false;
  let runs = 0;
  const loop = (async () => {
    while (!stopping) {
      try {
        await app.registry.gc.run({ trigger: 'api', graceMs: Math.floor(Math.random() * 2000), deleteUntagged: true });
        runs++;
      } catch (error) {
        if (!(error instanceof GcAlreadyRunning)) throw error;
      }
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      return runs;
    },
  };
}

/** GC in a tight loop in another process (gc-loop-process.ts) over the configuration, until stopped. */
async function gcLoopInProcessOf(configFile: string): Promise<GcLoop> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'gc-loop-process.ts'), configFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => output.includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`the GC process exited with ${code} before it was ready`)));
  });
  return {
    async stop() {
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      assert.equal(await exited, 0, `the GC process failed:\n${output}`);
      return Number(/runs (\d+)/.exec(output)?.[1] ?? 0);
    },
  };
}

/** Every key below blobs/ in a store, through the driver (the same walk for both backends). */
async function storedBlobKeys(storage: StorageDriver, prefix = 'blobs'): Promise<string[]> {
  let children: string[];
  try {
    children = await storage.list(prefix);
  } catch {
    return [];
  }
  const keys: string[] = [];
  for (const child of children) {
    if (child.endsWith('/data')) keys.push(child);
    else keys.push(...(await storedBlobKeys(storage, child)));
  }
  return keys;
}

async function raceAndReclaim(pushTargets: readonly Target[], loop: GcLoop, gcApp: BerthApp, api: Target): Promise<void> {
  let workload: Awaited<ReturnType<typeof pushWorkload>>;
  try {
    workload = await pushWorkload(pushTargets);
  } finally {
    const runs = await loop.stop();
    // At least one whole run overlapped the pushes (a busy machine may finish few).
    assert.ok(runs >= 1, `GC ran ${runs} times during the pushes`);
  }
  // Pushes slower than the grace period may be refused (their layers unlinked first); enough
  // must succeed for the check below to mean something.
  assert.ok(workload.succeeded >= PUSHES / 5, `${workload.succeeded} of ${PUSHES} pushes got 201 (${workload.failed} refused)`);
  // One more run after the pushes: nothing tagged may lose a byte to it either.
  await gcApp.registry.gc.run({ trigger: 'api', graceMs: 0, deleteUntagged: true });
  for (const image of workload.kept) {
    await pullAndVerify(api, image.repository, image.tag);
    await pullAndVerify(api, image.repository, image.digest);
  }

  // Reclaim: every tag deleted, then nothing may stay once no grace period protects it.
  for (const repository of REPOSITORIES) {
    const listed = (await (await fetch(new URL(`/v2/${repository}/tags/list`, api.url))).json()) as { tags?: string[] | null };
    for (const tag of listed.tags ?? []) assert.equal(await deleteReference(api, repository, tag), 202);
  }
  const kept = await gcApp.registry.gc.run({ trigger: 'api', graceMs: 3_600_000, deleteUntagged: true });
  assert.equal(kept.stats.blobsDeleted, 0, 'everything is within an hour-long grace period');
  assert.ok((await storedBlobKeys(gcApp.registry.storage)).length > 0);
  await gcApp.registry.gc.run({ trigger: 'api', graceMs: 0, deleteUntagged: true });
  assert.deepEqual(await storedBlobKeys(gcApp.registry.storage), [], 'no byte is left once nothing is tagged');
}

describe('garbage collection racing pushes on SQLite and the filesystem', { timeout: 600_000 }, () => {
  let dir: string;
  let configFile: string;
  let server: BerthApp;
  let target: Target;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-gc-race-'));
    configFile = join(dir, 'config.yml');
    const yaml = `storage: {filesystem: {rootdirectory: ${JSON.stringify(join(dir, 'data'))}}, delete: {enabled: true}}\n`;
    await writeFile(configFile, yaml);
    server = await buildApp(parseConfig(yaml, { cwd: dir, env: {} }), pino({ level: process.env.GC_RACE_LOG ?? 'silent' }));
    target = await listen(server);
  });

  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('never loses a byte of an image whose push succeeded, and reclaims everything after', async () => {
    // GC from another process, taking SQLite's locks as `berth gc` does; the last runs from the server's app.
    await raceAndReclaim([target], await gcLoopInProcessOf(configFile), server, target);
  });
});

describe('garbage collection racing pushes on PostgreSQL and S3', { timeout: 900_000 }, () => {
  let s3: TestS3 | undefined;
  let postgres: TestPostgres | undefined;
  let dir: string;
  const replicas: BerthApp[] = [];
  const targets: Target[] = [];
  let skipReason: string | undefined;

  before(async () => {
    const started = await startS3OrSkip();
    if (typeof started === 'string') {
      skipReason = started;
      return;
    }
    s3 = started;
    postgres = await startPostgres();
    const database = await postgres.createDatabase();
    dir = await mkdtemp(join(tmpdir(), 'berth-gc-race-s3-'));
    const env = {
      ...s3Environment(s3, `gc-race-${randomUUID()}`),
      BERTH_METADATA_POSTGRES_URL: database,
      REGISTRY_STORAGE_DELETE_ENABLED: 'true',
    };
    for (let i = 0; i < 2; i++) {
      const app = await buildApp(parseConfig('', { cwd: dir, env }), silent);
      replicas.push(app);
      targets.push(await listen(app));
    }
  });

  after(async () => {
    for (const app of replicas) await app.close().catch(() => undefined);
    await postgres?.stop();
    await s3?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('never loses a byte of an image whose push succeeded on either replica, and reclaims everything after', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const collector = replicas[1] as BerthApp;
    await raceAndReclaim(targets, gcLoopInProcess(collector), collector, targets[0] as Target);
  });
});
