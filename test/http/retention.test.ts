// Retention over HTTP against a real server (SQLite file, htpasswd): the admin API lists the
// configuration file's policy (read-only) with the rules it creates, refuses bad rules (400 with
// an OCI error body), callers who are not administrators (403) and anonymous ones (401). Tags are
// pushed over HTTP and their push times then set in the server's SQLite file (days cannot be
// waited for); a dry run changes nothing, a run untags exactly the planned tags (tag lists read
// over HTTP), `berth retention` does the same from the command line while the server serves, and
// manifest GETs (not HEADs) set the last-pull times retention reads. Tags an immutability rule
// protects are never untagged.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import { callRegistry, type RegistryAnswer } from '../helpers/call.js';
import { basicAuthorization } from '../helpers/credentials.js';
import { childEnv, startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { MetadataStore, openSqlite, type MetadataDatabase } from '../../src/metadata/index.js';

const berthOnly = { skip: testTarget === 'reference' ? 'retention is Berth’s own' : false, concurrency: false };
const ROOT = basicAuthorization('root', 'root-password');
const DEV = basicAuthorization('dev', 'dev-password');
const DAY = 86_400_000;
const EMPTY_JSON = Buffer.from('{}');
const sha256 = (data: Uint8Array | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const projectRoot = new URL('../../', import.meta.url).pathname;

interface Report {
  dryRun: boolean;
  repositories: { repository: string; policy: string; deleteTags: { tag: string; reasons: string[] }[]; untagged: string[] }[];
  totals: { tags: number; manifests: number };
}

describe('retention over HTTP', berthOnly, () => {
  let dir = '';
  let registry: TestRegistry;
  let db: MetadataDatabase;
  let store: MetadataStore;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-retention-http-'));
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(htpasswd, `root:${bcrypt.hashSync('root-password', 4)}\ndev:${bcrypt.hashSync('dev-password', 4)}\n`);
    registry = await startRegistry({
      extraConfig: [
        'auth:',
        `  htpasswd: {path: ${JSON.stringify(htpasswd)}}`,
        '  bcryptcost: 4',
        '  access:',
        '    admins: [root]',
        'immutability:',
        '  - {repositories: "team/*", tags: ["frozen-*"]}',
        'retention:',
        '  policies:',
        '    - {repositories: "cfg/*", keeplast: 1}',
      ].join('\n'),
    });
    // A second connection to the server's database, to set push times (WAL: both may use it).
    db = openSqlite(join(registry.dataDir, 'berth.db'));
    store = new MetadataStore(db);
  });
  after(async () => {
    await store?.close();
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const call = (method: string, path: string, authorization: string | undefined, json?: unknown): Promise<RegistryAnswer> =>
    callRegistry(registry, method, path, authorization, json === undefined ? {} : { json });

  /** Pushes a distinct small artifact under the tag; returns its digest. */
  async function push(repository: string, tag: string): Promise<string> {
    // The empty config, in one request (monolithic upload).
    const upload = await callRegistry(registry, 'POST', `/v2/${repository}/blobs/uploads/?digest=${sha256(EMPTY_JSON)}`, DEV, {
      body: EMPTY_JSON,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(upload.status, 201, upload.text);
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType: 'application/vnd.example.berth.test+json',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(EMPTY_JSON), size: 2 },
        layers: [],
        annotations: { 'org.example.nonce': randomBytes(8).toString('hex') },
      }),
    );
    const put = await callRegistry(registry, 'PUT', `/v2/${repository}/manifests/${tag}`, DEV, {
      body: bytes,
      headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(put.status, 201, put.text);
    return sha256(bytes);
  }

  async function pushedDaysAgo(repository: string, tag: string, days: number): Promise<void> {
    await push(repository, tag);
    const at = new Date(Date.now() - days * DAY).toISOString();
    await db.updateTable('tags').set({ updated_at: at }).where('repository', '=', repository).where('name', '=', tag).execute();
  }

  async function tagList(repository: string): Promise<string[]> {
    const answer = await call('GET', `/v2/${repository}/tags/list`, DEV);
    assert.equal(answer.status, 200, answer.text);
    return ((JSON.parse(answer.text) as { tags: string[] | null }).tags ?? []).sort();
  }

  function errorOf(answer: RegistryAnswer): { code: string; message: string } {
    const body = JSON.parse(answer.text) as { errors: { code: string; message: string }[] };
    assert.ok(body.errors[0], answer.text);
    return body.errors[0];
  }

  it('lists the configuration file’s policy as read-only, and creates and deletes rules', async () => {
    const listed = await call('GET', '/api/v1/retention/rules', ROOT);
    assert.equal(listed.status, 200, listed.text);
    assert.deepEqual(JSON.parse(listed.text), {
      rules: [{ id: 'config:0', repositories: 'cfg/*', keeplast: 1, source: 'config', readOnly: true }],
      unreadableRules: [],
    });
    const refused = await call('DELETE', '/api/v1/retention/rules/config:0', ROOT);
    assert.equal(refused.status, 400, refused.text);
    assert.match(errorOf(refused).message + refused.text, /configuration file/);

    const created = await call('POST', '/api/v1/retention/rules', ROOT, { repositories: 'scratch/**', untaggedfor: '7d' });
    assert.equal(created.status, 201, created.text);
    const rule = JSON.parse(created.text) as { id: string; source: string; readOnly: boolean; createdBy: string; untaggedfor: string };
    assert.deepEqual([rule.source, rule.readOnly, rule.createdBy, rule.untaggedfor], ['api', false, 'root', '7d']);
    const deleted = await call('DELETE', `/api/v1/retention/rules/${rule.id}`, ROOT);
    assert.equal(deleted.status, 204, deleted.text);
    const again = await call('DELETE', `/api/v1/retention/rules/${rule.id}`, ROOT);
    assert.equal(again.status, 404, again.text);
    assert.equal(errorOf(again).code, 'RESOURCE_UNKNOWN');
  });

  it('refuses bad rules and bad run bodies with 400 and an OCI error body', async () => {
    for (const bad of [
      { repositories: 'Team/App', keeplast: 1 },
      { repositories: 'team/*', keeplast: -1 },
      { repositories: 'team/*', olderthan: '30 days' },
      { repositories: 'team/*', keeptags: 'v*' },
      { repositories: 'team/*', keepfirst: 3 },
      ['team/*'],
    ]) {
      const answer = await call('POST', '/api/v1/retention/rules', ROOT, bad);
      assert.equal(answer.status, 400, `${JSON.stringify(bad)}: ${answer.text}`);
      assert.equal(errorOf(answer).code, 'INVALID_REQUEST');
    }
    const notJson = await callRegistry(registry, 'POST', '/api/v1/retention/rules', ROOT, {
      body: Buffer.from('{repositories'),
      headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(notJson.status, 400, notJson.text);
    const badRun = await call('POST', '/api/v1/retention/runs', ROOT, { dryRun: 'yes' });
    assert.equal(badRun.status, 400, badRun.text);
    assert.equal(errorOf(badRun).code, 'INVALID_REQUEST');
  });

  it('is for administrators only: 403 for others, 401 without credentials', async () => {
    for (const [method, path, json] of [
      ['GET', '/api/v1/retention/rules', undefined],
      ['POST', '/api/v1/retention/rules', { repositories: 'team/*', keeplast: 1 }],
      ['DELETE', '/api/v1/retention/rules/anything', undefined],
      ['POST', '/api/v1/retention/runs', { dryRun: true }],
    ] as const) {
      const asDev = await call(method, path, DEV, json);
      assert.equal(asDev.status, 403, `${method} ${path}: ${asDev.text}`);
      assert.equal(errorOf(asDev).code, 'DENIED');
      const anonymous = await call(method, path, undefined, json);
      assert.equal(anonymous.status, 401, `${method} ${path}: ${anonymous.text}`);
    }
  });

  it('a dry run changes nothing; a run untags exactly the planned tags', async () => {
    for (const [tag, days] of [
      ['v1', 100],
      ['old-1', 100],
      ['old-2', 60],
      ['recent', 2],
      ['frozen-1', 100],
    ] as const) {
      await pushedDaysAgo('team/app', tag, days);
    }
    await pushedDaysAgo('cfg/one', 'a', 3);
    await pushedDaysAgo('cfg/one', 'b', 2);
    await pushedDaysAgo('cfg/one', 'c', 1);
    const created = await call('POST', '/api/v1/retention/rules', ROOT, { repositories: 'team/*', olderthan: '30d', keeptags: ['v*'] });
    assert.equal(created.status, 201, created.text);

    const dry = await call('POST', '/api/v1/retention/runs', ROOT, { dryRun: true });
    assert.equal(dry.status, 200, dry.text);
    const plan = JSON.parse(dry.text) as Report;
    const planned = plan.repositories.flatMap((r) => r.deleteTags.map((t) => `${r.repository}:${t.tag}`)).sort();
    assert.deepEqual(planned, ['cfg/one:a', 'cfg/one:b', 'team/app:old-1', 'team/app:old-2']);
    assert.equal(plan.dryRun, true);
    assert.deepEqual(await tagList('team/app'), ['frozen-1', 'old-1', 'old-2', 'recent', 'v1'], 'the dry run changed nothing');
    assert.deepEqual(await tagList('cfg/one'), ['a', 'b', 'c']);
    // No body field: a dry run too (untagging is not undone).
    const defaulted = JSON.parse((await call('POST', '/api/v1/retention/runs', ROOT, {})).text) as Report;
    assert.equal(defaulted.dryRun, true);

    const run = await call('POST', '/api/v1/retention/runs', ROOT, { dryRun: false });
    assert.equal(run.status, 200, run.text);
    const report = JSON.parse(run.text) as Report;
    assert.deepEqual(report.repositories.flatMap((r) => r.untagged.map((t) => `${r.repository}:${t}`)).sort(), planned);
    // frozen-1 is old, but an immutability rule protects it.
    assert.deepEqual(await tagList('team/app'), ['frozen-1', 'recent', 'v1']);
    assert.deepEqual(await tagList('cfg/one'), ['c']);
  });

  it('berth retention runs from the command line while the server serves the same database', async () => {
    await pushedDaysAgo('team/cli', 'stale', 90);
    await pushedDaysAgo('team/cli', 'fresh', 1);
    await pushedDaysAgo('team/cli', 'frozen-cli', 90);
    const configFile = join(registry.dataDir, 'berth-test-config.yml');
    const cli = (...args: string[]) =>
      promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', join(projectRoot, 'src/cli/main.ts'), 'retention', '--config', configFile, ...args],
        { cwd: projectRoot, env: childEnv() },
      );
    const dry = await cli('--dry-run');
    assert.match(dry.stdout, /would untag team\/cli:stale \(olderthan\)/);
    assert.deepEqual(await tagList('team/cli'), ['fresh', 'frozen-cli', 'stale']);
    const real = await cli();
    assert.match(real.stdout, /untagged team\/cli:stale/);
    // The command line honours immutability rules too.
    assert.doesNotMatch(real.stdout, /frozen-cli/);
    assert.deepEqual(await tagList('team/cli'), ['fresh', 'frozen-cli']);
  });

  it('manifest GETs record the last pull of the tag; HEADs do not', async () => {
    await push('pulls/app', 'got');
    await push('pulls/app', 'headed');
    assert.equal((await call('HEAD', '/v2/pulls/app/manifests/headed', DEV)).status, 200);
    assert.equal((await call('GET', '/v2/pulls/app/manifests/got', DEV)).status, 200);
    // Written in the background after the answer: poll the database (with a deadline).
    let pulled: string | undefined;
    for (let i = 0; i < 200 && pulled === undefined; i++) {
      pulled = (await store.retentionTags('pulls/app')).find((t) => t.tag === 'got')?.lastPulledAt;
      if (pulled === undefined) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.ok(pulled, 'the GET set tags.last_pulled_at');
    assert.equal((await store.retentionTags('pulls/app')).find((t) => t.tag === 'headed')?.lastPulledAt, undefined);
  });
});
