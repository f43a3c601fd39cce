// The audit log and the events admin API against a running Berth with authentication: writes,
// denials and their actors are listed with filters and a cursor, and no password (nor its Basic
// encoding) is anywhere in the database; an event is listed with its delivery and redelivered on
// request. Then two replicas on one PostgreSQL with one endpoint: each event reaches it once,
// pull events (written in batches) included.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { callRegistry } from '../helpers/call.js';
import { artifact, authConfig, DEV, pushEmptyConfig, putManifest, ROOT, writeUsers } from '../helpers/lifecycle.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { basicAuthorization } from '../helpers/credentials.js';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';

function endpoint(receiver: WebhookReceiver): string {
  return [
    'notifications:',
    '  endpoints:',
    '    - name: receiver',
    `      url: ${receiver.url}`,
    '      backoff: 100ms',
    '      allowprivateaddresses: true',
    '      secret: s3cret-signing-key',
  ].join('\n');
}

interface AuditPage {
  entries: { id: string; actor?: string; action: string; outcome: string; repository?: string; status?: number; requestId?: string }[];
  next?: string;
}

describe('audit log and events admin API', { concurrency: false }, () => {
  let receiver: WebhookReceiver;
  let registry: TestRegistry | undefined;

  before(async () => {
    receiver = await WebhookReceiver.start();
    const dir = await mkdtemp(join(tmpdir(), 'berth-audit-'));
    registry = await startRegistry({ extraConfig: [authConfig(await writeUsers(dir)), endpoint(receiver)].join('\n') });
  });

  after(async () => {
    await registry?.stop();
    await receiver.close();
  });

  it('records writes and denials with actor and outcome, pages by cursor, and never a password', async () => {
    assert.ok(registry);
    await pushEmptyConfig(registry, 'audit/app', DEV);
    const pushed = artifact();
    assert.equal((await putManifest(registry, 'audit/app', 'v1', pushed, DEV)).status, 201);
    const wrong = basicAuthorization('dev', 'not-the-password');
    assert.equal((await callRegistry(registry, 'GET', '/v2/audit/app/tags/list', wrong)).status, 401);

    const all = await callRegistry(registry, 'GET', '/api/v1/audit?limit=50', ROOT);
    assert.equal(all.status, 200, all.text);
    const page = JSON.parse(all.text) as AuditPage;
    const put = page.entries.find((e) => e.action === 'manifest.put');
    assert.ok(put, all.text);
    assert.equal(put.actor, 'dev');
    assert.equal(put.outcome, 'success');
    assert.equal(put.repository, 'audit/app');
    assert.equal(put.status, 201);
    assert.match(put.requestId ?? '', /^[0-9a-f-]{36}$/);
    assert.ok(
      page.entries.some((e) => e.outcome === 'denied' && e.status === 401 && e.repository === 'audit/app'),
      all.text,
    );

    // Filters and the cursor: one entry per page, the second page continues after the first.
    const first = JSON.parse((await callRegistry(registry, 'GET', '/api/v1/audit?actor=dev&limit=1', ROOT)).text) as AuditPage;
    assert.equal(first.entries.length, 1);
    assert.ok(first.next);
    const second = JSON.parse(
      (await callRegistry(registry, 'GET', `/api/v1/audit?actor=dev&limit=1&before=${first.next}`, ROOT)).text,
    ) as AuditPage;
    assert.equal(second.entries.length, 1);
    assert.ok((second.entries[0]?.id ?? '') < (first.entries[0]?.id ?? ''));
    assert.equal((await callRegistry(registry, 'GET', '/api/v1/audit?since=yesterday-ish', ROOT)).status, 400);
    // Only administrators read it.
    assert.equal((await callRegistry(registry, 'GET', '/api/v1/audit', DEV)).status, 403);

    // No password, nor its Basic encoding, anywhere in the database files.
    const secrets = ['dev-password', 'root-password', 'not-the-password', DEV.slice(6), ROOT.slice(6), wrong.slice(6)];
    for (const file of (await readdir(registry.dataDir)).filter((name) => name.startsWith('berth.db'))) {
      const bytes: Buffer = await readFile(join(registry.dataDir, file));
      for (const secret of secrets) assert.equal(bytes.includes(secret), false, `${file} holds ${secret}`);
    }
  });

  it('lists an event with its delivery, signs it, and redelivers it on request', async () => {
    assert.ok(registry);
    await receiver.waitFor(() => receiver.delivered().some((e) => e.action === 'push'), 'the push event');
    const request = receiver.requests.find((r) => r.status === 200);
    assert.ok(request);
    const { createHmac } = await import('node:crypto');
    assert.equal(
      request.headers['x-berth-signature-256'],
      `sha256=${createHmac('sha256', 's3cret-signing-key').update(request.body).digest('hex')}`,
    );

    const list = JSON.parse((await callRegistry(registry, 'GET', '/api/v1/events?action=push&repository=audit/app', ROOT)).text) as {
      events: { id: string; action: string; tag?: string }[];
    };
    const event = list.events[0];
    assert.ok(event && event.tag === 'v1', JSON.stringify(list));
    const detail = JSON.parse((await callRegistry(registry, 'GET', `/api/v1/events/${event.id}`, ROOT)).text) as {
      deliveries: { endpoint: string; state: string; attempts: number; responseCode?: number }[];
    };
    assert.deepEqual(
      detail.deliveries.map((d) => [d.endpoint, d.state, d.responseCode]),
      [['config:receiver', 'delivered', 200]],
    );
    const before = receiver.delivered().filter((e) => e.id === event.id).length;
    const again = await callRegistry(registry, 'POST', `/api/v1/events/${event.id}/redeliver`, ROOT, { json: {} });
    assert.equal(again.status, 202, again.text);
    await receiver.waitFor(() => receiver.delivered().filter((e) => e.id === event.id).length > before, 'the redelivery');
    assert.equal((await callRegistry(registry, 'POST', '/api/v1/events/nope/redeliver', ROOT, { json: {} })).status, 404);
  });
});

