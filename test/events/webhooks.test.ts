// Webhooks from the outbox, against a real HTTP receiver started here: a push and a pull by
// skopeo and podman arrive in Distribution's envelope; a push refused inside its transaction
// (an immutable tag) emits nothing; a Berth SIGKILLed after the commit and before a successful
// delivery delivers after its restart; a receiver that is down gets every event once it is back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { ContainerClients, type BuiltImage } from '../helpers/clients.js';
import { artifact, pushEmptyConfig, putManifest } from '../helpers/lifecycle.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { WebhookReceiver, type ReceivedEvent } from '../helpers/webhook-receiver.js';

const V1 = 'application/vnd.docker.distribution.events.v1+json';

function endpointConfig(receiver: WebhookReceiver, extra: string[] = []): string {
  return [
    'notifications:',
    '  endpoints:',
    '    - name: receiver',
    `      url: ${receiver.url}`,
    '      headers: {X-Test-Token: [abc]}',
    '      timeout: 2s',
    '      threshold: 1',
    '      backoff: 100ms',
    '      maxbackoff: 500ms',
    '      allowprivateaddresses: true',
    ...extra.map((line) => `      ${line}`),
  ].join('\n');
}

/** The events the SQLite outbox of a registry holds (read beside the running server). */
function outboxRows(dataDir: string): { action: string; repository: string; tag: string | null }[] {
  const db = new Database(join(dataDir, 'berth.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('select action, repository, tag from events order by id').all() as {
      action: string;
      repository: string;
      tag: string | null;
    }[];
  } finally {
    db.close();
  }
}

