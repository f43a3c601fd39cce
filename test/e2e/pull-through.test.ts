// End to end through the pull-through cache with real clients: two upstreams at once (another
// Berth for the root namespace, as Docker's registry-mirrors uses it, and the reference
// registry with htpasswd auth under a prefix namespace) beside a hosted namespace. podman and
// skopeo pull through Berth and get the upstreams' digests; pushes to hosted names work and
// pushes into a cached prefix are refused; with the upstream stopped, cached images still pull
// and podman still pushes to hosted names (its blob HEADs answer 404, not 502).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { ContainerClients, type BuiltImage } from '../helpers/clients.js';
import { startReferenceRegistry, type ReferenceRegistry } from '../helpers/reference-registry.js';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { stopRegistry } from './support.js';

describe('pull-through cache with podman and skopeo', {
  concurrency: false,
  skip: testTarget === 'reference' ? 'Berth-only' : false,
}, () => {
  let dir: string;
  let hub: TestRegistry | undefined;
  let reference: ReferenceRegistry | undefined;
  let mirror: TestRegistry | undefined;
  let clients: ContainerClients | undefined;
  let image: BuiltImage;
  let hubDigest = '';
  let referenceDigest = '';

  const env = (): { hub: TestRegistry; reference: ReferenceRegistry; mirror: TestRegistry; clients: ContainerClients } => {
    assert.ok(hub && reference && mirror && clients, 'before() did not finish');
    return { hub, reference, mirror, clients };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-mirror-'));
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(htpasswd, `mirror:${bcrypt.hashSync('mirror-password', 5)}\n`);
    hub = await startRegistry();
    reference = await startReferenceRegistry({ htpasswd: { realm: 'reference', path: htpasswd } });
    clients = await ContainerClients.create();
    image = await clients.buildImage({ name: 'localhost/e2e/mirror:1', layers: [[2048, 300_000]] });
    const hubHost = new URL(hub.url).host;
    const referenceHost = new URL(reference.url).host;
    hubDigest = (await clients.buildahPush(image.name, `${hubHost}/library/hello:1`)).digest;
    await clients.skopeo([
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      'mirror:mirror-password',
      '--digestfile',
      join(dir, 'reference-digest'),
      clients.storageRef(image.name),
      `docker://${referenceHost}/team/app:1`,
    ]);
    referenceDigest = (await import('node:fs/promises').then((fs) => fs.readFile(join(dir, 'reference-digest'), 'utf8'))).trim();
    mirror = await startRegistry({
      extraConfig: [
        'proxy:',
        '  upstreams:',
        `    - {name: hub, url: ${JSON.stringify(hub.url)}, namespace: "", tagttl: 1h, allowprivateaddresses: true}`,
        `    - {name: ref, url: ${JSON.stringify(reference.url)}, namespace: ref.example, username: mirror, password: mirror-password, allowprivateaddresses: true}`,
      ].join('\n'),
    });
  });

  after(async () => {
    await clients?.cleanup();
    await stopRegistry(mirror);
    await stopRegistry(hub);
    await reference?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('podman pulls a root-namespace image (library/...) through the mirror with the upstream digest', async () => {
    const { mirror } = env();
    // A fresh storage: the builder's own storage already holds the image.
    const puller = await ContainerClients.create();
    try {
      const ref = `${mirror.hostPort}/library/hello:1`;
      await puller.podmanPull(ref);
      const digest = (await puller.podman(['image', 'inspect', '--format', '{{.Digest}}', ref])).stdout.trim();
      assert.equal(digest, hubDigest);
      const files = await puller.readImageFiles(
        ref,
        image.files.map((file) => file.path),
      );
      for (const file of image.files) assert.deepEqual(files.get(file.path), file.content, file.path);
    } finally {
      await puller.cleanup();
    }
  });

  it('skopeo reads an image of the authenticated reference registry under its prefix', async () => {
    const { mirror, clients } = env();
    const inspected = JSON.parse(
      (await clients.skopeo(['inspect', '--tls-verify=false', `docker://${mirror.hostPort}/ref.example/team/app:1`])).stdout,
    ) as { Digest: string };
    assert.equal(inspected.Digest, referenceDigest);
    await clients.skopeo([
      'copy',
      '--src-tls-verify=false',
      `docker://${mirror.hostPort}/ref.example/team/app:1`,
      `dir:${join(dir, 'copied')}`,
    ]);
  });

  it('accepts pushes to hosted names and refuses pushes into a cached prefix', async () => {
    const { mirror, clients } = env();
    const pushed = await clients.buildahPush(image.name, `${mirror.hostPort}/mine/app:1`);
    assert.equal(pushed.digest, hubDigest);
    await assert.rejects(clients.buildahPush(image.name, `${mirror.hostPort}/ref.example/team/other:1`), /unsupported|405|cache/i);
    const catalog = (await (await fetch(`${mirror.url}/v2/_catalog`)).json()) as { repositories: string[] };
    assert.deepEqual(catalog.repositories, ['library/hello', 'mine/app', 'ref.example/team/app']);
  });

  it('answers containerd-style ?ns= requests and echoes OCI-Namespace', async () => {
    const { mirror, reference } = env();
    const referenceHost = new URL(reference.url).host;
    // containerd sends the registry's own name and ?ns=<its host>: the ref upstream is selected
    // by its host and asked for the name as given, though it is configured under a prefix.
    const response = await fetch(`${mirror.url}/v2/team/app/manifests/1?ns=${referenceHost}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
    });
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(response.headers.get('oci-namespace'), referenceHost);
    assert.equal(response.headers.get('docker-content-digest'), referenceDigest);
  });

  it('serves cached images when the upstream is down', async () => {
    const { hub, mirror } = env();
    await hub.stop();
    const fresh = await ContainerClients.create();
    try {
      const ref = `${mirror.hostPort}/library/hello:1`;
      await fresh.podmanPull(ref);
      assert.equal((await fresh.podman(['image', 'inspect', '--format', '{{.Digest}}', ref])).stdout.trim(), hubDigest);
    } finally {
      await fresh.cleanup();
    }
    // The cache's counters, as Prometheus scrapes them.
    const metrics = await (await fetch(`${mirror.url}/metrics`)).text();
    const count = (event: string): number =>
      Number(new RegExp(`^berth_proxy_events_total\\{event="${event}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? -1);
    assert.ok(count('hits') > 0, metrics);
    assert.ok(count('blobFetches') >= 2, metrics);
    assert.equal(count('verificationFailures'), 0, metrics);
  });

  it('accepts podman pushes to a hosted name while the root upstream is down', async () => {
    const { hub, mirror, clients } = env();
    await hub.stop();
    // New layers: every blob HEAD podman makes misses locally and would ask the stopped upstream.
    const fresh = await clients.buildImage({ name: 'localhost/e2e/new:1', layers: [[4096], [1024]] });
    const ref = `${mirror.hostPort}/mine/new:1`;
    const before = mirror.output().length;
    await clients.podman(['push', '--tls-verify=false', fresh.name, `docker://${ref}`]);
    const puller = await ContainerClients.create();
    try {
      await puller.podmanPull(ref);
      const files = await puller.readImageFiles(
        ref,
        fresh.files.map((file) => file.path),
      );
      for (const file of fresh.files) assert.deepEqual(files.get(file.path), file.content, file.path);
    } finally {
      await puller.cleanup();
    }
    // The outage is logged at warn once, when it began (here or in the test before), not once per
    // request; no request of the push is logged as a server error with a stack trace.
    const lines = (output: string) =>
      output.split('\n').flatMap((line) => {
        try {
          return [JSON.parse(line) as { level: number; msg: string; upstream?: string }];
        } catch {
          return [];
        }
      });
    assert.deepEqual(
      lines(mirror.output().slice(before)).filter((l) => l.level >= 50),
      [],
      'no error-level lines',
    );
    const warns = lines(mirror.output()).filter((l) => l.level === 40 && l.upstream === 'hub');
    assert.equal(warns.filter((l) => /^upstream unreachable/.test(l.msg)).length, 1, JSON.stringify(warns));
    assert.ok(
      warns.every((l) => /^upstream (unreachable|still unreachable)/.test(l.msg)),
      JSON.stringify(warns),
    );
  });
});
