// `berth import distribution` on a tree written by Distribution 3.0.0 (the current release,
// ../shared/reference/): an image, an untagged manifest, a two-platform index, a deleted
// manifest and an unfinished upload, copied and served by Berth with the reference's bytes and
// digests. Skipped where the binary is not beside this checkout.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startRegistry } from '../helpers/registry.js';
import { DISTRIBUTION_3, getManifest, OCI_INDEX, OCI_MANIFEST, Pusher, runImport, startDistribution, summaryCount } from './support.js';

const skip = existsSync(DISTRIBUTION_3) ? false : `${DISTRIBUTION_3} not found`;

describe('berth import distribution (tree written by Distribution 3.0.0)', { skip }, () => {
  let dir = '';

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('imports every manifest and tag with the reference’s digests', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-import-3-'));
    const root = join(dir, 'dist');
    const distribution = await startDistribution(join(dir, 'dist-config'), { root }, DISTRIBUTION_3);
    const served = new Map<string, Buffer>();
    let deleted = '';
    try {
      const pusher = new Pusher(distribution.url);
      const amd64 = await pusher.image('three/app', '1');
      const arm64 = await pusher.image('three/app', undefined, 2048);
      const child = (image: { digest: string; bytes: Buffer }, architecture: string) => ({
        mediaType: OCI_MANIFEST,
        digest: image.digest,
        size: image.bytes.length,
        platform: { os: 'linux', architecture },
      });
      await pusher.manifest(
        'three/app',
        'multi',
        { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [child(amd64, 'amd64'), child(arm64, 'arm64')] },
        OCI_INDEX,
      );
      const gone = await pusher.image('three/app', 'old');
      await pusher.deleteManifest('three/app', gone.digest);
      deleted = gone.digest;
      await pusher.unfinishedUpload('three/app');
      for (const reference of ['1', 'multi', arm64.digest]) {
        const got = await pusher.get('three/app', reference);
        assert.ok(got, reference);
        served.set(reference, got.bytes);
      }
    } finally {
      await distribution.stop();
    }

    const data = join(dir, 'berth');
    const config = join(dir, 'berth.yml');
    await writeFile(config, `storage:\n  filesystem:\n    rootdirectory: ${JSON.stringify(data)}\n`);
    const run = await runImport([distribution.configFile, '--config', config]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(summaryCount(run.stdout, 'tags'), 2);
    assert.equal(summaryCount(run.stdout, 'manifests'), 3);
    assert.equal(summaryCount(run.stdout, 'unfinished uploads skipped'), 1);
    const registry = await startRegistry({ dataDir: data });
    try {
      for (const [reference, bytes] of served) {
        const got = await getManifest(registry.url, 'three/app', reference);
        assert.ok(got?.bytes.equals(bytes), `three/app:${reference} served with the same bytes`);
      }
      assert.equal(await getManifest(registry.url, 'three/app', deleted), undefined);
    } finally {
      await registry.stop();
    }
  });
});
