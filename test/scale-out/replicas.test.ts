// Scale-out end to end: PostgreSQL (throwaway cluster) and Ceph RGW started once, three Berth
// replicas sharing one bucket (a root directory unique to this run) and one database, and nginx
// as a round-robin load balancer in front of them. Through the load balancer, skopeo and podman
// push and pull; uploads cross replicas mid-upload (every POST, PATCH and PUT of an upload may
// land on another replica). Straight at the replicas, a chunked upload is started on replica 1,
// continued on replica 2 and finished on replica 3. A replica is killed (SIGKILL) in the middle
// of a push; the user's retry completes through the others, and every digest verifies.
// Without Ceph the file fails with a message, unless BERTH_SKIP_S3=1 asks to skip it.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  ClientCommandError,
  ContainerClients,
  dockerRef,
  readDirImage,
  readDirImageFiles,
  sha256Digest,
  type BuiltImage,
} from '../helpers/clients.js';
import { ensureNginx, startNginxLoadBalancer, type TestLoadBalancer } from '../helpers/nginx.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { s3Environment, startS3, type TestS3 } from '../helpers/s3.js';
import { assertFiles, assertSameBytes, filePaths, readOciLayout } from '../e2e/support.js';

const MiB = 1024 * 1024;
const seconds0 = Date.now();
const s3OrSkip = await startOrSkip();

