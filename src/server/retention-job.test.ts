// Scheduled retention as buildApp assembles it (one process, a real SQLite file and filesystem
// store): no job unless retention.interval is set; with it, the job applies the file's policies
// (retention.dryrun only plans). The job is run with runNow instead of waiting for its interval.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { parseConfig } from '../config/index.js';
import { MediaType, parseRepositoryName } from '../oci/index.js';
import { buildApp, type BerthApp } from './build-app.js';

const POLICY = ['  policies:', '    - {repositories: "team/*", keeplast: 1}'];

async function withApp(retentionLines: string[], body: (app: BerthApp) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-retention-job-'));
  const yaml = [`storage: {filesystem: {rootdirectory: ${JSON.stringify(join(dir, 'data'))}}}`, 'retention:', ...retentionLines].join('\n');
  const app = await buildApp(parseConfig(yaml, { cwd: dir }), pino({ level: 'silent' }));
  try {
    await body(app);
  } finally {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Pushes two tags a few milliseconds apart (an empty index each, which needs no blobs). */
async function pushTwoTags(app: BerthApp): Promise<void> {
  for (const tag of ['older', 'newer']) {
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [], annotations: { tag } }));
    await app.registry.manifests.put({
      repository: parseRepositoryName('team/app'),
      reference: { kind: 'tag', tag },
      bytes,
      contentType: MediaType.ociIndex,
    });
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
}

const tags = async (app: BerthApp): Promise<string[]> => (await app.registry.metadata.listTags('team/app', {})).items;

describe('scheduled retention', () => {
  it('is not scheduled without retention.interval, even with policies', async () => {
    await withApp(POLICY, async (app) => {
      assert.ok(!app.jobs.jobNames.includes('retention'));
    });
  });

  it('applies the policies when it runs', async () => {
    await withApp(['  interval: 24h', ...POLICY], async (app) => {
      assert.ok(app.jobs.jobNames.includes('retention'));
      await pushTwoTags(app);
      assert.equal(await app.jobs.runNow('retention'), 'done');
      assert.deepEqual(await tags(app), ['newer']);
    });
  });

  it('with retention.dryrun only plans', async () => {
    await withApp(['  interval: 24h', '  dryrun: true', ...POLICY], async (app) => {
      await pushTwoTags(app);
      assert.equal(await app.jobs.runNow('retention'), 'done');
      assert.deepEqual(await tags(app), ['newer', 'older']);
    });
  });
});
