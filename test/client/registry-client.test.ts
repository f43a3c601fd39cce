// RegistryClient against real registries on loopback: Berth with Basic auth (htpasswd), Berth in
// token mode (Bearer tokens from its own /token, with an anonymously pullable namespace), and the
// reference registry (CNCF Distribution 2.8) with Basic auth. Content is pushed with plain fetch,
// then pulled with the client: manifests by tag and digest (bytes and Docker-Content-Digest),
// HEADs, 404s, a multi-MiB blob streamed and hashed, wrong passwords, token caching (counted in
// Berth's access log) and an upstream that went away.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { RegistryClient, UpstreamError, type UpstreamEndpoint } from '../../src/client/index.js';
import { freePort } from '../helpers/ports.js';
import { startReferenceRegistry, type ReferenceRegistry } from '../helpers/reference-registry.js';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { basicAuthorization } from '../helpers/credentials.js';

const USER = 'alice';
const PASSWORD = 'Tr0ub4dor&3-not-in-any-message';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const ACCEPT = [OCI_MANIFEST, 'application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'];
const berthOnly = { skip: testTarget === 'reference' ? 'these upstreams are Berth configurations' : false };

function sha256(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

interface Image {
  readonly repository: string;
  readonly tag: string;
  readonly manifest: Buffer;
  readonly manifestDigest: string;
  readonly layer: Buffer;
  readonly layerDigest: string;
}

/** An image with a multi-MiB random layer: config, layer and OCI manifest. */
function makeImage(repository: string, layerBytes: number): { image: Image; config: Buffer } {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = randomBytes(layerBytes);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    }),
  );
  return {
    config,
    image: { repository, tag: 'v1', manifest, manifestDigest: sha256(manifest), layer, layerDigest: sha256(layer) },
  };
}

/** Monolithic blob upload: POST ?digest= with the bytes, or POST then PUT where the registry wants that. */
async function pushBlob(baseUrl: string, repository: string, bytes: Buffer, authorization: string): Promise<void> {
  const digest = sha256(bytes);
  const headers = { authorization, 'content-type': 'application/octet-stream' };
  const posted = await fetch(`${baseUrl}/v2/${repository}/blobs/uploads/?digest=${digest}`, { method: 'POST', headers, body: bytes });
  await posted.arrayBuffer();
  if (posted.status === 201) return;
  assert.equal(posted.status, 202, `POST upload: ${posted.status}`);
  const location = new URL(posted.headers.get('location') ?? '', baseUrl);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', headers, body: bytes });
  assert.equal(put.status, 201, `PUT upload: ${put.status} ${await put.text()}`);
}

async function pushImage(baseUrl: string, authorization: string, repository: string, layerBytes = 5 * 1024 * 1024 + 123): Promise<Image> {
  const { image, config } = makeImage(repository, layerBytes);
  await pushBlob(baseUrl, repository, config, authorization);
  await pushBlob(baseUrl, repository, image.layer, authorization);
  const put = await fetch(`${baseUrl}/v2/${repository}/manifests/${image.tag}`, {
    method: 'PUT',
    headers: { authorization, 'content-type': OCI_MANIFEST },
    body: image.manifest,
  });
  assert.equal(put.status, 201, `PUT manifest: ${put.status} ${await put.text()}`);
  return image;
}

async function writeHtpasswd(dir: string): Promise<string> {
  const file = join(dir, 'htpasswd');
  // $2y$, as `htpasswd -B` writes it (the reference reads either); cost 4 keeps the test fast.
  await writeFile(file, `${USER}:${bcrypt.hashSync(PASSWORD, 4).replace(/^\$2[ab]\$/, '$2y$')}\n`);
  return file;
}

async function assertUpstreamError(promise: Promise<unknown>, kind: UpstreamError['kind']): Promise<UpstreamError> {
  const error = await promise.then(
    () => assert.fail(`expected UpstreamError ${kind}`),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof UpstreamError, `expected UpstreamError, got ${String(error)}`);
  assert.equal(error.kind, kind, error.message);
  assert.ok(!error.message.includes(PASSWORD), 'the message must not contain the password');
  return error;
}

async function streamDigest(stream: NodeJS.ReadableStream): Promise<{ digest: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    bytes += buffer.length;
    hash.update(buffer);
  }
  return { digest: `sha256:${hash.digest('hex')}`, bytes };
}

