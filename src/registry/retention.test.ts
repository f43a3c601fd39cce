// Retention against real components: manifests pushed through the registry into a SQLite file
// and the filesystem driver, push and pull times then set in the database rows (days cannot be
// waited for), and retention's clock fixed. Checks how the rules of a policy combine, that the
// first matching policy wins, that a dry run changes nothing and a run untags exactly the plan,
// that a tag re-pushed during the run survives, and immutability.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { RegistryError } from '../errors/index.js';
import { MetadataStore, openSqlite, type MetadataDatabase } from '../metadata/index.js';
import { MediaType, parseRepositoryName } from '../oci/index.js';
import { parseRetentionRule, type RetentionRule } from '../oci/retention-rule.js';
import { FilesystemDriver } from '../storage/filesystem/filesystem-driver.js';
import { Registry } from './registry.js';
import { Retention, type RetentionOptions, type TagProtection } from './retention.js';

const NOW = Date.parse('2030-01-01T00:00:00.000Z');
const DAY = 86_400_000;

let base: string;
let db: MetadataDatabase;
let metadata: MetadataStore;
let registry: Registry;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'berth-retention-'));
  db = openSqlite(join(base, 'metadata.db'));
  metadata = new MetadataStore(db);
  await metadata.migrate();
  registry = new Registry(new FilesystemDriver({ rootDirectory: join(base, 'storage') }), metadata, { deleteEnabled: true });
});

afterEach(async () => {
  await metadata.close();
  await rm(base, { recursive: true, force: true });
});

function rule(input: Record<string, unknown>): RetentionRule {
  const parsed = parseRetentionRule(input);
  if (parsed.problems) throw new Error(JSON.stringify(parsed.problems));
  return parsed.rule;
}

function retention(configPolicies: RetentionRule[], options: Omit<RetentionOptions, 'configPolicies'> = {}): Retention {
  return new Retention(metadata, { now: () => NOW, ...options, configPolicies });
}

/** Pushes an empty index (it needs no blobs) under the tag; the seed makes its digest. */
async function push(repository: string, tag: string, seed = tag): Promise<string> {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [], annotations: { seed } }));
  const stored = await registry.manifests.put({
    repository: parseRepositoryName(repository),
    reference: { kind: 'tag', tag },
    bytes,
    contentType: MediaType.ociIndex,
  });
  return stored.digest.toString();
}

/** Pushes the tag and sets its push time to that many days before NOW (its manifest's too). */
async function pushedDaysAgo(repository: string, tag: string, days: number): Promise<void> {
  const digest = await push(repository, tag);
  const at = new Date(NOW - days * DAY).toISOString();
  await db.updateTable('tags').set({ updated_at: at }).where('repository', '=', repository).where('name', '=', tag).execute();
  await db.updateTable('manifests').set({ pushed_at: at }).where('repository', '=', repository).where('digest', '=', digest).execute();
}

async function pulledDaysAgo(repository: string, tag: string, days: number): Promise<void> {
  const at = new Date(NOW - days * DAY).toISOString();
  await db.updateTable('tags').set({ last_pulled_at: at }).where('repository', '=', repository).where('name', '=', tag).execute();
}

async function tags(repository: string): Promise<string[]> {
  return (await metadata.listTags(repository, {})).items;
}

