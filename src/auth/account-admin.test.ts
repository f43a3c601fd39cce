// The account use cases on their own (the admin API and CLI tests cover them end to end): token
// expiry limits against a fixed clock, the change notifications that let caches drop what they
// remember, and the name, password and scope rules both front ends share.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MetadataStore, openSqlite } from '../metadata/index.js';
import {
  AccountAdmin,
  MAX_TOKEN_LIFETIME_MS,
  parseLifetime,
  parseTokenScopes,
  validateAccountName,
  validateNamespaceName,
  validatePassword,
} from './account-admin.js';
import { RegistryError } from '../errors/index.js';
import type { Principal } from './principal.js';

const ROOT: Principal = { kind: 'user', name: 'root', admin: true, teams: [] };
const ALICE: Principal = { kind: 'user', name: 'alice', admin: false, teams: [] };
const NOW = new Date('2026-06-01T00:00:00.000Z');
const scopes = [{ repository: 'team-a/**', actions: ['pull'] }];

function rejectsWith(code: string): (error: unknown) => boolean {
  return (error) => error instanceof RegistryError && error.definition.code === code;
}

let store: MetadataStore;
let clock = NOW;
let changes = 0;
let admin: AccountAdmin;

before(async () => {
  store = new MetadataStore(openSqlite(':memory:'));
  await store.migrate();
  admin = new AccountAdmin({
    accounts: store.accounts,
    bcryptCost: 4,
    now: () => clock,
    onChange: () => changes++,
    // alice lives in an htpasswd file, as far as the account use cases can tell.
    userExistsElsewhere: async (name) => name === 'alice',
  });
});

after(async () => {
  await store.close();
});

