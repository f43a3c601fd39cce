// The access policy over a real SQLite database: config glob rules, the Distribution default
// when no rules are set, public namespaces, roles of users and teams, administrators, and API
// token scopes narrowing (never widening) their owner's rights.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MetadataStore, openSqlite } from '../metadata/index.js';
import { AccessPolicy, type AccessRule } from './access-policy.js';
import { ANONYMOUS, type Principal } from './principal.js';
import { compileRepositoryGlob } from './repository-glob.js';

function user(name: string, teams: string[] = [], extra: Partial<Extract<Principal, { kind: 'user' }>> = {}): Principal {
  return { kind: 'user', name, admin: false, teams, ...extra };
}

function rule(repository: string, fields: Partial<Omit<AccessRule, 'repository'>>): AccessRule {
  return { repository, anonymous: [], authenticated: [], users: {}, teams: {}, ...fields };
}

async function actions(policy: AccessPolicy, principal: Principal, repository: string): Promise<string[]> {
  return [...(await policy.allowedActions(principal, repository))].sort();
}

describe('repository globs', () => {
  it('match * within a component, ** across components, ? one character', () => {
    const cases: [string, string, boolean][] = [
      ['team/*', 'team/app', true],
      ['team/*', 'team/app/api', false],
      ['team/**', 'team/app/api', true],
      ['team/**', 'team', false],
      ['**', 'anything/at/all', true],
      ['app?', 'app1', true],
      ['app?', 'app/', false],
      ['a.b/*', 'axb/c', false],
      ['a.b/*', 'a.b/c', true],
    ];
    for (const [glob, name, expected] of cases) assert.equal(compileRepositoryGlob(glob).test(name), expected, `${glob} vs ${name}`);
  });
});

describe('access policy', () => {
  let metadata: MetadataStore;

  before(async () => {
    metadata = new MetadataStore(openSqlite(':memory:'));
    await metadata.migrate();
    await metadata.accounts.setNamespaceVisibility('open', 'public');
    await metadata.accounts.setNamespaceVisibility('closed', 'private');
    await metadata.accounts.setGrant('closed', 'user', 'alice', 'push');
    await metadata.accounts.setGrant('closed', 'team', 'ops', 'delete');
    await metadata.accounts.setGrant('open', 'user', 'bob', 'admin');
  });
  after(() => metadata.close());

  it('without rules, lets every signed-in user do everything and anonymous callers nothing private', async () => {
    const policy = new AccessPolicy(metadata.accounts, { rules: undefined, cacheMs: 0 });
    assert.deepEqual(await actions(policy, user('anyone'), 'closed/app'), ['delete', 'pull', 'push']);
    assert.deepEqual(await actions(policy, ANONYMOUS, 'closed/app'), []);
    assert.deepEqual(await actions(policy, ANONYMOUS, 'open/app'), ['pull']);
  });

  it('with rules, grants only what rules, namespace roles and admin status give', async () => {
    const policy = new AccessPolicy(metadata.accounts, {
      rules: [
        rule('lib/**', { anonymous: ['pull'], users: { carol: ['push'] }, teams: { devs: ['delete'] } }),
        rule('**', { authenticated: ['pull'] }),
      ],
      cacheMs: 0,
    });
    assert.deepEqual(await actions(policy, ANONYMOUS, 'lib/x'), ['pull']);
    assert.deepEqual(await actions(policy, ANONYMOUS, 'closed/app'), []);
    assert.deepEqual(await actions(policy, user('carol'), 'lib/x'), ['pull', 'push']);
    assert.deepEqual(await actions(policy, user('dave', ['devs']), 'lib/x/y'), ['delete', 'pull']);
    assert.deepEqual(await actions(policy, user('carol'), 'closed/app'), ['pull']);
    assert.deepEqual(await actions(policy, user('alice'), 'closed/app'), ['pull', 'push']);
    assert.deepEqual(await actions(policy, user('erin', ['ops']), 'closed/app'), ['delete', 'pull', 'push']);
    // A namespace is the first component: a grant on "closed" does not reach "closedx".
    assert.deepEqual(await actions(policy, user('alice'), 'closedx/app'), ['pull']);
    assert.deepEqual(await actions(policy, user('bob'), 'open/deep/repo'), ['delete', 'pull', 'push']);
    assert.deepEqual(await actions(policy, user('root', [], { admin: true }), 'closed/app'), ['delete', 'pull', 'push']);
  });

  it('narrows a user signed in with an API token to the token scope', async () => {
    const policy = new AccessPolicy(metadata.accounts, { rules: [], cacheMs: 0 });
    const viaToken = user('alice', [], {
      apiToken: { id: 'a1', scope: [{ repository: 'closed/ci-*', actions: ['pull', 'push', 'delete'] }] },
    });
    assert.deepEqual(await actions(policy, viaToken, 'closed/ci-cache'), ['pull', 'push']);
    assert.deepEqual(await actions(policy, viaToken, 'closed/app'), []);
    const admin = user('root', [], { admin: true, apiToken: { id: 'r1', scope: [{ repository: 'x/*', actions: ['pull'] }] } });
    assert.deepEqual(await actions(policy, admin, 'x/y'), ['pull']);
  });

  it('judges a Bearer token by its access claim only', async () => {
    const policy = new AccessPolicy(metadata.accounts, { rules: undefined, cacheMs: 0 });
    const token: Principal = {
      kind: 'token',
      subject: 'alice',
      access: [
        { type: 'repository', name: 'closed/app', actions: ['pull'] },
        { type: 'repository', name: 'all/app', actions: ['*'] },
        { type: 'registry', name: 'catalog', actions: ['*'] },
      ],
    };
    assert.deepEqual(await actions(policy, token, 'closed/app'), ['pull']);
    assert.deepEqual(await actions(policy, token, 'all/app'), ['delete', 'pull', 'push']);
    assert.deepEqual(await actions(policy, token, 'closed/other'), []);
  });

  it('remembers namespace decisions for cacheMs, until invalidated', async () => {
    const policy = new AccessPolicy(metadata.accounts, { rules: [], cacheMs: 60_000 });
    assert.deepEqual(await actions(policy, user('frank'), 'closed/app'), []);
    await metadata.accounts.setGrant('closed', 'user', 'frank', 'pull');
    assert.deepEqual(await actions(policy, user('frank'), 'closed/app'), [], 'still the remembered decision');
    policy.invalidate();
    assert.deepEqual(await actions(policy, user('frank'), 'closed/app'), ['pull']);
  });
});
