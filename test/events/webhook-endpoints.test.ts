// Webhook endpoints through the admin API against a running Berth with authentication and real
// receivers: an endpoint created with filters gets exactly the matching events, signed with the
// secret answered once at creation; in CloudEvents format the body is a structured CloudEvent
// that the cloudevents package's own parser reads (from an API endpoint and from the file's
// format: cloudevents); a test delivery answers what happened (delivered, refused connection,
// a 500, a loopback address the SSRF rules refuse); bad fields are 400 with a message naming
// them; anonymous callers 401, others 403 or 404; the secret is never answered again nor written
// to the audit log.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { HTTP } from 'cloudevents';
import { callRegistry, type RegistryAnswer } from '../helpers/call.js';
import { artifact, authConfig, DEV, firstError, pushEmptyConfig, putManifest, ROOT, writeUsers } from '../helpers/lifecycle.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { type ReceivedRequest, WebhookReceiver } from '../helpers/webhook-receiver.js';

const FILE_SECRET = 'file-endpoint-signing-secret';
const ANONYMOUS = 'no credentials';

interface EndpointView {
  id: string;
  name: string;
  namespace: string | null;
  format: string;
  headerNames: string[];
  signed: boolean;
  source: string;
  secret?: string;
}

interface TestResult {
  eventId: string;
  delivered: boolean;
  responseCode: number | null;
  error: string | null;
  durationMs: number;
}

interface DeliveryPage {
  deliveries: { eventId: string; action: string; repository?: string; tag?: string; state: string; responseCode?: number }[];
  next?: string;
}

function notifications(cloudEvents: WebhookReceiver, guarded: WebhookReceiver): string {
  return [
    'notifications:',
    '  endpoints:',
    // The file's CloudEvents endpoint: pushes only.
    '    - name: file-ce',
    `      url: ${cloudEvents.url}`,
    '      format: cloudevents',
    '      actions: [push]',
    '      backoff: 100ms',
    '      allowprivateaddresses: true',
    `      secret: ${FILE_SECRET}`,
    // On loopback without allowprivateaddresses: every request to it is refused by the SSRF rules.
    '    - name: guarded',
    `      url: ${guarded.url}`,
    '      ignore: {actions: [push, pull, delete, mount]}',
    // A name that resolves to loopback: refused when the connection is made.
    '    - name: guarded-name',
    `      url: http://localhost:${guarded.port}/events`,
    '      ignore: {actions: [push, pull, delete, mount]}',
  ].join('\n');
}

const hmac = (secret: string, body: Buffer): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

function parse<T>(answer: RegistryAnswer, status: number): T {
  assert.equal(answer.status, status, answer.text);
  return JSON.parse(answer.text) as T;
}

