// `berth audit export` run as the real CLI against a running Berth's database, on its SQLite file
// and on PostgreSQL: the requests made (a push, a failed sign-in, a permission change) come out as
// JSON lines oldest first, filters narrow them, more entries than one page stream out in id order,
// --output writes the same lines to a file, a change made with an account command is there too,
// and a bad --since fails with exit status 1 and a message saying what is accepted.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { uuidv7 } from '../../src/events/ids.js';
import { MetadataStore } from '../../src/metadata/metadata-store.js';
import { openPostgres } from '../../src/metadata/postgres.js';
import { openSqlite } from '../../src/metadata/sqlite.js';
import { callRegistry } from '../helpers/call.js';
import { basicAuthorization } from '../helpers/credentials.js';
import { artifact, authConfig, DEV, pushEmptyConfig, putManifest, ROOT, writeUsers } from '../helpers/lifecycle.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { childEnv, startRegistry, type TestRegistry } from '../helpers/registry.js';

const run = promisify(execFile);
const projectRoot = resolve(import.meta.dirname, '..', '..');

interface ExportedEntry {
  id: string;
  at: string;
  actor?: string;
  action: string;
  outcome: string;
  repository?: string;
  detail?: Record<string, unknown>;
}

/** Entries written straight to the database: more than one page of the export (500). */
const BULK = 1_100;

interface Database {
  /** The environment the registry and the CLI share (PostgreSQL's URL). */
  readonly env: Record<string, string>;
  open(registry: TestRegistry): MetadataStore;
}

