// Pull events in batches (docs/events.md#pull-batches), against real HTTP receivers started here:
// a hundred manifest pulls of three repositories by two users become a few outbox rows, and every
// pull event arrives once, with an id of its own, in Distribution's envelope at one endpoint and
// as one CloudEvent per request at another; the admin API lists them by repository, action and
// actor a page at a time, finds one inside its batch by id and redelivers its batch.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { callRegistry } from '../helpers/call.js';
import { artifact, authConfig, DEV, pushEmptyConfig, putManifest, ROOT, writeUsers } from '../helpers/lifecycle.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { WebhookReceiver, type ReceivedEvent } from '../helpers/webhook-receiver.js';

const V1 = 'application/vnd.docker.distribution.events.v1+json';
const REPOSITORIES = ['pulls/one', 'pulls/two', 'pulls/three'];
/** Pulls by dev of each repository; root pulls the first REPOSITORY ROOT_PULLS times more. */
const DEV_PULLS = 30;
const ROOT_PULLS = 10;
const TOTAL = REPOSITORIES.length * DEV_PULLS + ROOT_PULLS;

function endpoints(envelope: WebhookReceiver, cloud: WebhookReceiver): string {
  const common = [
    '      timeout: 2s',
    '      threshold: 1',
    '      backoff: 100ms',
    '      maxbackoff: 500ms',
    '      allowprivateaddresses: true',
  ];
  return [
    'notifications:',
    '  endpoints:',
    '    - name: envelope',
    `      url: ${envelope.url}`,
    ...common,
    '    - name: cloud',
    `      url: ${cloud.url}`,
    '      format: cloudevents',
    ...common,
  ].join('\n');
}

interface ListedEvent {
  id: string;
  action: string;
  repository?: string;
  actor?: string;
  event: ReceivedEvent;
  batch?: { id: string; size: number };
}

interface CloudEventBody {
  id: string;
  type: string;
  subject?: string;
  data: ReceivedEvent;
}

