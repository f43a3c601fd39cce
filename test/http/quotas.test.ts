// Quotas per namespace against a running registry with a real SQLite file: quotas set through
// the admin API and the configuration file, pushes within a quota, a manifest PUT over it refused
// with 403 DENIED and the usage in the message (and skopeo printing that message), a monolithic
// upload and a chunk larger than what is left refused before any byte is stored, layers shared by
// repositories counted once, the repository limit, usage dropping when a manifest is deleted and
// its blobs unlinked, bad quota input, and who may read and change what.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { callRegistry, type CallOptions, type RegistryAnswer } from '../helpers/call.js';
import { ClientCommandError, ContainerClients } from '../helpers/clients.js';
import { basicAuthorization } from '../helpers/credentials.js';
import { formatByteSize } from '../../src/oci/byte-size.js';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { MEDIA, ociManifest, sha256, type BuiltManifest, type Descriptor } from './support.js';

const berthOnly = { skip: testTarget === 'reference' ? 'Berth-only feature' : false };
const ROOT = basicAuthorization('root', 'root-password');
const ALICE = basicAuthorization('alice', 'alice-password');
const BOB = basicAuthorization('bob', 'bob-password');

interface QuotaJson {
  namespace: string;
  size: number;
  repositories?: number;
  warnAt?: number;
  source: 'config' | 'api';
  readOnly: boolean;
  createdBy?: string;
}

interface UsageJson {
  namespace: string;
  bytes: number;
  repositories: number;
  quota: QuotaJson | null;
  warning: boolean;
  repositoryUsage?: { repository: string; bytes: number; blobs: number; manifests: number; tags: number }[];
}

