// buildApp wired end to end in one process (Fastify inject, a real SQLite file and a real
// filesystem store): the health probes, and that configuration reaches the layers.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { parseConfig } from '../config/index.js';
import { buildApp, type BerthApp } from './build-app.js';

describe('buildApp', () => {
  let dir: string;
  let app: BerthApp;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-build-'));
    const config = parseConfig('', { cwd: dir, env: { REGISTRY_STORAGE_DELETE_ENABLED: 'true' } });
    app = await buildApp(config, pino({ level: 'silent' }));
  });
  after(async () => {
    await app.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('answers /healthz and /readyz with the state of storage and metadata', async () => {
    const live = await app.http.inject('/healthz');
    assert.equal(live.statusCode, 200);
    const ready = await app.http.inject('/readyz');
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(JSON.parse(ready.body), { status: 'ok', checks: { storage: 'ok', metadata: 'ok' } });
  });

  it('reports storage.delete.enabled through to the API (a DELETE of an unknown manifest is 404, not 405)', async () => {
    const response = await app.http.inject({ method: 'DELETE', url: '/v2/a/manifests/latest' });
    assert.equal(response.statusCode, 404);
    assert.equal(JSON.parse(response.body).errors[0].code, 'MANIFEST_UNKNOWN');
  });

  it('/readyz answers 503 naming the failing dependency when the database is gone', async () => {
    await app.registry.metadata.close();
    const ready = await app.http.inject('/readyz');
    assert.equal(ready.statusCode, 503);
    const body = JSON.parse(ready.body) as { status: string; checks: { storage: string; metadata: string } };
    assert.equal(body.status, 'failing');
    assert.equal(body.checks.storage, 'ok');
    assert.match(body.checks.metadata, /^failing: /);
  });
});