/** Ceph RGW, started once for the file; a skip reason if it cannot start and BERTH_SKIP_S3=1. */
async function startOrSkip(): Promise<TestS3 | string> {
  const started = Date.now();
  try {
    const server = await startS3();
    console.log(`# S3 (${server.backend}) ready on ${server.endpoint} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return server;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (process.env.BERTH_SKIP_S3 === '1') return `BERTH_SKIP_S3=1 and Ceph RGW (S3) could not be started: ${reason}`;
    throw new Error(
      `Ceph RGW (S3) could not be started, so the scale-out test cannot run:\n${reason}\n` +
        'Set BERTH_SKIP_S3=1 to skip this file, or S3_ENDPOINT/S3_ACCESS_KEY/S3_SECRET_KEY to use a running server.',
      { cause: error },
    );
  }
}
const skip = typeof s3OrSkip === 'string' ? s3OrSkip : false;
const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`;
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One access-log line of a replica. */
interface AccessEntry {
  readonly method: string;
  readonly url: string;
  readonly status: number;
}

function accessEntries(output: string): AccessEntry[] {
  const entries: AccessEntry[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { msg?: unknown; method?: unknown; url?: unknown; status?: unknown };
      if (entry.msg === 'request' && typeof entry.method === 'string' && typeof entry.url === 'string') {
        entries.push({ method: entry.method, url: entry.url, status: Number(entry.status) });
      }
    } catch {
      // not JSON
    }
  }
  return entries;
}

/** Bytes the process has read so far (rchar of /proc/PID/io: files and sockets), if readable. */
function readBytes(pid: number): number | undefined {
  try {
    const match = /^rchar:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/** The upload id in ".../blobs/uploads/<id>[?...]", or undefined. */
function uploadId(url: string): string | undefined {
  return /\/blobs\/uploads\/([^/?]+)/.exec(url)?.[1];
}

describe('three Berth replicas on Ceph RGW + PostgreSQL behind nginx', { skip, concurrency: false }, () => {
  let s3: TestS3 | undefined;
  let postgres: TestPostgres | undefined;
  const replicas: TestRegistry[] = [];
  const dead = new Set<number>();
  let lb: TestLoadBalancer | undefined;
  let builder: ContainerClients | undefined;
  let puller: ContainerClients | undefined;
  const rootDirectory = `/berth-scale-out-${randomUUID()}`;

  const env = (): { lb: TestLoadBalancer; builder: ContainerClients; puller: ContainerClients } => {
    assert.ok(lb && builder && puller && replicas.length === 3, 'before() did not finish');
    return { lb, builder, puller };
  };

  before(async () => {
    const started = Date.now();
    ensureNginx();
    assert.ok(typeof s3OrSkip !== 'string');
    s3 = s3OrSkip;
    const [pgResult, builderResult, pullerResult] = await Promise.allSettled([
      startPostgres(),
      ContainerClients.create({ timeoutMs: 180_000 }),
      ContainerClients.create({ timeoutMs: 180_000 }),
    ]);
    if (pgResult.status === 'fulfilled') postgres = pgResult.value;
    if (builderResult.status === 'fulfilled') builder = builderResult.value;
    if (pullerResult.status === 'fulfilled') puller = pullerResult.value;
    if (pgResult.status === 'rejected') throw pgResult.reason;
    if (builderResult.status === 'rejected') throw builderResult.reason;
    if (pullerResult.status === 'rejected') throw pullerResult.reason;
    console.log(`# PostgreSQL and client storage ready in ${seconds(started)} (${seconds(seconds0)} since the file started)`);

    const replicaEnv: Record<string, string> = {
      ...s3Environment(s3, rootDirectory),
      BERTH_METADATA_POSTGRES_URL: postgres?.url ?? '',
    };
    // All three at once, as a Deployment's pods start: they race on the schema migrations.
    const replicaStart = Date.now();
    const results = await Promise.allSettled([0, 1, 2].map(() => startRegistry({ env: replicaEnv })));
    for (const result of results) if (result.status === 'fulfilled') replicas.push(result.value);
    const failed = results.find((result) => result.status === 'rejected');
    if (failed?.status === 'rejected') throw failed.reason;
    console.log(`# three replicas listening in ${seconds(replicaStart)}: ${replicas.map((r) => r.hostPort).join(', ')}`);

    lb = await startNginxLoadBalancer(replicas.map((replica) => replica.hostPort));
    console.log(`# nginx (pid ${lb.pid}) on ${lb.url}; set-up took ${seconds(started)}`);
  });

  after(async () => {
    await lb?.stop().catch(() => undefined);
    await Promise.allSettled(replicas.map((replica) => replica.stop()));
    await Promise.allSettled([builder?.cleanup(), puller?.cleanup()]);
    await Promise.allSettled([typeof s3OrSkip === 'string' ? undefined : s3OrSkip.stop(), postgres?.stop()]);
  });

  it('pushes with skopeo and buildah through the load balancer, uploads continue across replicas, podman and skopeo pull the same image', async () => {
    const { lb, builder, puller } = env();
    const started = Date.now();
    const image: BuiltImage = await builder.buildImage({
      name: 'localhost/scale-out/app:1',
      layers: [[100, 8 * 1024], [32 * 1024, 2 * MiB], [3 * MiB]],
    });
    const repo = 'scale-out/app';
    const before = replicas.map((replica) => replica.output().length);

    const pushed = await builder.skopeoCopy(builder.storageRef(image.name), dockerRef(lb.hostPort, repo, '1'));
    assert.match(pushed.digest, /^sha256:[0-9a-f]{64}$/);
    const buildahPushed = await builder.buildahPush(image.name, `${lb.hostPort}/${repo}:buildah`);
    assert.match(buildahPushed.digest, /^sha256:[0-9a-f]{64}$/);

    // Which replicas served each upload's requests (PATCH and PUT carry the id; POST does not).
    const servedBy = new Map<string, Set<number>>();
    replicas.forEach((replica, index) => {
      for (const entry of accessEntries(replica.output().slice(before[index]))) {
        const id = uploadId(entry.url);
        if (id === undefined) continue;
        const set = servedBy.get(id) ?? new Set<number>();
        set.add(index);
        servedBy.set(id, set);
      }
    });
    const crossed = [...servedBy.values()].filter((set) => set.size >= 2).length;
    console.log(`# ${servedBy.size} uploads seen in the replicas' access logs, ${crossed} served by two or more replicas`);
    assert.ok(servedBy.size > 0, 'the replicas logged upload requests');
    assert.ok(crossed >= 1, 'at least one upload was continued on another replica');
    const servingReplicas = replicas.filter(
      (_, index) => accessEntries(replicas[index]?.output().slice(before[index]) ?? '').length > 0,
    ).length;
    assert.equal(servingReplicas, 3, 'round-robin: every replica served requests');

    // skopeo pull into a dir: layout (every blob checked against its digest) and the files.
    for (const tag of ['1', 'buildah']) {
      const digest = tag === '1' ? pushed.digest : buildahPushed.digest;
      assert.equal(await puller.manifestDigest(dockerRef(lb.hostPort, repo, tag)), digest, `manifest digest of :${tag}`);
      const dir = `${await puller.scratchDir('pull')}/image`;
      const copied = await puller.skopeoCopy(dockerRef(lb.hostPort, repo, tag), `dir:${dir}`, { preserveDigests: true });
      assert.equal(copied.digest, digest, `skopeo pull digest of :${tag}`);
      const pulled = await readDirImage(dir);
      assert.equal(pulled.manifest.config.digest, `sha256:${image.id}`, 'config digest is the image ID');
      assertFiles(await readDirImageFiles(dir, `${dir}-rootfs`, filePaths(image.files)), image.files);
    }

    // podman pull through the load balancer.
    const reference = `${lb.hostPort}/${repo}:1`;
    assert.equal(await puller.podmanPull(reference), image.id, 'podman image ID');
    const podmanDigest = (await puller.podman(['image', 'inspect', '--format', '{{.Digest}}', reference])).stdout.trim();
    assert.equal(podmanDigest, pushed.digest, 'podman records the pushed manifest digest');
    assertFiles(await puller.readImageFiles(reference, filePaths(image.files)), image.files);
    console.log(`# push + pull through the load balancer: ${seconds(started)}`);
  });

  it('a chunked upload started on replica 1, continued on replica 2 and finished on replica 3 serves the same bytes from each', async () => {
    env();
    const [r1, r2, r3] = replicas as [TestRegistry, TestRegistry, TestRegistry];
    const repo = 'scale-out/chunked';
    // Chunks below, at and above S3's 5 MiB part minimum, so buffering of a short part shows.
    const cases: { name: string; chunks: number[] }[] = [
      { name: 'small chunks', chunks: [1 * MiB + 17, 512 * 1024 + 3, 4096] },
      { name: 'part-sized chunks', chunks: [6 * MiB + 5, 5 * MiB + 11, 1 * MiB] },
    ];
    for (const { name, chunks } of cases) {
      const blob = randomBytes(chunks.reduce((sum, size) => sum + size, 0));
      const digest = sha256Digest(blob);
      const post = await fetch(`${r1.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
      await post.arrayBuffer();
      assert.equal(post.status, 202, `${name}: POST on replica 1`);
      let location = post.headers.get('location');
      assert.ok(location, 'POST answers with a Location');
      const path = (loc: string): string => {
        const url = new URL(loc, r1.url);
        return `${url.pathname}${url.search}`;
      };
      let offset = 0;
      // PATCHes alternate replica 2, replica 3, replica 2, ...; the last chunk goes with the PUT on replica 3.
      const patchTargets = [r2, r3];
      for (let i = 0; i < chunks.length - 1; i += 1) {
        const size = chunks[i] ?? 0;
        const target = patchTargets[i % 2] ?? r2;
        const chunk = blob.subarray(offset, offset + size);
        const patch = await fetch(`${target.url}${path(location)}`, {
          method: 'PATCH',
          headers: {
            'Content-Type': 'application/octet-stream',
            'Content-Range': `${offset}-${offset + size - 1}`,
            'Content-Length': String(size),
          },
          body: chunk,
        });
        const text = await patch.text();
        assert.equal(patch.status, 202, `${name}: PATCH ${i + 1} on ${target === r2 ? 'replica 2' : 'replica 3'}: ${text}`);
        offset += size;
        assert.equal(patch.headers.get('range'), `0-${offset - 1}`, `${name}: Range after PATCH ${i + 1}`);
        location = patch.headers.get('location') ?? location;
        // Another replica reports the same progress.
        const status = await fetch(`${r1.url}${path(location)}`);
        await status.arrayBuffer();
        assert.equal(status.status, 204, `${name}: upload status on replica 1`);
        assert.equal(status.headers.get('range'), `0-${offset - 1}`, `${name}: Range seen by replica 1`);
      }
      const last = blob.subarray(offset);
      const separator = location.includes('?') ? '&' : '?';
      const put = await fetch(`${r3.url}${path(location)}${separator}digest=${encodeURIComponent(digest)}`, {
        method: 'PUT',
        headers: {
          'Content-Type': 'application/octet-stream',
          'Content-Range': `${offset}-${blob.length - 1}`,
          'Content-Length': String(last.length),
        },
        body: last,
      });
      const putText = await put.text();
      assert.equal(put.status, 201, `${name}: PUT on replica 3: ${putText}`);
      assert.equal(put.headers.get('docker-content-digest'), digest);
      for (const [index, replica] of [r1, r2, r3].entries()) {
        const get = await fetch(`${replica.url}/v2/${repo}/blobs/${digest}`);
        const bytes = Buffer.from(await get.arrayBuffer());
        assert.equal(get.status, 200, `${name}: GET on replica ${index + 1}`);
        assert.equal(get.headers.get('docker-content-digest'), digest);
        assertSameBytes(bytes, blob, `${name}: blob from replica ${index + 1}`);
      }
    }
  });

  it('a replica killed (SIGKILL) in the middle of a push: the retry completes through the others and every digest verifies', async () => {
    const { lb, builder, puller } = env();
    const started = Date.now();
    // ~30 MiB of incompressible data in three layers, first copied into a compressed OCI layout
    // so the push itself is only uploads (its digests known in advance).
    const image = await builder.buildImage({
      name: 'localhost/scale-out/big:1',
      layers: [[10 * MiB], [10 * MiB], [10 * MiB + 4096]],
    });
    const layout = `${await builder.scratchDir('layout')}/oci`;
    await builder.skopeoCopy(builder.storageRef(image.name), `oci:${layout}:v1`);
    const source = await readOciLayout(layout, 'v1');
    const total = [...source.blobs.values()].reduce((sum, bytes) => sum + bytes.length, 0);
    console.log(
      `# big image: ${source.manifest.layers.length} layers, ${(total / MiB).toFixed(1)} MiB compressed, built in ${seconds(started)}`,
    );
    const target = dockerRef(lb.hostPort, 'scale-out/big', '1');
    const victimIndex = 1;
    const victim = replicas[victimIndex];
    assert.ok(victim);
    const offsets = replicas.map((replica) => replica.output().length);

    const pushStarted = Date.now();
    let pushDone = false;
    const firstPush = builder
      .skopeoCopy(`oci:${layout}:v1`, target, { preserveDigests: true })
      .then(
        (result) => ({ ok: true as const, result }),
        (error: unknown) => ({ ok: false as const, error }),
      )
      .finally(() => {
        pushDone = true;
      });
    // Kill while the victim is receiving a layer body: once it has read 1 MiB more than before
    // the push (its /proc/PID/io rchar counts socket reads), so an upload is cut mid-stream,
    // not merely a replica that happened to be idle. At most a few seconds in.
    const baseline = readBytes(victim.pid);
    const deadline = Date.now() + 5_000;
    while (!pushDone && Date.now() < deadline) {
      const now = readBytes(victim.pid);
      if (baseline !== undefined && now !== undefined && now - baseline >= 1 * MiB) break;
      await pause(10);
    }
    const killedMidPush = !pushDone;
    const readAtKill = readBytes(victim.pid) ?? 0;
    process.kill(victim.pid, 'SIGKILL');
    dead.add(victimIndex);
    const killedAt = Date.now();
    console.log(
      `# killed replica 2 (pid ${victim.pid}) ${((killedAt - pushStarted) / 1000).toFixed(2)} s into the push, ` +
        `after it had read ${((readAtKill - (baseline ?? 0)) / MiB).toFixed(1)} MiB; push still running: ${killedMidPush}`,
    );
    assert.equal(await victim.exited(), 'SIGKILL');

    const first = await firstPush;
    const victimRequests = accessEntries(victim.output().slice(offsets[victimIndex]));
    console.log(
      `# first push ${first.ok ? 'succeeded' : 'failed'} after ${seconds(pushStarted)}; the killed replica had answered ${victimRequests.length} requests of it`,
    );
    // What the load balancer saw of the killed replica: requests cut mid-flight, and where
    // the rest of the push went.
    const lbErrors = (await lb.errorLog()).split('\n').filter((line) => line.includes(victim.hostPort) && /\[error\]/.test(line));
    const lbLines = (await lb.accessLog()).split('\n').filter((line) => line.includes('/v2/scale-out/big/'));
    console.log(
      `# nginx: ${lbErrors.length} upstream errors on the killed replica (${[...new Set(lbErrors.map((line) => /\] \d+#\d+: \*\d+ ([^,]+)/.exec(line)?.[1] ?? '?'))].join('; ')}), ` +
        `${lbLines.filter((line) => / 50[234] /.test(line)).length} 5xx answers to the client`,
    );
    for (const line of lbErrors) console.log(`#   cut: ${/request: "([^"]{0,160})/.exec(line)?.[1] ?? line.slice(0, 200)}`);
    for (const line of lbLines.filter((entry) => entry.includes(victim.hostPort))) console.log(`#   nginx: ${line.slice(0, 220)}`);
    if (!first.ok) {
      const message =
        first.error instanceof ClientCommandError ? first.error.stderr.trim().split('\n').slice(-3).join(' | ') : String(first.error);
      console.log(`# first push error: ${message.slice(0, 600)}`);
    }
    assert.ok(killedMidPush, 'the replica died while the push was still running');

    // The user retries, as a user would, until it succeeds (at most three times).
    let digest = first.ok ? first.result.digest : '';
    let attempts = 1;
    while (!digest && attempts < 4) {
      attempts += 1;
      const retryStarted = Date.now();
      try {
        digest = (await builder.skopeoCopy(`oci:${layout}:v1`, target, { preserveDigests: true })).digest;
        console.log(`# retry ${attempts - 1} succeeded in ${seconds(retryStarted)}`);
      } catch (error) {
        const message = error instanceof ClientCommandError ? error.stderr.trim().split('\n').slice(-3).join(' | ') : String(error);
        console.log(`# retry ${attempts - 1} failed in ${seconds(retryStarted)}: ${message.slice(0, 600)}`);
      }
    }
    assert.equal(digest, source.manifestDigest, `the push completed (after ${attempts} attempt(s)) with the layout's manifest digest`);
    assert.equal(attempts <= 2, true, 'one retry is enough');

    // Pull it back through the load balancer: every blob verified against its digest.
    const dir = `${await puller.scratchDir('big')}/image`;
    const pulled = await puller.skopeoCopy(target, `dir:${dir}`, { preserveDigests: true });
    assert.equal(pulled.digest, source.manifestDigest, 'pulled manifest digest');
    const image2 = await readDirImage(dir);
    assertSameBytes(image2.manifestBytes, source.manifestBytes, 'manifest');
    for (const layer of image2.layers) {
      const expected = source.blobs.get(layer.digest);
      assert.ok(expected, `layer ${layer.digest} is in the source`);
      assertSameBytes(layer.bytes, expected, `layer ${layer.digest}`);
    }
    assertFiles(await readDirImageFiles(dir, `${dir}-rootfs`, filePaths(image.files)), image.files);
    // And straight from each surviving replica.
    for (const [index, replica] of replicas.entries()) {
      if (dead.has(index)) continue;
      for (const descriptor of [source.manifest.config, ...source.manifest.layers]) {
        const head = await fetch(`${replica.url}/v2/scale-out/big/blobs/${descriptor.digest}`, { method: 'HEAD' });
        await head.arrayBuffer();
        assert.equal(head.status, 200, `replica ${index + 1} has ${descriptor.digest}`);
        assert.equal(head.headers.get('content-length'), String(descriptor.size));
      }
      const manifest = await fetch(`${replica.url}/v2/scale-out/big/manifests/1`, {
        headers: { Accept: source.manifest.mediaType },
      });
      assert.equal(sha256Digest(Buffer.from(await manifest.arrayBuffer())), source.manifestDigest, `replica ${index + 1} serves the tag`);
    }
    // What the survivors logged at error level (pino level 50+) during the scenario.
    for (const [index, replica] of replicas.entries()) {
      if (dead.has(index)) continue;
      const errors = replica
        .output()
        .slice(offsets[index])
        .split('\n')
        .filter((line) => /"level":(5|6)\d/.test(line));
      if (errors.length > 0) console.log(`# replica ${index + 1} logged ${errors.length} errors, first: ${errors[0]?.slice(0, 400)}`);
    }
    console.log(`# kill-and-retry scenario: ${seconds(started)}`);
  });

  it('/readyz on each live replica reports storage and metadata ok', async () => {
    env();
    let checked = 0;
    for (const [index, replica] of replicas.entries()) {
      if (dead.has(index)) continue;
      const response = await fetch(`${replica.url}/readyz`);
      const body = (await response.json()) as { status?: string; checks?: Record<string, string> };
      assert.equal(response.status, 200, `replica ${index + 1}: ${JSON.stringify(body)}`);
      assert.equal(body.status, 'ok');
      assert.equal(body.checks?.storage, 'ok', `replica ${index + 1} storage`);
      assert.equal(body.checks?.metadata, 'ok', `replica ${index + 1} metadata`);
      checked += 1;
    }
    assert.ok(checked >= 2, 'at least two replicas are alive');
  });
});