describe('two replicas on one PostgreSQL', { concurrency: false }, () => {
  let receiver: WebhookReceiver;
  let postgres: TestPostgres | undefined;
  const replicas: TestRegistry[] = [];

  before(async () => {
    receiver = await WebhookReceiver.start();
    postgres = await startPostgres();
    const shared = await mkdtemp(join(tmpdir(), 'berth-events-shared-'));
    const env = { BERTH_METADATA_POSTGRES_URL: postgres.url, REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: shared };
    replicas.push(await startRegistry({ env, extraConfig: endpoint(receiver) }));
    replicas.push(await startRegistry({ env, extraConfig: endpoint(receiver) }));
  });

  after(async () => {
    await Promise.allSettled(replicas.map((replica) => replica.stop()));
    await postgres?.stop();
    await receiver.close();
  });

  it('sends each event to the endpoint once, whichever replica recorded it', async () => {
    const [a, b] = replicas;
    assert.ok(a && b);
    await pushEmptyConfig(a, 'pair/app');
    await pushEmptyConfig(b, 'pair/app');
    const count = 20;
    await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const answer = await putManifest(i % 2 === 0 ? a : b, 'pair/app', `t${i}`, artifact());
        assert.equal(answer.status, 201, answer.text);
      }),
    );
    await receiver.waitFor(() => new Set(receiver.delivered().map((e) => e.id)).size >= count, `${count} events`);
    // Both deliverers poll every second: give a double delivery time to show.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const events = receiver.delivered();
    assert.equal(events.length, count, 'no event was sent twice');
    assert.deepEqual(new Set(events.map((e) => e.target.tag)), new Set(Array.from({ length: count }, (_, i) => `t${i}`)));
    assert.equal(new Set(events.map((e) => e.source.instanceID)).size, 2, 'both replicas recorded events');
  });

  it('sends each pull event once, in the batches each replica wrote', async () => {
    const [a, b] = replicas;
    assert.ok(a && b);
    const pulls = 40;
    for (let i = 0; i < pulls; i += 8) {
      await Promise.all(
        Array.from({ length: 8 }, async (_, j) => {
          const answer = await callRegistry((i + j) % 2 === 0 ? a : b, 'GET', `/v2/pair/app/manifests/t${(i + j) % 20}`, undefined, {
            headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
          });
          assert.equal(answer.status, 200, answer.text);
        }),
      );
    }
    const pulled = (): ReturnType<WebhookReceiver['delivered']> => receiver.delivered().filter((e) => e.action === 'pull');
    await receiver.waitFor(() => new Set(pulled().map((e) => e.id)).size >= pulls, `${pulls} pull events`);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const events = pulled();
    assert.equal(events.length, pulls, 'no pull event was sent twice');
    assert.equal(new Set(events.map((e) => e.id)).size, pulls);
    assert.equal(new Set(events.map((e) => e.source.instanceID)).size, 2, 'both replicas recorded pulls');
  });
});