describe('quotas', berthOnly, () => {
  let registry: TestRegistry;
  let dir: string;

  /** A request as root, as another user, or (null) anonymously. */
  const call = (method: string, path: string, authorization: string | null = ROOT, options: CallOptions = {}): Promise<RegistryAnswer> =>
    callRegistry(registry, method, path, authorization ?? undefined, options);

  /** The OCI error body's first entry. */
  function ociError(answer: RegistryAnswer): { code: string; message: string } {
    const error = (JSON.parse(answer.text) as { errors: { code: string; message: string }[] }).errors[0];
    assert.ok(error, answer.text);
    return { code: error.code, message: error.message };
  }

  async function setQuota(namespace: string, quota: Record<string, unknown>): Promise<void> {
    const answer = await call('PUT', `/api/v1/quotas/${namespace}`, ROOT, { json: quota });
    assert.equal(answer.status, 200, answer.text);
  }

  async function usage(namespace: string): Promise<UsageJson> {
    const answer = await call('GET', `/api/v1/usage/namespaces/${namespace}`);
    assert.equal(answer.status, 200, answer.text);
    return JSON.parse(answer.text) as UsageJson;
  }

  /** A monolithic upload (POST ?digest= with the bytes). */
  function upload(repository: string, data: Buffer): Promise<RegistryAnswer> {
    return call('POST', `/v2/${repository}/blobs/uploads/?digest=${sha256(data)}`, ROOT, {
      body: data,
      headers: { 'content-type': 'application/octet-stream' },
    });
  }

  async function pushBlob(repository: string, data: Buffer, mediaType: string): Promise<Descriptor> {
    const answer = await upload(repository, data);
    assert.equal(answer.status, 201, answer.text);
    return { mediaType, digest: sha256(data), size: data.length };
  }

  /** Pushes a config and the given layers (random bytes), and returns the manifest (not pushed). */
  async function imageBlobs(repository: string, layers: readonly (Buffer | number)[]): Promise<BuiltManifest> {
    const config = await pushBlob(
      repository,
      Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: randomBytes(8).toString('hex') })),
      MEDIA.ociConfig,
    );
    const descriptors: Descriptor[] = [];
    for (const layer of layers)
      descriptors.push(await pushBlob(repository, typeof layer === 'number' ? randomBytes(layer) : layer, MEDIA.ociLayer));
    return ociManifest(config, descriptors);
  }

  function putManifest(repository: string, tag: string, manifest: BuiltManifest): Promise<RegistryAnswer> {
    return call('PUT', `/v2/${repository}/manifests/${tag}`, ROOT, {
      body: manifest.bytes,
      headers: { 'content-type': manifest.mediaType },
    });
  }

  /** Bytes a manifest and everything it references add to an empty namespace. */
  function imageBytes(manifest: BuiltManifest): number {
    const parsed = JSON.parse(manifest.bytes.toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
    return manifest.bytes.length + parsed.config.size + parsed.layers.reduce((sum, layer) => sum + layer.size, 0);
  }

  async function blobStored(digest: string): Promise<boolean> {
    const hex = digest.slice('sha256:'.length);
    return stat(join(registry.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex, 'data')).then(
      () => true,
      () => false,
    );
  }

  async function uploadsInProgress(): Promise<string[]> {
    return readdir(join(registry.dataDir, 'uploads')).catch(() => []);
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-quotas-'));
    const htpasswd = join(dir, 'htpasswd');
    const users = { root: 'root-password', alice: 'alice-password', bob: 'bob-password' };
    await writeFile(
      htpasswd,
      Object.entries(users)
        .map(([name, password]) => `${name}:${bcrypt.hashSync(password, 4)}\n`)
        .join(''),
    );
    registry = await startRegistry({
      extraConfig: [
        'auth:',
        `  htpasswd: {realm: berth, path: ${JSON.stringify(htpasswd)}}`,
        '  bcryptcost: 4',
        '  ratelimit: {attempts: 1000}',
        '  access:',
        '    admins: [root]',
        '    rules: []',
        'quotas:',
        '  - {namespace: fixed, size: 1MiB, repositories: 3, warnat: 0.5}',
      ].join('\n'),
    });
    // alice administers the namespace team; bob is only a user.
    const grant = await call('PUT', '/api/v1/namespaces/team/grants/user/alice', ROOT, { json: { role: 'admin' } });
    assert.equal(grant.status, 200, grant.text);
  });

  after(async () => {
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("sets, lists, replaces and deletes quotas; the configuration file's are read-only", async () => {
    let answer = await call('PUT', '/api/v1/quotas/scratch', ROOT, { json: { size: '10GiB', repositories: 4, warnAt: 0.8 } });
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(
      { ...(JSON.parse(answer.text) as QuotaJson), createdAt: undefined },
      {
        namespace: 'scratch',
        size: 10 * 2 ** 30,
        repositories: 4,
        warnAt: 0.8,
        source: 'api',
        readOnly: false,
        createdBy: 'root',
        createdAt: undefined,
      },
    );
    await setQuota('scratch', { size: 5000 });
    answer = await call('GET', '/api/v1/quotas');
    assert.equal(answer.status, 200, answer.text);
    const quotas = (JSON.parse(answer.text) as { quotas: QuotaJson[] }).quotas;
    assert.deepEqual(
      quotas.map((q) => [q.namespace, q.size, q.repositories, q.source, q.readOnly]),
      [
        ['fixed', 2 ** 20, 3, 'config', true],
        ['scratch', 5000, undefined, 'api', false],
      ],
    );
    answer = await call('PUT', '/api/v1/quotas/fixed', ROOT, { json: { size: '2MiB' } });
    assert.equal(answer.status, 409, answer.text);
    assert.match(ociError(answer).message, /set in the configuration file/);
    assert.equal((await call('DELETE', '/api/v1/quotas/fixed')).status, 409);
    assert.equal((await call('DELETE', '/api/v1/quotas/scratch')).status, 204);
    assert.equal((await call('DELETE', '/api/v1/quotas/scratch')).status, 404);

    // The configuration file's quota applies: usage reports show it.
    const fixed = await usage('fixed');
    assert.deepEqual(
      { ...fixed, repositoryUsage: undefined },
      {
        namespace: 'fixed',
        bytes: 0,
        repositories: 0,
        quota: { namespace: 'fixed', size: 2 ** 20, repositories: 3, warnAt: 0.5, source: 'config', readOnly: true },
        warning: false,
        repositoryUsage: undefined,
      },
    );
  });

  it('refuses bad quota input with 400', async () => {
    const bad: [string, unknown][] = [
      ['team', { size: 'lots' }],
      ['team', { size: -5 }],
      ['team', { size: '10 GiB', repositories: -1 }],
      ['team', { size: '10GiB', repositories: 1.5 }],
      ['team', { size: '10GiB', warnAt: 1.5 }],
      ['team', { size: '10GiB', warnAt: 0 }],
      ['team', { size: '10GiB', bytes: 3 }],
      ['team', {}],
      ['team', 'ten gigabytes'],
      ['Team', { size: '10GiB' }],
      ['team..x', { size: '10GiB' }],
    ];
    for (const [namespace, body] of bad) {
      const answer = await call('PUT', `/api/v1/quotas/${namespace}`, ROOT, { json: body });
      assert.equal(answer.status, 400, `${namespace} ${JSON.stringify(body)}: ${answer.text}`);
      assert.equal(ociError(answer).code, 'INVALID_REQUEST');
    }
    const notJson = await call('PUT', '/api/v1/quotas/team', ROOT, { body: '{size:', headers: { 'content-type': 'application/json' } });
    assert.equal(notJson.status, 400);
    assert.equal((await call('GET', '/api/v1/quotas')).text.includes('"team"'), false, 'nothing was stored');
  });

  it('lets only administrators change quotas and read all usage; a namespace administrator reads its own', async () => {
    for (const who of [ALICE, BOB]) {
      assert.equal((await call('PUT', '/api/v1/quotas/team', who, { json: { size: '1GiB' } })).status, 403);
      assert.equal((await call('DELETE', '/api/v1/quotas/team', who)).status, 403);
      assert.equal((await call('GET', '/api/v1/quotas', who)).status, 403);
      assert.equal((await call('GET', '/api/v1/usage', who)).status, 403);
      assert.equal((await call('GET', '/api/v1/usage/namespaces/fixed', who)).status, 403);
    }
    assert.equal((await call('GET', '/api/v1/usage/namespaces/team', ALICE)).status, 200);
    assert.equal((await call('GET', '/api/v1/usage/namespaces/team', BOB)).status, 403);
    for (const path of ['/api/v1/quotas', '/api/v1/usage', '/api/v1/usage/namespaces/team']) {
      assert.equal((await call('GET', path, null)).status, 401, path);
    }
    assert.equal((await call('GET', '/api/v1/usage/namespaces/Bad')).status, 400);
  });

  it('accepts pushes within the quota, counting a layer shared by two repositories once', async () => {
    await setQuota('team', { size: 100_000, repositories: 2 });
    const shared = randomBytes(20_000);
    const app = await imageBlobs('team/app', [shared, 5_000]);
    assert.equal((await putManifest('team/app', 'v1', app)).status, 201);
    const tool = await imageBlobs('team/tool', [shared, 3_000]);
    assert.equal((await putManifest('team/tool', 'v1', tool)).status, 201);

    const report = await usage('team');
    assert.equal(report.bytes, imageBytes(app) + imageBytes(tool) - shared.length, 'the shared layer counts once');
    assert.equal(report.repositories, 2);
    assert.deepEqual(
      report.repositoryUsage?.map((r) => [r.repository, r.bytes, r.blobs, r.manifests, r.tags]),
      [
        ['team/app', imageBytes(app), 4, 1, 1],
        ['team/tool', imageBytes(tool), 4, 1, 1],
      ],
    );
    const all = await call('GET', '/api/v1/usage');
    const namespaces = (JSON.parse(all.text) as { namespaces: UsageJson[] }).namespaces;
    assert.deepEqual(
      namespaces.map((n) => [n.namespace, n.bytes, n.repositories, n.quota?.size]),
      [
        ['fixed', 0, 0, 2 ** 20],
        ['team', report.bytes, 2, 100_000],
      ],
    );
  });

  it('refuses a repository beyond the repository limit, and still takes pushes into existing ones', async () => {
    const third = await imageBlobs('team/third', [100]);
    const refused = await putManifest('team/third', 'v1', third);
    assert.equal(refused.status, 403, refused.text);
    assert.deepEqual(ociError(refused), { code: 'DENIED', message: 'quota exceeded: team has 2 of 2 repositories' });
    assert.equal((await call('GET', '/v2/team/third/manifests/v1')).status, 404);
    const more = await imageBlobs('team/app', [100]);
    assert.equal((await putManifest('team/app', 'v2', more)).status, 201);
  });

  it('refuses a monolithic upload larger than what is left before storing its bytes', async () => {
    const before = await usage('team');
    const left = 100_000 - before.bytes;
    const big = randomBytes(left + 1);
    const refused = await upload('team/app', big);
    assert.equal(refused.status, 403, refused.text);
    const error = ociError(refused);
    assert.equal(error.code, 'DENIED');
    assert.match(error.message, /^quota exceeded: team uses \d+(\.\d)? KiB of 97\.6 KiB, and this upload is \d+(\.\d)? KiB$/);
    assert.equal(await blobStored(sha256(big)), false, 'no blob written');
    assert.deepEqual(await uploadsInProgress(), [], 'no upload left behind');
    assert.equal((await call('HEAD', `/v2/team/app/blobs/${sha256(big)}`)).status, 404);
    assert.equal((await usage('team')).bytes, before.bytes);
    // What fits still goes in.
    const fits = randomBytes(Math.min(left, 1000));
    assert.equal((await upload('team/app', fits)).status, 201);
  });

  it('refuses a chunk whose Content-Length or Content-Range passes the quota, appending nothing', async () => {
    const started = await call('POST', '/v2/team/app/blobs/uploads/');
    assert.equal(started.status, 202, started.text);
    const location = started.headers.get('location') ?? '';
    const left = 100_000 - (await usage('team')).bytes;
    const chunk = randomBytes(left + 10);
    const patched = await call('PATCH', location, ROOT, { body: chunk, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(patched.status, 403, patched.text);
    assert.match(ociError(patched).message, /^quota exceeded: team uses .* and this upload is/);
    const ranged = await call('PATCH', location, ROOT, {
      body: chunk,
      headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${chunk.length - 1}` },
    });
    assert.equal(ranged.status, 403, ranged.text);
    const status = await call('GET', location);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-0', 'nothing appended');
    // A small chunk fits, and completing the upload counts it.
    const small = randomBytes(10);
    assert.equal(
      (await call('PATCH', location, ROOT, { body: small, headers: { 'content-type': 'application/octet-stream' } })).status,
      202,
    );
    const completed = await call('PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${sha256(small)}`, ROOT);
    assert.equal(completed.status, 201, completed.text);
    assert.equal(await blobStored(sha256(chunk)), false);
  });

  it('refuses a manifest PUT that would pass the quota, with a message skopeo prints', async () => {
    // The image's blobs are in (they fit); then the quota is lowered to what the namespace holds
    // now, so only the manifest, the last step of a push, no longer fits.
    const layout = await ociLayout(join(dir, 'layout'), [randomBytes(4000)]);
    for (const blob of layout.blobs) await pushBlob('team/app', blob, MEDIA.ociLayer);
    const held = (await usage('team')).bytes;
    await setQuota('team', { size: held, repositories: 2 });
    const expected = `quota exceeded: team uses ${formatByteSize(held)} of ${formatByteSize(held)}, and this manifest is ${formatByteSize(layout.manifest.bytes.length)}`;
    const refused = await putManifest('team/app', 'direct', layout.manifest);
    assert.equal(refused.status, 403);
    assert.deepEqual(ociError(refused), { code: 'DENIED', message: expected });

    const clients = await ContainerClients.create();
    try {
      const copy = clients.skopeo([
        'copy',
        '--dest-tls-verify=false',
        '--dest-creds',
        'root:root-password',
        `oci:${layout.path}:v1`,
        `docker://${registry.hostPort}/team/app:v3`,
      ]);
      await assert.rejects(copy, (error: unknown) => {
        assert.ok(error instanceof ClientCommandError);
        // skopeo prints the error code as Distribution's errcode names it, then our message.
        assert.ok(error.stderr.includes(`denied: ${expected}`), error.stderr);
        return true;
      });
    } finally {
      await clients.cleanup();
    }
    assert.equal((await call('GET', '/v2/team/app/manifests/v3')).status, 404);
    assert.equal((await call('GET', '/v2/team/app/manifests/direct')).status, 404);
    await setQuota('team', { size: 100_000, repositories: 2 });
  });

  it('frees the space of a deleted manifest and its unlinked blobs', async () => {
    const before = await usage('team');
    const manifest = await call('GET', '/v2/team/tool/manifests/v1', ROOT, {
      headers: { accept: MEDIA.ociManifest },
    });
    assert.equal(manifest.status, 200);
    const digest = manifest.headers.get('docker-content-digest') ?? '';
    const parsed = JSON.parse(manifest.text) as { config: Descriptor; layers: Descriptor[] };
    assert.equal((await call('DELETE', `/v2/team/tool/manifests/${digest}`)).status, 202);
    for (const blob of [parsed.config, ...parsed.layers]) {
      assert.equal((await call('DELETE', `/v2/team/tool/blobs/${blob.digest}`)).status, 202);
    }
    const after = await usage('team');
    // The shared layer is still linked in team/app: only what team/tool alone held is freed.
    const sharedSize = parsed.layers[0]?.size ?? 0;
    const freed = Buffer.byteLength(manifest.text) + parsed.config.size + parsed.layers.reduce((sum, l) => sum + l.size, 0) - sharedSize;
    assert.equal(after.bytes, before.bytes - freed);
    assert.equal(after.repositories, 1);
    // And the repository slot is free again.
    const again = await imageBlobs('team/third', [100]);
    assert.equal((await putManifest('team/third', 'v1', again)).status, 201);
  });
});

/** An OCI image layout with one image (tag v1): its config and the given layers. */
async function ociLayout(path: string, layers: readonly Buffer[]): Promise<{ path: string; manifest: BuiltManifest; blobs: Buffer[] }> {
  const blobsDir = join(path, 'blobs', 'sha256');
  await mkdir(blobsDir, { recursive: true });
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: randomBytes(8).toString('hex') }),
  );
  const write = async (bytes: Buffer): Promise<void> => writeFile(join(blobsDir, sha256(bytes).slice('sha256:'.length)), bytes);
  await write(config);
  for (const layer of layers) await write(layer);
  const manifest = ociManifest(
    { mediaType: MEDIA.ociConfig, digest: sha256(config), size: config.length },
    layers.map((layer) => ({ mediaType: MEDIA.ociLayer, digest: sha256(layer), size: layer.length })),
  );
  await write(manifest.bytes);
  await writeFile(join(path, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(path, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: MEDIA.ociManifest,
          digest: manifest.digest,
          size: manifest.bytes.length,
          annotations: { 'org.opencontainers.image.ref.name': 'v1' },
        },
      ],
    }),
  );
  return { path, manifest, blobs: [config, ...layers] };
}
