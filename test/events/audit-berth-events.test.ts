// Berth's own events end to end: a running Berth with authentication, an immutability rule, a
// quota with a warning share and an endpoint (a real receiver) whose actions name them. A push
// moving a protected tag is refused and its refusal arrives (while the refused push itself sends
// nothing), a push crossing warnAt sends quota.warning and the next, over the quota, quota.refused;
// a wrong password sends login.failed with the user tried, a grant permission.changed, a
// garbage-collection run gc.run with its counts (one through the admin API, one of `berth gc`). Each has an id, the actor, the request and the
// target, and is in the audit log too; berth_audit_entries_total counts the log's entries.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { callRegistry } from '../helpers/call.js';
import { basicAuthorization } from '../helpers/credentials.js';
import { artifact, authConfig, DEV, pushEmptyConfig, putManifest, ROOT, writeUsers } from '../helpers/lifecycle.js';
import { childEnv, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const run = promisify(execFile);
const projectRoot = resolve(import.meta.dirname, '..', '..');
const OWN_ACTIONS = ['tag.immutable-refused', 'quota.refused', 'quota.warning', 'gc.run', 'login.failed', 'permission.changed'];
/** Bytes the quota namespace may hold: one artifact manifest fits, two do not. */
const QUOTA_BYTES = 600;

interface Event {
  id: string;
  action: string;
  target: { repository?: string; tag?: string; digest?: string };
  request: { id?: string; addr?: string; useragent?: string };
  actor: { name?: string };
  detail?: Record<string, unknown>;
}

interface AuditEntry {
  action: string;
  actor?: string;
  outcome: string;
  repository?: string;
  requestId?: string;
  detail?: Record<string, unknown>;
}

describe("Berth's own events", { concurrency: false }, () => {
  let receiver: WebhookReceiver;
  let registry: TestRegistry | undefined;

  before(async () => {
    receiver = await WebhookReceiver.start();
    const dir = await mkdtemp(join(tmpdir(), 'berth-own-events-'));
    registry = await startRegistry({
      extraConfig: [
        authConfig(await writeUsers(dir)),
        'immutability:',
        '  - repositories: "team/**"',
        '    tags: ["v*"]',
        'quotas:',
        `  - {namespace: quota, size: ${QUOTA_BYTES}, warnat: 0.5}`,
        'notifications:',
        '  endpoints:',
        '    - name: receiver',
        `      url: ${receiver.url}`,
        '      backoff: 100ms',
        '      allowprivateaddresses: true',
        `      actions: [push, ${OWN_ACTIONS.join(', ')}]`,
      ].join('\n'),
    });
  });

  after(async () => {
    await registry?.stop();
    await receiver.close();
  });

  const arrived = async (action: string, match: (event: Event) => boolean = () => true): Promise<Event> => {
    const find = (): Event | undefined => (receiver.delivered() as unknown as Event[]).find((e) => e.action === action && match(e));
    await receiver.waitFor(() => find() !== undefined, `the ${action} event`);
    const event = find();
    assert.ok(event);
    assert.match(event.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    return event;
  };

  it('records an immutability refusal, and nothing of the refused push', async () => {
    assert.ok(registry);
    await pushEmptyConfig(registry, 'team/app', DEV);
    const first = artifact();
    assert.equal((await putManifest(registry, 'team/app', 'v1', first, DEV)).status, 201);
    const second = artifact();
    const refused = await putManifest(registry, 'team/app', 'v1', second, DEV);
    assert.equal(refused.status, 403, refused.text);
    const event = await arrived('tag.immutable-refused');
    assert.deepEqual(event.target, { repository: 'team/app', tag: 'v1' });
    assert.equal(event.actor.name, 'dev');
    assert.equal(event.request.id, refused.headers.get('x-request-id'));
    assert.ok(event.request.addr);
    assert.equal(typeof event.detail?.reason, 'string');
    await arrived('push', (e) => e.target.digest === first.digest);
    assert.equal(
      (receiver.delivered() as unknown as Event[]).some((e) => e.target.digest === second.digest),
      false,
      'the refused push sent an event',
    );
  });

  it('warns when a push crosses warnAt and records the push over the quota', async () => {
    assert.ok(registry);
    await pushEmptyConfig(registry, 'quota/app', DEV);
    const first = artifact();
    assert.ok(first.bytes.length > QUOTA_BYTES / 2 && 2 * first.bytes.length > QUOTA_BYTES, `an artifact of ${first.bytes.length} bytes`);
    assert.equal((await putManifest(registry, 'quota/app', 'a', first, DEV)).status, 201);
    const warning = await arrived('quota.warning');
    assert.equal(warning.target.repository, 'quota/app');
    assert.equal(warning.actor.name, 'dev');
    assert.deepEqual(
      { namespace: warning.detail?.namespace, quota: warning.detail?.quota, warnAt: warning.detail?.warnAt },
      {
        namespace: 'quota',
        quota: QUOTA_BYTES,
        warnAt: 0.5,
      },
    );
    const over = await putManifest(registry, 'quota/app', 'b', artifact(), DEV);
    assert.equal(over.status, 403, over.text);
    const refusal = await arrived('quota.refused', (e) => e.request.id === over.headers.get('x-request-id'));
    assert.equal(refusal.target.repository, 'quota/app');
    assert.equal(refusal.actor.name, 'dev');
    assert.equal(refusal.detail?.namespace, 'quota');

    // An upload over the quota, refused before its bytes are stored, names its sender too.
    const bytes = Buffer.alloc(QUOTA_BYTES + 100, 7);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const upload = await callRegistry(registry, 'POST', `/v2/quota/app/blobs/uploads/?digest=${digest}`, DEV, {
      body: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(upload.status, 403, upload.text);
    const refusedUpload = await arrived('quota.refused', (e) => e.request.id === upload.headers.get('x-request-id'));
    assert.equal(refusedUpload.actor.name, 'dev');
    assert.equal(refusedUpload.target.repository, 'quota/app');
  });

  it('records a failed sign-in, a permission change and a garbage-collection run', async () => {
    assert.ok(registry);
    const wrong = await callRegistry(registry, 'GET', '/v2/team/app/tags/list', basicAuthorization('dev', 'not-the-password'), {
      headers: { 'user-agent': 'own-events-test/1.0' },
    });
    assert.equal(wrong.status, 401);
    const failed = await arrived('login.failed');
    assert.equal(failed.detail?.user, 'dev');
    assert.equal(failed.request.useragent, 'own-events-test/1.0');
    assert.equal(failed.request.id, wrong.headers.get('x-request-id'));
    assert.equal(JSON.stringify(failed).includes('not-the-password'), false);

    const grant = await callRegistry(registry, 'PUT', '/api/v1/namespaces/team/grants/user/dev', ROOT, { json: { role: 'push' } });
    assert.equal(grant.status, 200, grant.text);
    const changed = await arrived('permission.changed');
    assert.equal(changed.actor.name, 'root');
    assert.deepEqual(
      {
        change: changed.detail?.change,
        namespace: changed.detail?.namespace,
        subject: changed.detail?.subject,
        role: changed.detail?.role,
      },
      { change: 'grant-set', namespace: 'team', subject: 'dev', role: 'push' },
    );

    const started = await callRegistry(registry, 'POST', '/api/v1/gc/runs', ROOT, { json: { dryRun: true } });
    assert.equal(started.status, 200, started.text);
    const runId = (JSON.parse(started.text) as { runId: string }).runId;
    const gc = await arrived('gc.run', (e) => e.detail?.runId === runId);
    assert.deepEqual(
      { trigger: gc.detail?.trigger, dryRun: gc.detail?.dryRun, status: gc.detail?.status },
      {
        trigger: 'api',
        dryRun: true,
        status: 'finished',
      },
    );
    assert.equal(typeof (gc.detail?.stats as { bytesFreed?: unknown } | undefined)?.bytesFreed, 'number');

    // A run of `berth gc` is reported too: the command writes it, the server's deliverer sends it.
    await run(
      process.execPath,
      [
        '--import',
        'tsx',
        join(projectRoot, 'src/cli/main.ts'),
        'gc',
        '--dry-run',
        '--config',
        join(registry.dataDir, 'berth-test-config.yml'),
      ],
      { cwd: projectRoot, env: childEnv() },
    );
    const cli = await arrived('gc.run', (e) => e.detail?.trigger === 'cli');
    assert.equal(cli.detail?.status, 'finished');
  });

  it('has each of them in the audit log, and counts the log on /metrics', async () => {
    assert.ok(registry);
    const listed = await callRegistry(registry, 'GET', '/api/v1/audit?limit=500', ROOT);
    assert.equal(listed.status, 200, listed.text);
    const entries = (JSON.parse(listed.text) as { entries: AuditEntry[] }).entries;
    for (const action of OWN_ACTIONS)
      assert.ok(
        entries.some((entry) => entry.action === action),
        `${action} in ${listed.text}`,
      );
    const refusal = entries.find((entry) => entry.action === 'tag.immutable-refused');
    assert.equal(refusal?.actor, 'dev');
    assert.equal(refusal?.outcome, 'denied');
    assert.equal(refusal?.detail?.tag, 'v1');
    assert.equal(typeof refusal?.detail?.eventId, 'string');
    // The refused request has its own entry too, with the same request id.
    assert.ok(
      entries.some((entry) => entry.action === 'manifest.put' && entry.outcome === 'denied' && entry.requestId === refusal?.requestId),
    );

    const metrics = await callRegistry(registry, 'GET', '/metrics', undefined);
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /^berth_audit_entries_total\{action="manifest\.put",outcome="success"\} [1-9]/m);
    assert.match(metrics.text, /^berth_audit_entries_total\{action="login\.failed",outcome="denied"\} [1-9]/m);
  });
});