describe('retention plans', () => {
  it('keeplast alone deletes every tag beyond the N most recently pushed', async () => {
    for (const [tag, days] of [
      ['a', 5],
      ['b', 4],
      ['c', 3],
      ['d', 2],
      ['e', 1],
    ] as const) {
      await pushedDaysAgo('app', tag, days);
    }
    const report = await retention([rule({ repositories: 'app', keeplast: 2 })]).run({ dryRun: true });
    assert.deepEqual(
      report.repositories.map((r) => [r.repository, r.policy, r.deleteTags.map((t) => [t.tag, t.reasons]), r.keptTags]),
      [
        [
          'app',
          'config:0',
          [
            ['c', ['keeplast']],
            ['b', ['keeplast']],
            ['a', ['keeplast']],
          ],
          2,
        ],
      ],
    );
  });

  it('olderthan deletes old tags except those keeptags keeps', async () => {
    await pushedDaysAgo('app', 'v1.0', 100);
    await pushedDaysAgo('app', 'latest', 100);
    await pushedDaysAgo('app', 'nightly-1', 100);
    await pushedDaysAgo('app', 'nightly-2', 10);
    const report = await retention([rule({ repositories: 'app', olderthan: '30d', keeptags: ['v*', 'lat?st'] })]).run({ dryRun: true });
    assert.deepEqual(
      report.repositories[0]?.deleteTags.map((t) => [t.tag, t.reasons]),
      [['nightly-1', ['olderthan']]],
    );
  });

  it('notpulledfor counts from the last pull, or from the push when never pulled', async () => {
    await pushedDaysAgo('app', 'old-unpulled', 100);
    await pushedDaysAgo('app', 'old-pulled-lately', 100);
    await pulledDaysAgo('app', 'old-pulled-lately', 5);
    await pushedDaysAgo('app', 'old-pulled-long-ago', 100);
    await pulledDaysAgo('app', 'old-pulled-long-ago', 40);
    await pushedDaysAgo('app', 'new-unpulled', 5);
    const report = await retention([rule({ repositories: 'app', notpulledfor: '30d' })]).run({ dryRun: true });
    assert.deepEqual(report.repositories[0]?.deleteTags.map((t) => t.tag).sort(), ['old-pulled-long-ago', 'old-unpulled']);
  });

  it('falling outside keeplast deletes even a new tag; the keeplast newest stay even when old', async () => {
    await pushedDaysAgo('app', 'newest-but-old', 100);
    await pushedDaysAgo('app', 'second', 200);
    await pushedDaysAgo('app', 'third', 300);
    await db
      .updateTable('tags')
      .set({ updated_at: new Date(NOW - 1000 * DAY).toISOString() })
      .where('name', '=', 'third')
      .execute();
    const plan = await retention([rule({ repositories: 'app', keeplast: 2, olderthan: '30d' })]).run({ dryRun: true });
    assert.deepEqual(
      plan.repositories[0]?.deleteTags.map((t) => [t.tag, t.reasons]),
      [['third', ['keeplast', 'olderthan']]],
    );
  });

  it('a policy with only keeptags deletes nothing, and the first matching policy wins', async () => {
    await pushedDaysAgo('team/app', 'a', 10);
    await pushedDaysAgo('team/app', 'b', 5);
    await pushedDaysAgo('team/lib', 'a', 10);
    await pushedDaysAgo('team/lib', 'b', 5);
    await pushedDaysAgo('other', 'a', 10);
    const run = retention([rule({ repositories: 'team/app', keeptags: ['*'] }), rule({ repositories: 'team/*', keeplast: 1 })]);
    await run.createRule({ repositories: '**', keeplast: 1 }, 'alice');
    const report = await run.run({ dryRun: true });
    const byRepository = Object.fromEntries(report.repositories.map((r) => [r.repository, [r.policy, r.deleteTags.map((t) => t.tag)]]));
    const [, , apiRule] = (await run.policies()).policies;
    assert.deepEqual(byRepository, { 'team/lib': ['config:1', ['a']] }, 'team/app is judged by the first policy only; other has one tag');
    assert.equal(apiRule?.origin, 'api');
  });

  it('immutable tags are never planned, nor untagged when a rule appears after the plan', async () => {
    await pushedDaysAgo('app', 'v1', 100);
    await pushedDaysAgo('app', 'v2', 100);
    await pushedDaysAgo('app', 'keep-me', 100);
    let afterPlan = false;
    const protection: TagProtection = {
      // 'keep-me' is protected from the start; 'v2' only once the run is applying its plan.
      protects: async (_repository, tag) => tag === 'keep-me' || (afterPlan && tag === 'v2'),
    };
    const run = retention([rule({ repositories: 'app', olderthan: '30d' })], { protection });
    const plan = await run.run({ dryRun: true });
    assert.deepEqual(plan.repositories[0]?.deleteTags.map((t) => t.tag).sort(), ['v1', 'v2']);
    const original = run.planRepository.bind(run);
    run.planRepository = async (...args) => {
      const planned = await original(...args);
      afterPlan = true;
      return planned;
    };
    const report = await run.run({ dryRun: false });
    assert.deepEqual(report.repositories[0]?.untagged, ['v1']);
    assert.deepEqual(report.repositories[0]?.skipped, [{ tag: 'v2', reason: 'immutable' }]);
    assert.deepEqual(await tags('app'), ['keep-me', 'v2']);
  });
});

