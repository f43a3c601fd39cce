// Immutability rules over HTTP against a real server (SQLite file, htpasswd): the admin API lists
// the configuration file's rule (read-only) with those it creates, refuses bad rules (400), callers
// who are not administrators (403) and anonymous ones (401), and a rule it creates holds at once
// and stops holding once deleted. Two pushes racing to create the same protected tag with different
// manifests: exactly one wins, and the tag names the winner.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { callRegistry } from '../helpers/call.js';
import { artifact, authConfig, DEV, firstError, pushEmptyConfig, putManifest, ROOT, tagDigest, writeUsers } from '../helpers/lifecycle.js';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';

const berthOnly = { skip: testTarget === 'reference' ? 'immutability rules are Berth’s own' : false, concurrency: false };

interface RuleJson {
  id: string;
  repositories: string;
  tags: string[];
  except: string[];
  source: string;
  readOnly: boolean;
  createdBy?: string;
}

describe('immutability rules through the admin API', berthOnly, () => {
  let dir = '';
  let registry: TestRegistry;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-immutability-api-'));
    registry = await startRegistry({
      extraConfig: [authConfig(await writeUsers(dir)), 'immutability:', '  - {repositories: "fixed/*", tags: ["release-*"]}'].join('\n'),
    });
  });
  after(async () => {
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const list = async (): Promise<RuleJson[]> => {
    const answer = await callRegistry(registry, 'GET', '/api/v1/immutability/rules', ROOT);
    assert.equal(answer.status, 200, answer.text);
    return (JSON.parse(answer.text) as { rules: RuleJson[] }).rules;
  };

  it('lists the configuration file’s rule as read-only', async () => {
    assert.deepEqual(await list(), [
      { id: 'config:0', repositories: 'fixed/*', tags: ['release-*'], except: [], source: 'config', readOnly: true },
    ]);
    const refused = await callRegistry(registry, 'DELETE', '/api/v1/immutability/rules/config:0', ROOT);
    assert.equal(refused.status, 400, refused.text);
    assert.match(firstError(refused).message, /configuration file/);
  });

  it('creates a rule that holds at once, and deletes it', async () => {
    const repo = 'team/api-rule';
    await pushEmptyConfig(registry, repo);
    const first = artifact();
    const second = artifact();
    assert.equal((await putManifest(registry, repo, 'v1', first)).status, 201);

    const created = await callRegistry(registry, 'POST', '/api/v1/immutability/rules', ROOT, {
      json: { repositories: 'team/**', tags: ['v*'], except: ['*-dev'] },
    });
    assert.equal(created.status, 201, created.text);
    const rule = JSON.parse(created.text) as RuleJson;
    assert.equal(rule.source, 'api');
    assert.equal(rule.readOnly, false);
    assert.equal(rule.createdBy, 'root');
    assert.deepEqual(
      (await list()).map((r) => r.id),
      ['config:0', rule.id],
    );

    const moved = await putManifest(registry, repo, 'v1', second);
    assert.equal(moved.status, 403, moved.text);
    assert.deepEqual(firstError(moved), {
      code: 'DENIED',
      message: `tag v1 of ${repo} is immutable: it cannot be overwritten or deleted; push a new tag instead`,
    });
    assert.equal(await tagDigest(registry, repo, 'v1'), first.digest);
    assert.equal((await putManifest(registry, repo, 'v1', first)).status, 201, 'the same manifest again');
    assert.equal((await putManifest(registry, repo, 'v1-dev', first)).status, 201);
    assert.equal((await putManifest(registry, repo, 'v1-dev', second)).status, 201, 'excepted');
    // Pushed by digest with ?tag=: the tag is protected too.
    const byDigest = await callRegistry(registry, 'PUT', `/v2/${repo}/manifests/${second.digest}?tag=v1`, DEV, {
      body: second.bytes,
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(byDigest.status, 403, byDigest.text);

    assert.equal((await callRegistry(registry, 'DELETE', `/api/v1/immutability/rules/${rule.id}`, ROOT)).status, 204);
    assert.equal((await putManifest(registry, repo, 'v1', second)).status, 201, 'no rule protects it any more');
    const again = await callRegistry(registry, 'DELETE', `/api/v1/immutability/rules/${rule.id}`, ROOT);
    assert.equal(again.status, 404, again.text);
  });

  it('refuses bad rules with 400', async () => {
    const bad: unknown[] = [
      {},
      { repositories: 'team/**' },
      { repositories: 'team/**', tags: [] },
      { repositories: 'Team/Upper', tags: ['v*'] },
      { repositories: 'team/**', tags: ['v 1'] },
      { repositories: 'team/**', tags: ['v*'], except: ['a/b'] },
      { repositories: 'team/**', tags: ['v*'], extra: true },
      { repositories: 'team/**', tags: 'v*' },
      [],
    ];
    for (const json of bad) {
      const answer = await callRegistry(registry, 'POST', '/api/v1/immutability/rules', ROOT, { json });
      assert.equal(answer.status, 400, `${JSON.stringify(json)}: ${answer.text}`);
      assert.equal(firstError(answer).code, 'INVALID_REQUEST');
    }
    const notJson = await callRegistry(registry, 'POST', '/api/v1/immutability/rules', ROOT, { body: '{repositories', headers: {} });
    assert.equal(notJson.status, 400, notJson.text);
    assert.deepEqual(
      (await list()).map((r) => r.id),
      ['config:0'],
    );
  });

  it('answers only administrators', async () => {
    const json = { repositories: 'team/**', tags: ['v*'] };
    for (const [method, path] of [
      ['GET', '/api/v1/immutability/rules'],
      ['POST', '/api/v1/immutability/rules'],
      ['DELETE', '/api/v1/immutability/rules/config:0'],
    ] as const) {
      const asDev = await callRegistry(registry, method, path, DEV, method === 'POST' ? { json } : {});
      assert.equal(asDev.status, 403, `${method} ${path} as dev: ${asDev.text}`);
      const anonymous = await callRegistry(registry, method, path, undefined, method === 'POST' ? { json } : {});
      assert.equal(anonymous.status, 401, `${method} ${path} anonymously: ${anonymous.text}`);
    }
  });

  it('lets exactly one of two racing pushes create a protected tag', async () => {
    const repo = 'fixed/race';
    await pushEmptyConfig(registry, repo);
    for (let round = 0; round < 12; round++) {
      const tag = `release-${round}`;
      const contenders = [artifact(), artifact()];
      const answers = await Promise.all(contenders.map((manifest) => putManifest(registry, repo, tag, manifest)));
      const statuses = answers.map((answer) => answer.status).sort();
      assert.deepEqual(statuses, [201, 403], `round ${round}: ${answers.map((a) => a.text).join(' | ')}`);
      const winner = contenders[answers.findIndex((answer) => answer.status === 201)];
      assert.equal(await tagDigest(registry, repo, tag), winner?.digest, `round ${round}: the tag names the winner`);
    }
  });
});
