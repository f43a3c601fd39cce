// `berth import distribution` of a tree docker-registry 2.8 wrote into an S3 bucket (Ceph RGW),
// found through Distribution's own config.yml: imported in place (Berth's S3 root set to the
// tree's docker/registry/v2, no bytes copied) and copied into a filesystem, then served by Berth
// with the reference's digests and pulled with skopeo. Without Ceph the file fails, unless
// BERTH_SKIP_S3=1 asks to skip it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ContainerClients, dockerRef, readDirImage, sha256Digest } from '../helpers/clients.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { s3Environment, startS3OrSkip, type TestS3 } from '../helpers/s3.js';
import { getManifest, OCI_INDEX, Pusher, runImport, startDistribution, summaryCount } from './support.js';

const s3OrSkip = await startS3OrSkip();

describe('berth import distribution (S3 tree written by docker-registry 2.8)', {
  concurrency: false,
  skip: typeof s3OrSkip === 'string' && s3OrSkip,
}, () => {
  let dir = '';
  let distConfig = '';
  /** Distribution's rootdirectory in the bucket, fresh for this run. */
  const root = `/dist-${randomBytes(4).toString('hex')}`;
  let clients: ContainerClients | undefined;
  const served = new Map<string, Buffer>();
  let deleted = '';

  const s3 = (): TestS3 => {
    assert.ok(typeof s3OrSkip !== 'string');
    return s3OrSkip;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-import-s3-'));
    const { endpoint, bucket, region, accessKey, secretKey } = s3();
    const distribution = await startDistribution(join(dir, 'dist-config'), {
      s3: { endpoint, bucket, region, accessKey, secretKey, rootdirectory: root },
    });
    distConfig = distribution.configFile;
    try {
      const pusher = new Pusher(distribution.url);
      const amd64 = await pusher.image('s3/app', '1', 64 * 1024);
      const arm64 = await pusher.image('s3/app', undefined, 32 * 1024);
      await pusher.manifest(
        's3/app',
        'multi',
        {
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: [
            {
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              digest: amd64.digest,
              size: amd64.bytes.length,
              platform: { os: 'linux', architecture: 'amd64' },
            },
            {
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              digest: arm64.digest,
              size: arm64.bytes.length,
              platform: { os: 'linux', architecture: 'arm64' },
            },
          ],
        },
        OCI_INDEX,
      );
      const gone = await pusher.image('s3/app', 'old');
      await pusher.deleteManifest('s3/app', gone.digest);
      deleted = gone.digest;
      await pusher.unfinishedUpload('s3/app');
      await pusher.image('s3/other/nested', 'v1');
      for (const [repository, reference] of [
        ['s3/app', '1'],
        ['s3/app', 'multi'],
        ['s3/app', arm64.digest],
        ['s3/other/nested', 'v1'],
      ] as const) {
        const got = await pusher.get(repository, reference);
        assert.ok(got, `${repository}:${reference}`);
        served.set(`${repository}|${reference}`, got.bytes);
      }
    } finally {
      await distribution.stop();
    }
    clients = await ContainerClients.create();
  });

  after(async () => {
    await clients?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
    if (typeof s3OrSkip !== 'string') await s3OrSkip.stop();
  });

  async function assertServedAsReference(registry: TestRegistry): Promise<void> {
    for (const [key, bytes] of served) {
      const [repository = '', reference = ''] = key.split('|');
      const got = await getManifest(registry.url, repository, reference);
      assert.ok(got, `${repository}:${reference} is served`);
      assert.ok(got.bytes.equals(bytes), `${repository}:${reference} served with the same bytes`);
      assert.equal(got.digest, sha256Digest(bytes));
    }
    assert.equal(await getManifest(registry.url, 's3/app', deleted), undefined);
    assert.ok(clients);
    const target = `${await clients.scratchDir('s3-pull')}/image`;
    const copied = await clients.skopeoCopy(dockerRef(registry.hostPort, 's3/app', '1'), `dir:${target}`);
    const expected = sha256Digest(served.get('s3/app|1') ?? Buffer.alloc(0));
    assert.equal(copied.digest, expected);
    assert.equal(sha256Digest((await readDirImage(target)).manifestBytes), expected);
  }

  it('indexes the bucket in place from Distribution’s config.yml', async () => {
    const data = join(dir, 'berth-in-place');
    const berthConfig = join(dir, 'in-place.yml');
    await writeFile(berthConfig, `storage:\n  filesystem:\n    rootdirectory: ${JSON.stringify(data)}\n`);
    const env = s3Environment(s3(), `${root}/docker/registry/v2`);

    const wrongRoot = await runImport([distConfig, '--in-place', '--config', berthConfig], { env: s3Environment(s3(), root) });
    assert.equal(wrongRoot.code, 1);
    assert.match(
      wrongRoot.stderr,
      /--in-place needs Berth's storage.s3 to be bucket .* with rootdirectory \/dist-[0-9a-f]+\/docker\/registry\/v2/,
    );

    const run = await runImport([distConfig, '--in-place', '--verify', '--config', berthConfig], { env });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(summaryCount(run.stdout, 'repositories'), 2);
    assert.equal(summaryCount(run.stdout, 'tags'), 3);
    assert.equal(summaryCount(run.stdout, 'manifests'), 4);
    assert.equal(summaryCount(run.stdout, 'unfinished uploads skipped'), 1);
    assert.equal(summaryCount(run.stdout, 'problems'), 0);
    const registry = await startRegistry({ dataDir: data, env });
    try {
      await assertServedAsReference(registry);
    } finally {
      await registry.stop();
    }
  });

  it('copies the bucket into a filesystem', async () => {
    const data = join(dir, 'berth-copy');
    const berthConfig = join(dir, 'copy.yml');
    await writeFile(berthConfig, `storage:\n  filesystem:\n    rootdirectory: ${JSON.stringify(data)}\n`);
    const run = await runImport([distConfig, '--config', berthConfig]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(summaryCount(run.stdout, 'manifests'), 4);
    assert.match(run.stdout, /MiB copied/);
    const registry = await startRegistry({ dataDir: data });
    try {
      await assertServedAsReference(registry);
    } finally {
      await registry.stop();
    }
  });
});