function exportSuite(name: string, database: () => Database): void {
  describe(`berth audit export on ${name}`, { concurrency: false }, () => {
    let registry: TestRegistry | undefined;
    let env: Record<string, string> = {};

    const berth = async (...args: string[]): Promise<{ stdout: string; stderr: string }> =>
      run(
        process.execPath,
        [
          '--import',
          'tsx',
          join(projectRoot, 'src/cli/main.ts'),
          ...args,
          '--config',
          join(registry?.dataDir ?? '', 'berth-test-config.yml'),
        ],
        { cwd: projectRoot, env: childEnv(env), maxBuffer: 64 * 1024 * 1024 },
      );
    const exported = async (...args: string[]): Promise<ExportedEntry[]> => {
      const { stdout } = await berth('audit', 'export', ...args);
      return stdout === ''
        ? []
        : stdout
            .trimEnd()
            .split('\n')
            .map((line) => JSON.parse(line) as ExportedEntry);
    };

    before(async () => {
      const db = database();
      env = db.env;
      const dir = await mkdtemp(join(tmpdir(), 'berth-audit-export-'));
      registry = await startRegistry({ env, extraConfig: authConfig(await writeUsers(dir)) });
      await pushEmptyConfig(registry, 'team/app', DEV);
      assert.equal((await putManifest(registry, 'team/app', 'v1', artifact(), DEV)).status, 201);
      const wrong = await callRegistry(registry, 'GET', '/v2/team/app/tags/list', basicAuthorization('dev', 'wrong-password'));
      assert.equal(wrong.status, 401);
      const grant = await callRegistry(registry, 'PUT', '/api/v1/namespaces/team/grants/user/dev', ROOT, { json: { role: 'pull' } });
      assert.equal(grant.status, 200, grant.text);
      // Reading the log through the API writes what the server still holds in memory.
      assert.equal((await callRegistry(registry, 'GET', '/api/v1/audit?limit=1', ROOT)).status, 200);

      // Two hours ago, one entry a second: older than every request above.
      const store = db.open(registry);
      try {
        const start = Date.now() - 2 * 3_600_000;
        const entries = Array.from({ length: BULK }, (_, i) => {
          const at = start + i * 1000;
          return {
            id: uuidv7(at),
            at: new Date(at).toISOString(),
            actor: 'bulk',
            address: '192.0.2.1',
            action: 'test.bulk',
            repository: 'bulk/repo',
            outcome: 'success' as const,
            status: 201,
            requestId: `request-${i}`,
            detail: { n: i },
          };
        });
        for (let i = 0; i < entries.length; i += 200) await store.audit.append(entries.slice(i, i + 200));
      } finally {
        await store.close();
      }
    });

    after(async () => {
      await registry?.stop();
    });

    it('writes every entry since the time given, oldest first, one JSON object a line', async () => {
      const entries = await exported('--since', '3h');
      const ids = entries.map((entry) => entry.id);
      assert.deepEqual(ids, [...ids].sort(), 'ids in ascending order');
      assert.equal(new Set(ids).size, ids.length, 'no entry twice');
      const bulk = entries.filter((entry) => entry.action === 'test.bulk');
      assert.equal(bulk.length, BULK);
      assert.deepEqual(
        bulk.map((entry) => entry.detail?.n),
        Array.from({ length: BULK }, (_, i) => i),
      );
      const put = entries.find((entry) => entry.action === 'manifest.put');
      assert.ok(put, 'the manifest push');
      assert.equal(put.actor, 'dev');
      assert.equal(put.repository, 'team/app');
      const failed = entries.find((entry) => entry.action === 'login.failed');
      assert.ok(failed, 'the failed sign-in');
      assert.equal(failed.outcome, 'denied');
      assert.equal(failed.detail?.user, 'dev');
      const change = entries.find((entry) => entry.action === 'permission.changed');
      assert.ok(change, 'the grant');
      assert.equal(change.actor, 'root');
      assert.deepEqual(
        { change: change.detail?.change, namespace: change.detail?.namespace, subject: change.detail?.subject, role: change.detail?.role },
        { change: 'grant-set', namespace: 'team', subject: 'dev', role: 'pull' },
      );
      // The requests came after the bulk entries.
      assert.ok(ids.indexOf(put.id) > ids.indexOf(bulk[BULK - 1]?.id ?? ''));
    });

    it('filters by actor, action, repository and time, and writes to a file', async () => {
      const dev = await exported('--since', '3h', '--actor', 'dev');
      assert.ok(dev.length > 0);
      assert.ok(dev.every((entry) => entry.actor === 'dev'));
      const failed = await exported('--since', '3h', '--action', 'login.failed');
      assert.ok(failed.length >= 1 && failed.every((entry) => entry.action === 'login.failed'));
      const repository = await exported('--since', '3h', '--repository', 'team/app');
      assert.ok(repository.length > 0 && repository.every((entry) => entry.repository === 'team/app'));
      // The first 100 bulk entries: from 2h10s... back to before the first, until 100 seconds after it.
      const all = await exported('--since', '3h', '--action', 'test.bulk');
      const first = all[0]?.at ?? '';
      const until = new Date(Date.parse(first) + 100_000).toISOString();
      const window = await exported('--since', first, '--until', until, '--action', 'test.bulk');
      assert.equal(window.length, 100);
      assert.deepEqual(
        window.map((entry) => entry.id),
        all.slice(0, 100).map((entry) => entry.id),
      );
      assert.deepEqual(await exported('--since', '1m', '--action', 'test.bulk'), []);

      const file = join(registry?.dataDir ?? '', 'export.jsonl');
      const { stdout } = await berth('audit', 'export', '--since', '3h', '--actor', 'dev', '--output', file);
      assert.equal(stdout, '');
      assert.deepEqual(
        (await readFile(file, 'utf8'))
          .trimEnd()
          .split('\n')
          .map((line) => (JSON.parse(line) as ExportedEntry).id),
        dev.map((entry) => entry.id),
      );
    });

    it('has the changes made with the account commands', async () => {
      await berth('team', 'add', 'cli-team');
      await berth('team', 'member', 'add', 'cli-team', 'dev');
      const [entry, ...more] = await exported('--since', '5m', '--action', 'cli.team.member.add');
      assert.equal(more.length, 0);
      assert.ok(entry, 'the member added from the command line');
      assert.equal(entry.actor, 'berth-cli');
      assert.equal(entry.outcome, 'success');
      assert.equal(entry.detail?.command, 'berth team member add');
      // A new team and the read-only switch are changes too.
      assert.equal((await exported('--since', '5m', '--action', 'cli.team.add')).length, 1);
      await berth('maintenance', 'readonly', 'on');
      await berth('maintenance', 'readonly', 'off');
      const switched = await exported('--since', '5m', '--action', 'cli.maintenance.readonly');
      assert.deepEqual(
        switched.map((e) => e.detail?.command),
        ['berth maintenance readonly', 'berth maintenance readonly'],
      );
      // Reading changes nothing, and leaves no entry.
      await berth('team', 'list');
      await berth('maintenance', 'readonly', 'status');
      assert.deepEqual(await exported('--since', '5m', '--action', 'cli.team.list'), []);
      assert.equal((await exported('--since', '5m', '--action', 'cli.maintenance.readonly')).length, 2);
    });

    it('refuses a --since it cannot read with exit status 1 and what it accepts', async () => {
      for (const since of ['yesterday', '3 days', '-5m']) {
        await assert.rejects(berth('audit', 'export', '--since', since), (error: { code?: number; stderr?: string; stdout?: string }) => {
          assert.equal(error.code, 1);
          assert.match(error.stderr ?? '', /berth audit export: --since must be a time such as .* or a duration back from now such as 24h/);
          assert.equal(error.stdout, '');
          return true;
        });
      }
      await assert.rejects(berth('audit', 'export'), (error: { code?: number; stderr?: string }) => {
        assert.equal(error.code, 1);
        assert.match(error.stderr ?? '', /--since/);
        return true;
      });
      await assert.rejects(berth('audit', 'export', '--since', '1h', '--until', '2h'), (error: { code?: number; stderr?: string }) => {
        assert.equal(error.code, 1);
        assert.match(error.stderr ?? '', /--until .* must be after --since/);
        return true;
      });
    });
  });
}

exportSuite('SQLite', () => ({
  env: {},
  open: (registry) => new MetadataStore(openSqlite(join(registry.dataDir, 'berth.db'))),
}));

describe('on PostgreSQL', () => {
  let postgres: TestPostgres | undefined;
  let url = '';
  before(async () => {
    postgres = await startPostgres();
    url = await postgres.createDatabase();
  });
  after(async () => {
    await postgres?.stop();
  });
  exportSuite('PostgreSQL', () => ({
    env: { BERTH_METADATA_POSTGRES_URL: url },
    open: () => new MetadataStore(openPostgres(url, { max: 2 })),
  }));
});