describe('pull events in batches', { concurrency: false }, () => {
  let envelope: WebhookReceiver;
  let cloud: WebhookReceiver;
  let registry: TestRegistry | undefined;
  const pulls = (): ReceivedEvent[] => envelope.delivered().filter((event) => event.action === 'pull');
  const cloudPulls = (): CloudEventBody[] =>
    cloud.requests
      .filter((request) => request.status === 200)
      .map((request) => JSON.parse(request.body.toString()) as CloudEventBody)
      .filter((event) => event.data.action === 'pull');

  before(async () => {
    envelope = await WebhookReceiver.start();
    cloud = await WebhookReceiver.start();
    const dir = await mkdtemp(join(tmpdir(), 'berth-pull-batches-'));
    registry = await startRegistry({ extraConfig: [authConfig(await writeUsers(dir)), endpoints(envelope, cloud)].join('\n') });
  });

  after(async () => {
    await registry?.stop();
    await envelope.close();
    await cloud.close();
  });

  it('writes many pulls of several repositories as a few rows whose events all arrive once, each with its own id', async () => {
    assert.ok(registry);
    const live = registry;
    for (const repository of REPOSITORIES) {
      await pushEmptyConfig(live, repository);
      assert.equal((await putManifest(live, repository, 'v1', artifact())).status, 201);
    }
    const get = async (repository: string, authorization: string): Promise<void> => {
      const answer = await callRegistry(live, 'GET', `/v2/${repository}/manifests/v1`, authorization, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json', 'user-agent': 'pull-batches "test"' },
      });
      assert.equal(answer.status, 200, answer.text);
    };
    const work = [
      ...REPOSITORIES.flatMap((repository) => Array.from({ length: DEV_PULLS }, () => () => get(repository, DEV))),
      ...Array.from({ length: ROOT_PULLS }, () => () => get(REPOSITORIES[0] as string, ROOT)),
    ];
    for (let i = 0; i < work.length; i += 10) await Promise.all(work.slice(i, i + 10).map((pull) => pull()));

    await envelope.waitFor(() => pulls().length >= TOTAL, `${TOTAL} pull events in envelopes`);
    await cloud.waitFor(() => cloudPulls().length >= TOTAL, `${TOTAL} pull CloudEvents`);
    // Both deliverers poll every second: give a repeat time to show.
    await new Promise((resolve) => setTimeout(resolve, 1500));

    const events = pulls();
    assert.equal(events.length, TOTAL, 'each pull event arrived once');
    assert.equal(new Set(events.map((event) => event.id)).size, TOTAL, 'each with an id of its own');
    const count = (repository: string, actor?: string): number =>
      events.filter((event) => event.target.repository === repository && (actor === undefined || event.actor.name === actor)).length;
    assert.deepEqual(
      REPOSITORIES.map((repository) => count(repository)),
      [DEV_PULLS + ROOT_PULLS, DEV_PULLS, DEV_PULLS],
    );
    assert.equal(count(REPOSITORIES[0] as string, 'root'), ROOT_PULLS);
    for (const event of events) {
      assert.match(event.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(event.target.tag, 'v1');
      assert.equal(event.request.method, 'GET');
      assert.equal(event.request.useragent, 'pull-batches "test"');
      assert.match(event.target.url ?? '', new RegExp(`^/v2/${event.target.repository}/manifests/sha256:`));
    }
    // Distribution's envelope, the header naming exactly the body's events; several pulls per request.
    const carrying = envelope.requests.filter((request) => request.status === 200 && request.body.includes('"action":"pull"'));
    for (const request of carrying) {
      assert.equal(request.headers['content-type'], V1);
      const body = JSON.parse(request.body.toString()) as { events: ReceivedEvent[] };
      assert.equal(request.headers['x-berth-event-id'], body.events.map((event) => event.id).join(','));
    }
    assert.ok(carrying.length < TOTAL / 4, `${carrying.length} requests carried ${TOTAL} pulls`);

    // The outbox holds them as batch rows, far fewer than the pulls.
    const db = new Database(join(live.dataDir, 'berth.db'), { readonly: true, fileMustExist: true });
    try {
      const rows = db.prepare("select count(*) as rows, sum(batch_size) as events from events where action = 'pull'").get() as {
        rows: number;
        events: number;
      };
      assert.equal(rows.events, TOTAL);
      assert.ok(rows.rows < TOTAL / 4, `${rows.rows} rows for ${TOTAL} pulls`);
    } finally {
      db.close();
    }

    // The CloudEvents endpoint got the same events, one per request.
    const clouds = cloudPulls();
    assert.equal(clouds.length, TOTAL);
    assert.deepEqual(new Set(clouds.map((event) => event.id)), new Set(events.map((event) => event.id)));
    for (const event of clouds) {
      assert.equal(event.type, 'io.berth.manifest.pull');
      assert.equal(event.subject, `${event.data.target.repository}:v1`);
      assert.equal(event.data.id, event.id);
    }
    for (const request of cloud.requests) assert.match(String(request.headers['content-type']), /^application\/cloudevents\+json/);
  });

  it('lists pull events by repository, action and actor, a page at a time', async () => {
    assert.ok(registry);
    const repository = REPOSITORIES[0] as string;
    const walked: ListedEvent[] = [];
    let before: string | undefined;
    for (let page = 0; page < 20; page++) {
      const query = `action=pull&repository=${repository}&limit=7${before === undefined ? '' : `&before=${before}`}`;
      const answer = await callRegistry(registry, 'GET', `/api/v1/events?${query}`, ROOT);
      assert.equal(answer.status, 200, answer.text);
      const body = JSON.parse(answer.text) as { events: ListedEvent[]; next?: string };
      walked.push(...body.events);
      if (body.next === undefined) break;
      assert.equal(body.next, body.events.at(-1)?.id);
      before = body.next;
    }
    const delivered = pulls().filter((event) => event.target.repository === repository);
    assert.deepEqual(new Set(walked.map((event) => event.id)), new Set(delivered.map((event) => event.id)));
    assert.equal(walked.length, DEV_PULLS + ROOT_PULLS, 'no event listed twice');
    const ids = walked.map((event) => event.id);
    assert.deepEqual(ids, [...ids].sort().reverse(), 'newest first');
    for (const event of walked) {
      assert.equal(event.action, 'pull');
      assert.equal(event.repository, repository);
      assert.deepEqual(
        event.event,
        delivered.find((sent) => sent.id === event.id),
      );
      assert.ok(event.batch && event.batch.size >= 1);
    }
    const byRoot = JSON.parse((await callRegistry(registry, 'GET', `/api/v1/events?action=pull&actor=root&limit=100`, ROOT)).text) as {
      events: ListedEvent[];
    };
    assert.equal(byRoot.events.length, ROOT_PULLS);
    assert.ok(byRoot.events.every((event) => event.actor === 'root' && event.repository === repository));
  });

  it('finds a pull event inside its batch by id, and redelivers the batch', async () => {
    assert.ok(registry);
    const inside = pulls().find((event) => !event.id.endsWith('0000'));
    assert.ok(inside, 'some pull event is not the first of its batch');
    const answer = await callRegistry(registry, 'GET', `/api/v1/events/${inside.id}`, ROOT);
    assert.equal(answer.status, 200, answer.text);
    const found = JSON.parse(answer.text) as ListedEvent & { deliveries: { endpoint: string; eventId: string; state: string }[] };
    assert.equal(found.id, inside.id);
    assert.deepEqual(found.event, inside);
    assert.ok(found.batch && found.batch.size > 1, answer.text);
    const batch = found.batch;
    assert.deepEqual(
      found.deliveries.map((delivery) => [delivery.endpoint, delivery.eventId, delivery.state]),
      [
        ['config:cloud', batch.id, 'delivered'],
        ['config:envelope', batch.id, 'delivered'],
      ],
    );
    // An id just past the batch's last event names nothing.
    const past = `${batch.id.slice(0, -4)}${batch.size.toString(16).padStart(4, '0')}`;
    assert.equal((await callRegistry(registry, 'GET', `/api/v1/events/${past}`, ROOT)).status, 404);

    const members = pulls().filter((event) => event.id.slice(0, -4) === batch.id.slice(0, -4));
    assert.equal(members.length, batch.size);
    const before = envelope.requests.length;
    const again = await callRegistry(registry, 'POST', `/api/v1/events/${inside.id}/redeliver`, ROOT, {
      json: { endpoint: 'config:envelope' },
    });
    assert.equal(again.status, 202, again.text);
    assert.deepEqual(JSON.parse(again.text), { redelivered: 1 });
    await envelope.waitFor(
      () => members.every((member) => pulls().filter((event) => event.id === member.id).length === 2),
      'the batch sent again',
    );
    const resent = envelope.requests.slice(before).filter((request) => request.status === 200);
    assert.deepEqual(
      resent.flatMap((request) => (JSON.parse(request.body.toString()) as { events: ReceivedEvent[] }).events.map((event) => event.id)),
      members.map((member) => member.id),
      'the whole batch, in order, and nothing else',
    );
    assert.equal((await callRegistry(registry, 'POST', `/api/v1/events/${past}/redeliver`, ROOT, { json: {} })).status, 404);
  });
});