/** The pull behaviour every upstream must show, whatever its authentication. */
function pullTests(upstream: () => { endpoint: UpstreamEndpoint; image: Image }): void {
  let client: RegistryClient;
  before(() => {
    client = new RegistryClient(upstream().endpoint);
  });
  after(async () => {
    await client.close();
  });

  it('gets a manifest by tag and by digest: exact bytes, media type, Docker-Content-Digest', async () => {
    const { image } = upstream();
    for (const reference of [image.tag, image.manifestDigest]) {
      const manifest = await client.getManifest(image.repository, reference, ACCEPT);
      assert.ok(manifest, reference);
      assert.equal(manifest.mediaType, OCI_MANIFEST);
      assert.equal(manifest.digest, image.manifestDigest);
      assert.ok(manifest.body.equals(image.manifest));
    }
  });

  it('heads a manifest by tag and by digest', async () => {
    const { image } = upstream();
    for (const reference of [image.tag, image.manifestDigest]) {
      const head = await client.headManifest(image.repository, reference, ACCEPT);
      assert.deepEqual(head, { mediaType: OCI_MANIFEST, digest: image.manifestDigest, size: image.manifest.length });
    }
  });

  it('answers undefined for an unknown tag, digest or repository', async () => {
    const { image } = upstream();
    const unknownDigest = sha256(Buffer.from('nothing'));
    assert.equal(await client.getManifest(image.repository, 'missing', ACCEPT), undefined);
    assert.equal(await client.getManifest(image.repository, unknownDigest, ACCEPT), undefined);
    assert.equal(await client.headManifest(image.repository, 'missing', ACCEPT), undefined);
    assert.equal(await client.getManifest(`${image.repository}-missing`, 'v1', ACCEPT), undefined);
    assert.equal(await client.getBlob(image.repository, unknownDigest), undefined);
    assert.equal(await client.headBlob(image.repository, unknownDigest), undefined);
  });

  it('streams a multi-MiB blob with its exact bytes, and heads its size', async () => {
    const { image } = upstream();
    const blob = await client.getBlob(image.repository, image.layerDigest);
    assert.ok(blob);
    assert.equal(blob.size, image.layer.length);
    assert.deepEqual(await streamDigest(blob.stream), { digest: image.layerDigest, bytes: image.layer.length });
    assert.deepEqual(await client.headBlob(image.repository, image.layerDigest), { size: image.layer.length });
  });

  it('refuses a wrong password as unauthorized, without the password in the message', async () => {
    const { endpoint, image } = upstream();
    const wrong = new RegistryClient({ ...endpoint, password: `${PASSWORD}-wrong` });
    try {
      const error = await assertUpstreamError(wrong.getManifest(image.repository, image.tag, ACCEPT), 'unauthorized');
      assert.ok(!error.message.includes(`${PASSWORD}-wrong`));
      await assertUpstreamError(wrong.getBlob(image.repository, image.layerDigest), 'unauthorized');
    } finally {
      await wrong.close();
    }
  });
}

/** Waits until the registry has logged a request carrying the marker, so every earlier line is in. */
async function logSettled(registry: TestRegistry): Promise<string> {
  const marker = `settle-${randomBytes(6).toString('hex')}`;
  await (await fetch(`${registry.url}/v2/?${marker}`)).arrayBuffer();
  for (let i = 0; i < 200 && !registry.output().includes(marker); i += 1) await new Promise((r) => setTimeout(r, 25));
  assert.ok(registry.output().includes(marker), 'the access log line did not arrive');
  return registry.output();
}

function tokenRequests(log: string): number {
  return log.split('\n').filter((line) => line.includes('"url":"/token')).length;
}