describe('retention runs', () => {
  it('a dry run changes nothing; a run untags exactly the planned tags and keeps the manifests', async () => {
    for (let i = 1; i <= 6; i++) await pushedDaysAgo('app', `t${i}`, 10 - i);
    await pushedDaysAgo('lib', 'only', 100);
    const policies = [rule({ repositories: '*', keeplast: 3 })];
    const before = { app: await tags('app'), lib: await tags('lib') };
    const plan = await retention(policies).run({ dryRun: true });
    assert.deepEqual({ app: await tags('app'), lib: await tags('lib') }, before, 'the dry run changed nothing');
    const planned = plan.repositories.flatMap((r) => r.deleteTags.map((t) => `${r.repository}:${t.tag}`));
    assert.deepEqual(planned, ['app:t3', 'app:t2', 'app:t1']);
    assert.equal(plan.totals.tags, 3);

    const report = await retention(policies).run({ dryRun: false });
    assert.deepEqual(
      report.repositories.flatMap((r) => r.untagged.map((t) => `${r.repository}:${t}`)),
      planned,
    );
    assert.equal(report.totals.tags, 3);
    assert.deepEqual(await tags('app'), ['t4', 't5', 't6']);
    assert.deepEqual(await tags('lib'), ['only']);
    // Untagged, not deleted: the manifests stay for garbage collection (or untaggedfor) to judge.
    assert.equal((await metadata.untaggedManifests('app', new Date(NOW))).length, 3);

    const again = await retention(policies).run({ dryRun: false });
    assert.deepEqual(again.repositories, [], 'a second run finds nothing to do');
  });

  it('a tag pushed again while the run is applying its plan survives', async () => {
    await pushedDaysAgo('app', 'old', 100);
    await pushedDaysAgo('app', 'repushed', 100);
    const protection: TagProtection = {
      // Called right before each untag: a client pushes 'repushed' again at that moment.
      protects: async (_repository, tag) => {
        if (tag === 'repushed') await push('app', 'repushed');
        return false;
      },
    };
    const report = await retention([rule({ repositories: 'app', olderthan: '30d' })], { protection }).run({ dryRun: false });
    assert.deepEqual(report.repositories[0]?.untagged, ['old']);
    assert.deepEqual(report.repositories[0]?.skipped, [{ tag: 'repushed', reason: 'changed' }]);
    assert.deepEqual(await tags('app'), ['repushed']);
  });

  it('untaggedfor plans untagged manifests older than the age; without a remover a run skips them', async () => {
    await pushedDaysAgo('app', 'gone', 100);
    await pushedDaysAgo('app', 'fresh', 1);
    await metadata.deleteTag('app', 'gone');
    await metadata.deleteTag('app', 'fresh');
    const policies = [rule({ repositories: 'app', untaggedfor: '7d' })];
    const plan = await retention(policies).run({ dryRun: true });
    assert.equal(plan.repositories[0]?.deleteManifests.length, 1);
    const report = await retention(policies).run({ dryRun: false });
    assert.equal(report.repositories[0]?.skipped[0]?.reason, 'unsupported');
    assert.equal((await metadata.untaggedManifests('app', new Date(NOW))).length, 2);
  });

  it('untaggedfor deletes old untagged manifests through the GC index, sparing one tagged again meanwhile', async () => {
    await pushedDaysAgo('app', 'gone', 100);
    await pushedDaysAgo('app', 'back', 100);
    await pushedDaysAgo('app', 'fresh', 1);
    const digests = new Map((await metadata.retentionTags('app')).map((t) => [t.tag, t.manifestDigest]));
    const gone = digests.get('gone');
    const back = digests.get('back');
    assert.ok(gone && back);
    for (const tag of ['gone', 'back', 'fresh']) await metadata.deleteTag('app', tag);
    const policies = [rule({ repositories: 'app', untaggedfor: '7d' })];
    const planned = await retention(policies, { untaggedManifests: metadata.gc }).run({ dryRun: true });
    assert.deepEqual(planned.repositories[0]?.deleteManifests.map((m) => m.digest).sort(), [gone, back].sort());
    // Between the plan and the run, a client tags one of them again (the same bytes, so the same digest).
    const run = retention(policies, {
      untaggedManifests: {
        async deleteUntaggedManifest(repository, digest, pushedBefore) {
          if (digest === back) assert.equal(await push('app', 'back'), back);
          return metadata.gc.deleteUntaggedManifest(repository, digest, pushedBefore);
        },
      },
    });
    const report = await run.run({ dryRun: false });
    assert.deepEqual(report.repositories[0]?.deleted, [gone]);
    assert.deepEqual(report.repositories[0]?.skipped, [{ digest: back, reason: 'changed' }]);
    assert.equal(await metadata.findManifest('app', gone), undefined);
    assert.ok(await metadata.findManifest('app', back), 'the manifest tagged again stays');
    assert.deepEqual(await tags('app'), ['back']);
  });

  it('a run stops between repositories when its signal is aborted', async () => {
    await pushedDaysAgo('a', 'x', 100);
    const controller = new AbortController();
    controller.abort(new Error('stopping'));
    await assert.rejects(
      retention([rule({ repositories: '*', olderthan: '1d' })]).run({ dryRun: false, signal: controller.signal }),
      /stopping/,
    );
    assert.deepEqual(await tags('a'), ['x']);
  });
});

