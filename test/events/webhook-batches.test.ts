// Deliveries in batches, against a real HTTP receiver started here: events that wait together
// (the receiver was down while a dozen manifests were pushed) arrive in one request, in
// Distribution's envelope, in the order they happened, with X-Berth-Event-Id listing their ids
// and a signature of that exact body; a failed request counts an attempt for every event it
// carried.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { artifact, pushEmptyConfig, putManifest } from '../helpers/lifecycle.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { WebhookReceiver, type ReceivedEvent } from '../helpers/webhook-receiver.js';

const SECRET = 'batches-secret-0123456789';
const TAGS = Array.from({ length: 12 }, (_, i) => `t${String(i).padStart(2, '0')}`);

describe('webhooks: events that wait together go in one request', { concurrency: false }, () => {
  let receiver: WebhookReceiver;
  let registry: TestRegistry | undefined;

  before(async () => {
    receiver = await WebhookReceiver.start();
    registry = await startRegistry({
      extraConfig: [
        'notifications:',
        '  endpoints:',
        '    - name: receiver',
        `      url: ${receiver.url}`,
        `      secret: ${SECRET}`,
        '      timeout: 2s',
        '      threshold: 1',
        '      backoff: 100ms',
        '      maxbackoff: 500ms',
        '      allowprivateaddresses: true',
      ].join('\n'),
    });
  });

  after(async () => {
    await registry?.stop();
    await receiver.close();
  });

  it('sends the pushes made while the receiver refused them in one envelope, in order, each id listed once', async () => {
    assert.ok(registry);
    await pushEmptyConfig(registry, 'batch/app');
    // The receiver answers 503: every event is recorded and stays pending.
    receiver.status = 503;
    for (const tag of TAGS) {
      const answer = await putManifest(registry, 'batch/app', tag, artifact());
      assert.equal(answer.status, 201, answer.text);
    }
    await receiver.waitFor(() => receiver.requests.length > 0, 'a refused attempt');
    receiver.status = 200;
    await receiver.waitFor(() => receiver.delivered().length >= TAGS.length, 'the pushes');

    const events = receiver.delivered();
    assert.deepEqual(
      events.map((e) => e.target.tag),
      TAGS,
    );
    const accepted = receiver.requests.filter((r) => r.status === 200);
    assert.ok(accepted.length < TAGS.length, `${accepted.length} requests for ${TAGS.length} events: some carried several`);
    for (const request of accepted) {
      const body = JSON.parse(request.body.toString()) as { events: ReceivedEvent[] };
      assert.equal(request.headers['x-berth-event-id'], body.events.map((e) => e.id).join(','), 'the header lists the body’s ids');
      assert.equal(request.headers['x-berth-signature-256'], `sha256=${createHmac('sha256', SECRET).update(request.body).digest('hex')}`);
    }
    // Every refused request carried events that were sent again later: nothing was lost or skipped.
    const refusedIds = receiver.requests
      .filter((r) => r.status === 503)
      .flatMap((r) => (JSON.parse(r.body.toString()) as { events: ReceivedEvent[] }).events.map((e) => e.id));
    const deliveredIds = new Set(events.map((e) => e.id));
    assert.ok(refusedIds.length > 0);
    for (const id of refusedIds) assert.ok(deliveredIds.has(id), `${id} was delivered after it was refused`);
  });

  it('keeps each event’s history: one delivery per event, delivered, with the attempts it took', () => {
    assert.ok(registry);
    const db = new Database(join(registry.dataDir, 'berth.db'), { readonly: true, fileMustExist: true });
    try {
      const rows = db
        .prepare(
          `select e.tag, d.state, d.attempts, d.response_code as responseCode from event_deliveries d
           join events e on e.id = d.event_id order by e.id`,
        )
        .all() as { tag: string; state: string; attempts: number; responseCode: number }[];
      assert.deepEqual(
        rows.map((row) => [row.tag, row.state, row.responseCode]),
        TAGS.map((tag) => [tag, 'delivered', 200]),
      );
      // The first event was in a refused request: it took a failed attempt before the one that delivered it.
      assert.ok((rows[0]?.attempts ?? 0) >= 2, JSON.stringify(rows));
    } finally {
      db.close();
    }
  });
});