describe('AccountAdmin', () => {
  it('accepts an expiry of exactly a year and refuses a millisecond more', async () => {
    const year = new Date(NOW.getTime() + MAX_TOKEN_LIFETIME_MS).toISOString();
    const created = await admin.createToken(ALICE, { name: 'ci', scopes, expiresAt: year });
    assert.equal(created.expiresAt, year);
    const tooLate = new Date(NOW.getTime() + MAX_TOKEN_LIFETIME_MS + 1).toISOString();
    await assert.rejects(admin.createToken(ALICE, { name: 'ci', scopes, expiresAt: tooLate }), rejectsWith('INVALID_REQUEST'));
    await assert.rejects(admin.createToken(ALICE, { name: 'ci', scopes, expiresIn: '8761h' }), rejectsWith('INVALID_REQUEST'));
    const day = await admin.createToken(ALICE, { name: 'day', scopes, expiresIn: '24h' });
    assert.equal(day.expiresAt, '2026-06-02T00:00:00.000Z');
  });

  it('marks tokens expired by the clock', async () => {
    const [first] = await admin.listTokens(ALICE);
    assert.equal(first?.expired, false);
    clock = new Date('2026-06-03T00:00:00.000Z');
    try {
      const listed = await admin.listTokens(ALICE);
      assert.deepEqual(
        listed.map((t) => [t.name, t.expired]),
        [
          ['ci', false],
          ['day', true],
        ],
      );
    } finally {
      clock = NOW;
    }
  });

  it('announces every change and no read', async () => {
    const before = changes;
    await admin.listUsers(ROOT);
    await admin.listNamespaces(ROOT);
    assert.equal(changes, before);
    await admin.createUser(ROOT, { name: 'bob', password: 'bob-password' });
    await admin.createTeam(ROOT, 'devs');
    await admin.addTeamMember(ROOT, 'devs', 'bob');
    await admin.setNamespaceVisibility(ROOT, 'team-a', 'public');
    await admin.setGrant(ROOT, 'team-a', 'team', 'devs', 'push');
    await admin.revokeGrant(ROOT, 'team-a', 'team', 'devs');
    await admin.setPassword(ROOT, 'bob', 'new-bob-password');
    await admin.setUserAdmin(ROOT, 'bob', true);
    await admin.deleteUser(ROOT, 'bob');
    assert.ok(changes - before >= 8, `${changes - before} changes announced`);
  });

  it('refuses anonymous callers (401) and Bearer or API-token callers (403)', async () => {
    await assert.rejects(admin.listTeams({ kind: 'anonymous' }), rejectsWith('UNAUTHORIZED'));
    await assert.rejects(admin.listTeams({ kind: 'token', subject: 'root', access: [] }), rejectsWith('DENIED'));
    await assert.rejects(
      admin.listTokens({ ...ROOT, apiToken: { id: 'r1', scope: [{ repository: '**', actions: ['pull'] }] } } as Principal),
      rejectsWith('DENIED'),
    );
    // A Bearer token of Berth's own server stands for its credential, but never manages accounts.
    const bearer = { access: [{ type: 'repository', name: 'x/y', actions: ['pull'] }] };
    await assert.rejects(
      admin.createUser({ ...ROOT, bearer } as Principal, { name: 'eve', password: 'long-enough-1' }),
      rejectsWith('DENIED'),
    );
    await assert.rejects(admin.setPassword({ ...ROOT, bearer } as Principal, 'root', 'long-enough-1'), rejectsWith('DENIED'));
    assert.deepEqual(
      { via: admin.me({ ...ROOT, bearer } as Principal).via, from: admin.me({ ...ROOT, bearer } as Principal).bearerFrom },
      { via: 'bearer-token', from: 'password' },
    );
    assert.equal(admin.me({ kind: 'token', subject: 'ci', access: [] }).via, 'bearer-token');
  });

  it('refuses grants, team members and tokens for users that do not exist anywhere', async () => {
    await admin.createTeam(ROOT, 'ghosts');
    await admin.setNamespaceVisibility(ROOT, 'haunted', 'private');
    const before = changes;
    await assert.rejects(admin.setGrant(ROOT, 'haunted', 'user', 'nobody', 'pull'), rejectsWith('RESOURCE_UNKNOWN'));
    await assert.rejects(admin.addTeamMember(ROOT, 'ghosts', 'nobody'), rejectsWith('RESOURCE_UNKNOWN'));
    await assert.rejects(
      admin.createToken(ROOT, { name: 'ci', scopes: [{ repository: '**', actions: ['pull'] }], expiresIn: '1h', user: 'nobody' }),
      rejectsWith('RESOURCE_UNKNOWN'),
    );
    assert.equal(changes, before, 'nothing was changed');
    assert.deepEqual(await admin.listGrants(ROOT, 'haunted'), []);
    assert.deepEqual((await admin.getTeam(ROOT, 'ghosts')).members, []);
    // A user of the htpasswd file may be named.
    assert.deepEqual(await admin.setGrant(ROOT, 'haunted', 'user', 'alice', 'pull'), { kind: 'user', subject: 'alice', role: 'pull' });
  });

  it('shares one set of rules for names, passwords, scopes and lifetimes', () => {
    for (const good of ['a', 'alice', 'a.b_c-d', '0', 'x'.repeat(64)]) assert.equal(validateAccountName('name', good), good);
    for (const bad of ['', 'Alice', '.a', '-a', '_a', 'a b', 'a/b', 'a:b', 'x'.repeat(65), 'é']) {
      assert.throws(() => validateAccountName('name', bad), rejectsWith('INVALID_REQUEST'), bad);
    }
    for (const good of ['team-a', 'alpine', 'a__b', 'a.b']) assert.equal(validateNamespaceName(good), good);
    for (const bad of ['', 'team-a/app', 'Team', 'a_', '-a', 'a___b']) {
      assert.throws(() => validateNamespaceName(bad), rejectsWith('INVALID_REQUEST'), bad);
    }
    assert.equal(validatePassword('12345678'), '12345678');
    assert.throws(() => validatePassword('1234567'), rejectsWith('INVALID_REQUEST'));
    assert.equal(validatePassword('éééééééé'), 'éééééééé', 'eight characters, counted as characters');
    assert.throws(() => validatePassword('x'.repeat(73)), rejectsWith('INVALID_REQUEST'));

    assert.deepEqual(parseTokenScopes([{ repository: 'a/**', actions: ['push', 'pull', 'push'] }]), [
      { repository: 'a/**', actions: ['pull', 'push'] },
    ]);
    assert.throws(() => parseTokenScopes([{ repository: 'a b', actions: ['pull'] }]), rejectsWith('INVALID_REQUEST'));
    assert.equal(parseLifetime('720h'), 720 * 3600_000);
    assert.equal(parseLifetime('30d'), 30 * 86_400_000);
    assert.equal(parseLifetime('1h30m'), 5_400_000);
    assert.throws(() => parseLifetime('a week'), rejectsWith('INVALID_REQUEST'));
  });
});