describe('retention rules of the admin API', () => {
  it('bad input is REQUEST_INVALID naming each problem; unknown ids are RESOURCE_UNKNOWN', async () => {
    const run = retention([]);
    for (const [input, paths] of [
      [{ repositories: 'App/**' }, ['repositories']],
      [
        { repositories: 'app', keeplast: 0, olderthan: '30', keeptags: ['ok', 'sp ace'], extra: 1 },
        ['extra', 'keeplast', 'keeptags.1', 'olderthan'],
      ],
      [{ repositories: 'app', notpulledfor: '0d', untaggedfor: 7 }, ['notpulledfor', 'untaggedfor']],
      [[], ['']],
    ] as const) {
      await assert.rejects(run.createRule(input, 'alice'), (error: unknown) => {
        assert.ok(error instanceof RegistryError && error.errorName === 'REQUEST_INVALID');
        const detail = error.detail as { issues: { path: string }[] };
        assert.deepEqual(detail.issues.map((i) => i.path).sort(), [...paths].sort());
        return true;
      });
    }
    await assert.rejects(
      run.deleteRule('nope'),
      (error: unknown) => error instanceof RegistryError && error.errorName === 'RESOURCE_UNKNOWN',
    );
  });

  it('a stored rule reads back as written, with its ages in the same form', async () => {
    const run = retention([]);
    const created = await run.createRule(
      { repositories: 'team/**', keeplast: 5, keeptags: ['v*'], olderthan: '1d12h', untaggedfor: '7d' },
      'alice',
    );
    const [stored] = await metadata.listRetentionRules();
    assert.equal(stored?.target, 'team/**');
    assert.deepEqual(JSON.parse(stored?.definition ?? ''), {
      repositories: 'team/**',
      keeplast: 5,
      keeptags: ['v*'],
      olderthan: '1d12h',
      untaggedfor: '7d',
    });
    const { policies } = await run.policies();
    assert.deepEqual(policies, [{ id: created.id, origin: 'api', rule: created.rule, createdAt: created.createdAt, createdBy: 'alice' }]);
    await run.deleteRule(created.id);
    assert.deepEqual((await run.policies()).policies, []);
  });
});