describe('RegistryClient', () => {
  let dir: string;
  let htpasswd: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-client-'));
    htpasswd = await writeHtpasswd(dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('against Berth with Basic auth', berthOnly, () => {
    let registry: TestRegistry;
    let image: Image;
    let endpoint: UpstreamEndpoint;
    before(async () => {
      registry = await startRegistry({
        extraConfig: ['auth:', '  htpasswd:', '    realm: berth-test', `    path: ${JSON.stringify(htpasswd)}`].join('\n'),
      });
      image = await pushImage(registry.url, basicAuthorization(USER, PASSWORD), 'team/app');
      endpoint = { name: 'berth-basic', url: registry.url, username: USER, password: PASSWORD, allowPrivateAddresses: false };
    });
    after(async () => {
      // Also when before() failed half-way.
      await (registry as TestRegistry | undefined)?.stop();
    });

    pullTests(() => ({ endpoint, image }));

    it('is unauthorized without credentials', async () => {
      const anonymous = new RegistryClient({ name: 'anon', url: registry.url, allowPrivateAddresses: false });
      await assertUpstreamError(anonymous.headManifest(image.repository, image.tag, ACCEPT), 'unauthorized');
      await anonymous.close();
    });

    it('is unreachable once the upstream has stopped', async () => {
      const client = new RegistryClient(endpoint);
      assert.ok(await client.headBlob(image.repository, image.layerDigest)); // a pooled keep-alive connection
      await registry.stop();
      const error = await assertUpstreamError(client.getManifest(image.repository, image.tag, ACCEPT), 'unreachable');
      assert.equal(error.status, undefined);
      await client.close();
    });
  });

  describe('against Berth in token mode', berthOnly, () => {
    let registry: TestRegistry;
    let image: Image;
    let publicImage: Image;
    let endpoint: UpstreamEndpoint;
    before(async () => {
      registry = await startRegistry({
        extraConfig: [
          'auth:',
          '  htpasswd:',
          `    path: ${JSON.stringify(htpasswd)}`,
          '  tokenserver:',
          '    enabled: true',
          '  access:',
          `    admins: [${USER}]`,
          '    rules:',
          '      - repository: "pub/**"',
          '        anonymous: [pull]',
        ].join('\n'),
      });
      const token = async (repository: string): Promise<string> => {
        const answer = await fetch(`${registry.url}/token?service=berth&scope=repository:${repository}:pull,push`, {
          headers: { authorization: basicAuthorization(USER, PASSWORD) },
        });
        assert.equal(answer.status, 200);
        return `Bearer ${((await answer.json()) as { token: string }).token}`;
      };
      image = await pushImage(registry.url, await token('team/app'), 'team/app');
      publicImage = await pushImage(registry.url, await token('pub/tools/app'), 'pub/tools/app', 3 * 1024 * 1024);
      endpoint = { name: 'berth-token', url: registry.url, username: USER, password: PASSWORD, allowPrivateAddresses: false };
    });
    after(async () => {
      // Also when before() failed half-way.
      await (registry as TestRegistry | undefined)?.stop();
    });

    pullTests(() => ({ endpoint, image }));

    it('pulls a public repository anonymously, and is unauthorized on a private one', async () => {
      const anonymous = new RegistryClient({ name: 'anon', url: registry.url, allowPrivateAddresses: false });
      try {
        const manifest = await anonymous.getManifest(publicImage.repository, publicImage.tag, ACCEPT);
        assert.ok(manifest?.body.equals(publicImage.manifest));
        const blob = await anonymous.getBlob(publicImage.repository, publicImage.layerDigest);
        assert.ok(blob);
        assert.equal((await streamDigest(blob.stream)).digest, publicImage.layerDigest);
        await assertUpstreamError(anonymous.getManifest(image.repository, image.tag, ACCEPT), 'unauthorized');
      } finally {
        await anonymous.close();
      }
    });

    it('asks the realm for one token per repository and reuses it (counted in the access log)', async () => {
      const client = new RegistryClient(endpoint);
      try {
        const before = tokenRequests(await logSettled(registry));
        // Concurrent first requests share one token request.
        await Promise.all([
          client.headManifest(image.repository, image.tag, ACCEPT),
          client.headBlob(image.repository, image.layerDigest),
          client.headManifest(image.repository, image.manifestDigest, ACCEPT),
        ]);
        for (let i = 0; i < 3; i += 1) {
          assert.ok(await client.getManifest(image.repository, image.tag, ACCEPT));
          assert.ok(await client.headBlob(image.repository, image.layerDigest));
        }
        const blob = await client.getBlob(image.repository, image.layerDigest);
        assert.ok(blob);
        await streamDigest(blob.stream);
        assert.equal(tokenRequests(await logSettled(registry)) - before, 1);
        // Another repository is another scope: one more token.
        assert.ok(await client.getManifest(publicImage.repository, publicImage.tag, ACCEPT));
        assert.ok(await client.headManifest(publicImage.repository, publicImage.tag, ACCEPT));
        assert.equal(tokenRequests(await logSettled(registry)) - before, 2);
      } finally {
        await client.close();
      }
    });

    it('keeps a rejected password out of error messages and the upstream log', async () => {
      const client = new RegistryClient({ ...endpoint, password: 'wrong-password-xyz' });
      const error = await assertUpstreamError(client.getManifest(image.repository, image.tag, ACCEPT), 'unauthorized');
      assert.ok(!error.message.includes('wrong-password-xyz'));
      await client.close();
      const log = await logSettled(registry);
      assert.ok(!log.includes('wrong-password-xyz'));
    });
  });

  describe('against the reference registry with Basic auth', () => {
    let reference: ReferenceRegistry;
    let image: Image;
    let endpoint: UpstreamEndpoint;
    before(async () => {
      reference = await startReferenceRegistry({ htpasswd: { realm: 'reference-test', path: htpasswd } });
      image = await pushImage(reference.url, basicAuthorization(USER, PASSWORD), 'team/app');
      endpoint = { name: 'reference', url: reference.url, username: USER, password: PASSWORD, allowPrivateAddresses: false };
    });
    after(async () => {
      await (reference as ReferenceRegistry | undefined)?.stop();
    });

    pullTests(() => ({ endpoint, image }));

    it('is unreachable once the upstream has stopped, and for a port nobody listens on', async () => {
      const client = new RegistryClient(endpoint);
      assert.ok(await client.headManifest(image.repository, image.tag, ACCEPT));
      await reference.stop();
      await assertUpstreamError(client.headManifest(image.repository, image.tag, ACCEPT), 'unreachable');
      await client.close();
      const nobody = new RegistryClient({ ...endpoint, url: `http://127.0.0.1:${await freePort()}` });
      await assertUpstreamError(nobody.getBlob(image.repository, image.layerDigest), 'unreachable');
      await nobody.close();
    });
  });
});