describe('webhook endpoints through the admin API', { concurrency: false }, () => {
  let receiver: WebhookReceiver;
  let fileReceiver: WebhookReceiver;
  let guarded: WebhookReceiver;
  let registry: TestRegistry | undefined;
  let endpoint: EndpointView;
  let secret = '';
  const pushed = new Map<string, string>();

  /** An admin API call, as root unless told; ANONYMOUS sends no credentials. */
  const api = (method: string, path: string, authorization = ROOT, json?: unknown): Promise<RegistryAnswer> => {
    assert.ok(registry);
    const credentials = authorization === ANONYMOUS ? undefined : authorization;
    return callRegistry(registry, method, `/api/v1${path}`, credentials, json === undefined ? {} : { json });
  };

  async function push(repository: string, tag: string): Promise<void> {
    assert.ok(registry);
    const manifest = artifact();
    const answer = await putManifest(registry, repository, tag, manifest, DEV);
    assert.equal(answer.status, 201, answer.text);
    pushed.set(`${repository}:${tag}`, manifest.digest);
  }

  before(async () => {
    receiver = await WebhookReceiver.start();
    fileReceiver = await WebhookReceiver.start();
    guarded = await WebhookReceiver.start();
    const dir = await mkdtemp(join(tmpdir(), 'berth-webhooks-'));
    registry = await startRegistry({ extraConfig: [authConfig(await writeUsers(dir)), notifications(fileReceiver, guarded)].join('\n') });
    for (const repository of ['team/app', 'team/other', 'other/app', 'team/app-2']) await pushEmptyConfig(registry, repository, DEV);
  });

  after(async () => {
    await registry?.stop();
    await Promise.all([receiver.close(), fileReceiver.close(), guarded.close()]);
  });

  it('creates an endpoint with filters; only matching events arrive, signed with the secret answered once', async () => {
    endpoint = parse<EndpointView>(
      await api('POST', '/webhooks', ROOT, {
        name: 'team-releases',
        namespace: 'team',
        url: receiver.url,
        headers: { 'X-Receiver-Token': 'header-value-not-shown' },
        actions: ['push'],
        repositories: ['team/app*'],
        tags: ['v*'],
        allowPrivateAddresses: true,
        backoffMs: 100,
      }),
      201,
    );
    secret = endpoint.secret ?? '';
    assert.match(secret, /^[0-9a-f]{64}$/);
    assert.equal(endpoint.namespace, 'team');
    assert.equal(endpoint.format, 'distribution-v2');
    assert.deepEqual(endpoint.headerNames, ['X-Receiver-Token']);
    assert.equal(endpoint.signed, true);

    await push('team/app', 'v1'); // wanted
    await push('team/app', 'latest'); // tag filter
    await push('team/other', 'v2'); // repository filter
    await push('other/app', 'v3'); // another namespace
    assert.ok(registry);
    const pull = await callRegistry(registry, 'GET', '/v2/team/app/manifests/v1', DEV, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(pull.status, 200); // action filter
    await push('team/app-2', 'v9'); // wanted, last

    // Deliveries keep the order of events, so once the last arrived every earlier one has.
    await receiver.waitFor(() => receiver.delivered().some((e) => e.target.tag === 'v9'), 'the last matching push');
    const events = receiver.delivered();
    assert.deepEqual(
      events.map((e) => [e.action, e.target.repository, e.target.tag, e.target.digest]),
      [
        ['push', 'team/app', 'v1', pushed.get('team/app:v1')],
        ['push', 'team/app-2', 'v9', pushed.get('team/app-2:v9')],
      ],
    );
    for (const request of receiver.requests) {
      assert.equal(request.headers['content-type'], 'application/vnd.docker.distribution.events.v2+json');
      assert.equal(request.headers['x-receiver-token'], 'header-value-not-shown');
      assert.equal(request.headers['x-berth-signature-256'], hmac(secret, request.body));
    }
    // The endpoint's history lists the same two, newest first, one page at a time.
    const history = parse<DeliveryPage>(await api('GET', `/webhooks/${endpoint.id}/deliveries`), 200);
    assert.deepEqual(
      history.deliveries.map((d) => [d.action, d.repository, d.tag, d.state, d.responseCode]),
      [
        ['push', 'team/app-2', 'v9', 'delivered', 200],
        ['push', 'team/app', 'v1', 'delivered', 200],
      ],
    );
    const first = parse<DeliveryPage>(await api('GET', `/webhooks/${endpoint.id}/deliveries?limit=1`), 200);
    assert.equal(first.next, history.deliveries[0]?.eventId);
    const second = parse<DeliveryPage>(await api('GET', `/webhooks/${endpoint.id}/deliveries?limit=1&before=${first.next}`), 200);
    assert.deepEqual(
      second.deliveries.map((d) => d.tag),
      ['v1'],
    );
  });

  it('sends CloudEvents that the cloudevents package parses, from the API and from the file', async () => {
    const changed = parse<EndpointView>(await api('PATCH', `/webhooks/${endpoint.id}`, ROOT, { format: 'cloudevents' }), 200);
    assert.equal(changed.format, 'cloudevents');
    const already = receiver.requests.length;
    await push('team/app', 'v5');
    await receiver.waitFor(() => receiver.requests.length > already, 'the CloudEvent');
    const request = receiver.requests.at(-1);
    assert.ok(request);
    const event = toCloudEvent(request);
    assert.equal(event.specversion, '1.0');
    assert.equal(event.type, 'io.berth.manifest.push');
    assert.equal(event.subject, 'team/app:v5');
    assert.equal(event.datacontenttype, 'application/json');
    assert.match(String(request.headers['content-type']), /^application\/cloudevents\+json/);
    const data = event.data as { id: string; action: string; target: { digest: string; repository: string; tag: string } };
    assert.equal(event.id, data.id, 'the CloudEvent id is the event id');
    assert.equal(request.headers['x-berth-event-id'], data.id);
    assert.equal(data.target.digest, pushed.get('team/app:v5'));
    assert.ok(typeof event.source === 'string' && event.source.startsWith('//'), event.source);
    assert.equal(request.headers['x-berth-signature-256'], hmac(secret, request.body));

    // The file's endpoint (format: cloudevents, actions: [push]) got every push as a CloudEvent.
    await fileReceiver.waitFor(
      () => fileReceiver.requests.some((r) => toCloudEvent(r).subject === 'team/app:v5'),
      'the file endpoint CloudEvent',
    );
    const fromFile = fileReceiver.requests.map(toCloudEvent);
    assert.ok(fromFile.every((e) => e.type === 'io.berth.manifest.push'));
    assert.deepEqual(new Set(fromFile.map((e) => e.subject)), new Set([...pushed.keys()]));
    for (const r of fileReceiver.requests) assert.equal(r.headers['x-berth-signature-256'], hmac(FILE_SECRET, r.body));
  });

  it('sends a test delivery and answers what happened', async () => {
    const already = receiver.requests.length;
    const ok = parse<TestResult>(await api('POST', `/webhooks/${endpoint.id}/test`), 200);
    assert.equal(ok.delivered, true);
    assert.equal(ok.responseCode, 200);
    assert.equal(ok.error, null);
    assert.ok(Number.isInteger(ok.durationMs) && ok.durationMs >= 0);
    assert.equal(receiver.requests.length, already + 1, 'sent at once, before the answer');
    const sent = receiver.requests.at(-1);
    assert.ok(sent);
    const test = toCloudEvent(sent);
    assert.equal(test.type, 'io.berth.test');
    assert.equal(test.id, ok.eventId);
    assert.equal((test.data as { actor: { name: string } }).actor.name, 'root');
    assert.equal(sent.headers['x-berth-signature-256'], hmac(secret, sent.body));

    receiver.status = 500;
    const refusedByReceiver = parse<TestResult>(await api('POST', `/webhooks/${endpoint.id}/test`), 200);
    assert.deepEqual([refusedByReceiver.delivered, refusedByReceiver.responseCode], [false, 500]);
    assert.match(refusedByReceiver.error ?? '', /500/);
    receiver.status = 200;

    await receiver.close();
    try {
      const down = parse<TestResult>(await api('POST', `/webhooks/${endpoint.id}/test`), 200);
      assert.deepEqual([down.delivered, down.responseCode], [false, null]);
      assert.match(down.error ?? '', /ECONNREFUSED/);
    } finally {
      await receiver.listen();
    }

    // The file's endpoints are tested by config:<name>; a loopback URL without
    // allowprivateaddresses is refused by the SSRF rules and never reached.
    const refused = parse<TestResult>(await api('POST', '/webhooks/config:guarded/test'), 200);
    assert.equal(refused.delivered, false);
    assert.match(refused.error ?? '', /loopback address/);
    const byName = parse<TestResult>(await api('POST', '/webhooks/config:guarded-name/test'), 200);
    assert.equal(byName.delivered, false);
    assert.match(byName.error ?? '', /localhost: resolves to a loopback address/);
    assert.equal(guarded.requests.length, 0);
    assert.equal((await api('POST', '/webhooks/no-such-endpoint/test')).status, 404);
  });

  it('refuses bad fields with 400 and a message naming them', async () => {
    const valid = { name: 'checked', url: 'https://192.0.2.10/hook' };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...valid, url: 'ftp://192.0.2.10/hook' }, /url: expected an http or https URL/],
      [{ ...valid, url: 'not a url' }, /url: expected an http or https URL/],
      [{ ...valid, url: 'https://user:pass@192.0.2.10/' }, /url: a URL may not carry credentials/],
      [{ ...valid, url: 'http://127.0.0.1:9/hook' }, /invalid url: .*loopback address/],
      [{ ...valid, url: 'http://10.1.2.3/hook' }, /invalid url: .*private address/],
      [{ ...valid, url: 'http://localhost:9/hook' }, /invalid url: .*resolves to a loopback address/],
      [{ ...valid, actions: ['push', 'explode'] }, /actions\.1: unknown action "explode"/],
      [{ ...valid, actions: [] }, /actions: give at least one/],
      [{ ...valid, repositories: ['Team/*'] }, /repositories\.0: repository glob "Team\/\*"/],
      [{ ...valid, tags: ['v1/x'] }, /tags\.0: tag pattern "v1\/x"/],
      [{ ...valid, format: 'xml' }, /format/],
      [{ ...valid, headers: { 'Content-Type': 'text/plain' } }, /headers\.Content-Type: Berth sets Content-Type itself/],
      [{ ...valid, headers: { 'X-Split': 'a\r\nInjected: yes' } }, /line breaks/],
      [{ ...valid, secret: 'short' }, /secret: a secret has at least 16 characters/],
      [{ ...valid, timeoutMs: 0 }, /timeoutMs/],
      [{ ...valid, namespace: 'Not/One' }, /namespace: a namespace is one repository path component/],
      [{ ...valid, name: '' }, /name: a name is 1 to 64/],
      [{ ...valid, colour: 'blue' }, /colour/],
      [{ url: valid.url }, /name/],
    ];
    for (const [input, message] of cases) {
      const answer = await api('POST', '/webhooks', ROOT, input);
      assert.equal(answer.status, 400, `${JSON.stringify(input)}: ${answer.text}`);
      const error = firstError(answer);
      assert.equal(error.code, 'INVALID_REQUEST');
      assert.match(error.message, message, JSON.stringify(input));
    }
    // A change is checked the same way; the namespace is fixed at creation.
    assert.equal((await api('PATCH', `/webhooks/${endpoint.id}`, ROOT, { tags: ['bad tag'] })).status, 400);
    assert.equal((await api('PATCH', `/webhooks/${endpoint.id}`, ROOT, { namespace: 'other' })).status, 400);
    assert.equal((await api('PATCH', '/webhooks/config:guarded', ROOT, { tags: ['v*'] })).status, 409);
    // Names are unique within a namespace.
    assert.equal((await api('POST', '/webhooks', ROOT, { ...valid, name: 'team-releases', namespace: 'team' })).status, 409);
  });

  it('lets administrators and namespace administrators manage what is theirs, and no one else', async () => {
    assert.equal((await api('GET', '/webhooks', ANONYMOUS)).status, 401);
    assert.equal((await api('POST', '/webhooks', ANONYMOUS, { name: 'x', url: 'https://192.0.2.10/' })).status, 401);
    const outsider = await api('POST', '/webhooks', DEV, { name: 'mine', namespace: 'team', url: 'https://192.0.2.10/hook' });
    assert.equal(outsider.status, 403, outsider.text);
    assert.equal(firstError(outsider).code, 'DENIED');
    assert.equal((await api('POST', '/webhooks', DEV, { name: 'everything', url: 'https://192.0.2.10/hook' })).status, 403);
    assert.equal((await api('GET', '/webhooks?namespace=team', DEV)).status, 403);
    assert.deepEqual(parse<{ endpoints: EndpointView[] }>(await api('GET', '/webhooks', DEV), 200).endpoints, []);

    // dev administers namespace team: its endpoints are dev's to manage, within limits.
    assert.equal((await api('PUT', '/namespaces/team/grants/user/dev', ROOT, { role: 'admin' })).status, 200);
    const own = parse<EndpointView>(
      await api('POST', '/webhooks', DEV, {
        name: 'dev-hook',
        namespace: 'team',
        url: 'https://192.0.2.10/hook',
        repositories: ['team/nothing-here'],
      }),
      201,
    );
    const privateAsked = await api('POST', '/webhooks', DEV, {
      name: 'dev-private',
      namespace: 'team',
      url: receiver.url,
      allowPrivateAddresses: true,
    });
    assert.equal(privateAsked.status, 403, privateAsked.text);
    assert.match(firstError(privateAsked).message, /private addresses/);
    const listed = parse<{ endpoints: EndpointView[] }>(await api('GET', '/webhooks', DEV), 200).endpoints;
    assert.deepEqual(listed.map((e) => e.name).sort(), ['dev-hook', 'team-releases']);
    // root's endpoint lets private addresses through: dev may not change it.
    assert.equal((await api('PATCH', `/webhooks/${endpoint.id}`, DEV, { url: 'https://192.0.2.11/' })).status, 403);
    assert.equal(parse<EndpointView>(await api('PATCH', `/webhooks/${own.id}`, DEV, { tags: ['v*'] }), 200).name, 'dev-hook');
    // Endpoints for every repository and the file's are administrators' only: 404 for dev.
    const everywhere = parse<EndpointView>(
      await api('POST', '/webhooks', ROOT, {
        name: 'all',
        url: 'https://192.0.2.12/hook',
        actions: ['delete'],
        repositories: ['none/none'],
      }),
      201,
    );
    assert.equal(everywhere.namespace, null);
    assert.equal((await api('GET', `/webhooks/${everywhere.id}`, DEV)).status, 404);
    assert.equal((await api('GET', '/webhooks/config:guarded', DEV)).status, 404);
    assert.equal((await api('POST', '/webhooks/config:guarded/test', DEV)).status, 404);
    const all = parse<{ endpoints: EndpointView[] }>(await api('GET', '/webhooks', ROOT), 200).endpoints;
    assert.deepEqual(
      all.map((e) => [e.id, e.source]),
      [
        ['config:file-ce', 'config'],
        ['config:guarded', 'config'],
        ['config:guarded-name', 'config'],
        [endpoint.id, 'api'],
        [own.id, 'api'],
        [everywhere.id, 'api'],
      ],
    );
    assert.equal((await api('DELETE', `/webhooks/${own.id}`, DEV)).status, 204);
    assert.equal((await api('GET', `/webhooks/${own.id}`, ROOT)).status, 404);
    assert.equal((await api('DELETE', `/webhooks/${everywhere.id}`, ROOT)).status, 204);
    assert.equal((await api('DELETE', '/webhooks/config:guarded', ROOT)).status, 409);
  });

  it('never answers the secret or header values again, nor writes the secret to the audit log', async () => {
    assert.ok(registry);
    const newSecret = 'a-new-secret-set-by-patch-0123456789';
    const patched = await api('PATCH', `/webhooks/${endpoint.id}`, ROOT, { secret: newSecret });
    assert.equal(patched.status, 200, patched.text);
    const answers = [
      patched,
      await api('GET', `/webhooks/${endpoint.id}`),
      await api('GET', '/webhooks'),
      await api('GET', `/webhooks/${endpoint.id}/deliveries`),
    ];
    for (const answer of answers) {
      for (const hidden of [secret, newSecret, FILE_SECRET, 'header-value-not-shown']) {
        assert.equal(answer.text.includes(hidden), false, `an answer holds ${hidden}: ${answer.text}`);
      }
    }
    // The new secret signs from now on.
    const ok = parse<TestResult>(await api('POST', `/webhooks/${endpoint.id}/test`), 200);
    assert.equal(ok.delivered, true);
    const sent = receiver.requests.at(-1);
    assert.ok(sent);
    assert.equal(sent.headers['x-berth-signature-256'], hmac(newSecret, sent.body));

    // The changes are audited, without the secrets: through the API and in the table itself.
    const audit = await api('GET', '/audit?limit=500');
    assert.equal(audit.status, 200, audit.text);
    const entries = (JSON.parse(audit.text) as { entries: { action: string; detail?: { path?: string } }[] }).entries;
    assert.ok(
      entries.some((e) => e.detail?.path === '/api/v1/webhooks'),
      'the creation is in the audit log',
    );
    const db = new Database(join(registry.dataDir, 'berth.db'), { readonly: true, fileMustExist: true });
    try {
      const rows = JSON.stringify(db.prepare('SELECT * FROM audit_log').all());
      assert.ok(rows.includes('/api/v1/webhooks'), 'audit rows name the webhook routes');
      for (const hidden of [secret, newSecret, 'header-value-not-shown'])
        assert.equal(rows.includes(hidden), false, `audit_log holds ${hidden}`);
      assert.equal(audit.text.includes(secret) || audit.text.includes(newSecret), false);
    } finally {
      db.close();
    }
  });
});

/** The request as a CloudEvent, read by the cloudevents package's HTTP binding. */
function toCloudEvent(request: ReceivedRequest) {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) if (typeof value === 'string') headers[name] = value;
  const event = HTTP.toEvent({ headers, body: request.body.toString('utf8') });
  assert.ok(!Array.isArray(event));
  return event;
}