describe('webhooks: skopeo push and podman pull in Distribution’s envelope', { concurrency: false }, () => {
  let receiver: WebhookReceiver;
  let registry: TestRegistry | undefined;
  let clients: ContainerClients | undefined;
  let image: BuiltImage;

  before(async () => {
    receiver = await WebhookReceiver.start();
    registry = await startRegistry({ extraConfig: endpointConfig(receiver) });
    clients = await ContainerClients.create();
    image = await clients.buildImage({ name: 'localhost/events/app:1', layers: [[100, 4096]] });
  });

  after(async () => {
    await clients?.cleanup();
    await registry?.stop();
    await receiver.close();
  });

  it('a push sends one push event per manifest with its tag, digest and media type', async () => {
    assert.ok(registry && clients);
    const pushed = await clients.skopeoCopy(`containers-storage:${image.name}`, `docker://${registry.hostPort}/events/app:1`);
    await receiver.waitFor(() => receiver.delivered().some((e) => e.action === 'push'), 'the push event');
    const request = receiver.requests.find((r) => r.status === 200);
    assert.ok(request);
    assert.equal(request.headers['content-type'], V1);
    assert.equal(request.headers['x-test-token'], 'abc', 'the endpoint’s headers are sent');
    const pushes = receiver.delivered().filter((e) => e.action === 'push');
    assert.equal(pushes.length, 1, JSON.stringify(pushes));
    const push = pushes[0] as ReceivedEvent;
    assert.equal(push.target.repository, 'events/app');
    assert.equal(push.target.tag, '1');
    assert.equal(push.target.digest, pushed.digest);
    assert.match(push.target.mediaType ?? '', /manifest/);
    assert.equal(push.target.size, push.target.length);
    assert.equal(push.request.method, 'PUT');
    assert.match(push.request.useragent ?? '', /containers|skopeo/i);
    assert.match(push.request.id ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(push.request.addr, '127.0.0.1');
    assert.match(push.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    assert.equal(request.headers['x-berth-event-id'], push.id);
  });

  it('a podman pull sends a pull event for the manifest (blob pulls are off by default)', async () => {
    assert.ok(registry && clients);
    await clients.podmanPull(`${registry.hostPort}/events/app:1`);
    await receiver.waitFor(() => receiver.delivered().some((e) => e.action === 'pull'), 'the pull event');
    const pulls = receiver.delivered().filter((e) => e.action === 'pull');
    assert.ok(
      pulls.every((e) => e.target.repository === 'events/app' && /manifest/.test(e.target.mediaType ?? '')),
      JSON.stringify(pulls),
    );
    assert.match(pulls[0]?.request.useragent ?? '', /containers|podman/i);
  });
});

describe('webhooks: the outbox is written with the change, and delivered after crashes and outages', { concurrency: false }, () => {
  let receiver: WebhookReceiver;
  let registry: TestRegistry | undefined;
  let dataDir = '';
  const extraConfig = (r: WebhookReceiver): string =>
    [endpointConfig(r), 'immutability:', '  - repositories: "locked/**"', '    tags: ["v*"]'].join('\n');

  before(async () => {
    receiver = await WebhookReceiver.start();
    registry = await startRegistry({ extraConfig: extraConfig(receiver) });
    dataDir = registry.dataDir;
  });

  after(async () => {
    await registry?.stop();
    await receiver.close();
  });

  it('a push refused inside its transaction (a held immutable tag) records and sends nothing', async () => {
    assert.ok(registry);
    await pushEmptyConfig(registry, 'locked/app');
    const first = artifact();
    assert.equal((await putManifest(registry, 'locked/app', 'v1', first)).status, 201);
    await receiver.waitFor(() => receiver.delivered().length === 1, 'the first push');
    const refused = await putManifest(registry, 'locked/app', 'v1', artifact());
    assert.equal(refused.status, 403, refused.text);
    // A later push is delivered after anything recorded before it (one endpoint keeps order).
    const later = artifact();
    assert.equal((await putManifest(registry, 'locked/app', 'latest', later)).status, 201);
    await receiver.waitFor(() => receiver.delivered().length >= 2, 'the later push');
    assert.deepEqual(
      receiver.delivered().map((e) => [e.action, e.target.tag, e.target.digest]),
      [
        ['push', 'v1', first.digest],
        ['push', 'latest', later.digest],
      ],
    );
    assert.deepEqual(
      outboxRows(dataDir).map((row) => [row.action, row.tag]),
      [
        ['push', 'v1'],
        ['push', 'latest'],
      ],
    );
  });

  it('an event committed but not yet delivered is delivered after Berth is SIGKILLed and restarted', async () => {
    assert.ok(registry);
    receiver.status = 503;
    const before = receiver.requests.length;
    const pending = artifact();
    assert.equal((await putManifest(registry, 'locked/app', 'pending', pending)).status, 201);
    // The receiver refused at least one attempt: the event is committed and undelivered.
    await receiver.waitFor(() => receiver.requests.length > before, 'a refused attempt');
    await registry.stop({ keepData: true, signal: 'SIGKILL' });
    registry = undefined;
    receiver.status = 200;
    registry = await startRegistry({ dataDir, extraConfig: extraConfig(receiver) });
    await receiver.waitFor(() => receiver.delivered().some((e) => e.target.digest === pending.digest), 'the event after the restart');
    const attempts = receiver.requests
      .slice(before)
      .map((r) => [(JSON.parse(r.body.toString()) as { events: ReceivedEvent[] }).events[0]?.id, r.status]);
    const ids = new Set(attempts.map(([id]) => id));
    assert.equal(ids.size, 1, 'every attempt carried the same event id');
  });

  it('a receiver that is down gets every event, in order, once it is back', async () => {
    assert.ok(registry);
    const already = receiver.delivered().length;
    await receiver.close();
    await pushEmptyConfig(registry, 'outage/app');
    for (let i = 0; i < 5; i++) {
      const answer = await putManifest(registry, 'outage/app', `t${i}`, artifact());
      assert.equal(answer.status, 201, answer.text);
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await receiver.listen();
    await receiver.waitFor(() => receiver.delivered().length >= already + 5, 'the five events after the outage');
    const events = receiver.delivered().slice(already);
    assert.deepEqual(
      events.map((e) => e.target.tag),
      ['t0', 't1', 't2', 't3', 't4'],
    );
    assert.equal(new Set(events.map((e) => e.id)).size, 5, 'each event once');
  });
});
