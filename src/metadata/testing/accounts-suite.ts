// The accounts part of the metadata suite: users, teams, namespaces, grants, API tokens and
// settings, through the AccountStore API only, so SQLite and PostgreSQL run it unchanged. A
// backend's test file calls runAccountsSuite() with the same factory it gives runMetadataSuite().
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NewApiToken } from '../account-records.js';
import type { AccountStore } from '../account-store.js';
import type { MetadataStoreUnderTest } from './metadata-suite.js';

// A bcrypt-shaped value; the store never interprets it.
const HASH_A = `$2y$04$${'a'.repeat(53)}`;
const HASH_B = `$2y$04$${'b'.repeat(53)}`;

function isIsoTimestamp(value: string): boolean {
  return !Number.isNaN(Date.parse(value)) && new Date(value).toISOString() === value;
}

function token(id: string, owner: string, overrides: Partial<NewApiToken> = {}): NewApiToken {
  return {
    id,
    owner,
    name: `ci-${id}`,
    secretHash: 'f'.repeat(64),
    scopes: [{ repository: `${owner}/**`, actions: ['pull', 'push'] }],
    expiresAt: '2030-01-01T00:00:00.000Z',
    ...overrides,
  };
}

/** Byte order, which listings must follow on both databases. */
function lexical(values: readonly string[]): string[] {
  return [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function runAccountsSuite(name: string, open: () => Promise<MetadataStoreUnderTest>): void {
  function test(title: string, body: (accounts: AccountStore) => Promise<void>): void {
    it(title, async () => {
      const { store, cleanup } = await open();
      try {
        await body(store.accounts);
      } finally {
        await cleanup();
      }
    });
  }

  describe(`metadata suite (accounts): ${name}`, () => {
    describe('users', () => {
      test('a created user can be read back; a second user of that name is refused', async (accounts) => {
        assert.equal(await accounts.getUser('alice'), undefined);
        assert.equal(await accounts.createUser({ name: 'alice', passwordHash: HASH_A }), true);
        assert.equal(await accounts.createUser({ name: 'alice', passwordHash: HASH_B, admin: true }), false);
        const alice = await accounts.getUser('alice');
        assert.ok(alice);
        assert.equal(alice.name, 'alice');
        assert.equal(alice.passwordHash, HASH_A, 'the refused duplicate changed nothing');
        assert.equal(alice.admin, false);
        assert.ok(isIsoTimestamp(alice.createdAt));
      });

      test('lists users in byte order and changes password and admin flag', async (accounts) => {
        const names = ['zed', 'a-b', 'a_b', 'a.b', 'a0', 'root'];
        for (const user of names) await accounts.createUser({ name: user, passwordHash: HASH_A, admin: user === 'root' });
        const listed = await accounts.listUsers();
        assert.deepEqual(
          listed.map((u) => u.name),
          lexical(names),
        );
        assert.deepEqual(
          listed.filter((u) => u.admin).map((u) => u.name),
          ['root'],
        );

        assert.equal(await accounts.setPasswordHash('zed', HASH_B), true);
        assert.equal((await accounts.getUser('zed'))?.passwordHash, HASH_B);
        assert.equal(await accounts.setAdmin('zed', true), true);
        assert.equal((await accounts.getUser('zed'))?.admin, true);
        assert.equal(await accounts.setAdmin('zed', false), true);
        assert.equal((await accounts.getUser('zed'))?.admin, false);

        assert.equal(await accounts.setPasswordHash('nobody', HASH_B), false);
        assert.equal(await accounts.setAdmin('nobody', true), false);
        assert.equal(await accounts.getUser('nobody'), undefined);
      });

      test("deleting a user removes its memberships, grants and tokens, and nobody else's", async (accounts) => {
        await accounts.createUser({ name: 'alice', passwordHash: HASH_A });
        await accounts.createUser({ name: 'bob', passwordHash: HASH_A });
        await accounts.createTeam('devs');
        await accounts.addTeamMember('devs', 'alice');
        await accounts.addTeamMember('devs', 'bob');
        await accounts.setGrant('team-a', 'user', 'alice', 'push');
        await accounts.setGrant('team-a', 'user', 'bob', 'pull');
        await accounts.setGrant('team-a', 'team', 'devs', 'pull');
        await accounts.createApiToken(token('0000000000000001', 'alice'));
        await accounts.createApiToken(token('0000000000000002', 'bob'));

        assert.equal(await accounts.deleteUser('alice'), true);
        assert.equal(await accounts.getUser('alice'), undefined);
        assert.deepEqual(await accounts.teamsOf('alice'), []);
        assert.deepEqual(await accounts.teamMembers('devs'), ['bob']);
        assert.deepEqual(await accounts.grantsOf('user', 'alice'), []);
        assert.deepEqual(await accounts.rolesIn('team-a', 'alice', []), []);
        assert.equal(await accounts.getApiToken('0000000000000001'), undefined);
        assert.deepEqual(await accounts.listApiTokens('alice'), []);

        assert.deepEqual(await accounts.rolesIn('team-a', 'bob', ['devs']), ['pull']);
        assert.ok(await accounts.getApiToken('0000000000000002'));
        assert.deepEqual(
          (await accounts.listGrants('team-a')).map((g) => [g.subjectKind, g.subject, g.role]),
          [
            ['user', 'bob', 'pull'],
            ['team', 'devs', 'pull'],
          ],
        );
        assert.equal(await accounts.deleteUser('alice'), false, 'a second delete finds nothing');
      });

      test('forgetUserName clears what an htpasswd user held in the database', async (accounts) => {
        await accounts.createTeam('ops');
        await accounts.addTeamMember('ops', 'file-user');
        await accounts.setGrant('infra', 'user', 'file-user', 'admin');
        await accounts.createApiToken(token('00000000000000aa', 'file-user'));
        await accounts.forgetUserName('file-user');
        assert.deepEqual(await accounts.teamsOf('file-user'), []);
        assert.deepEqual(await accounts.grantsOf('user', 'file-user'), []);
        assert.deepEqual(await accounts.listApiTokens('file-user'), []);
        assert.ok(await accounts.getTeam('ops'), 'the team stays');
      });
    });

    describe('teams', () => {
      test('teams are created once, listed in byte order, and hold members by name', async (accounts) => {
        assert.equal(await accounts.createTeam('team-b'), true);
        assert.equal(await accounts.createTeam('team_a'), true);
        assert.equal(await accounts.createTeam('team-b'), false);
        assert.deepEqual(
          (await accounts.listTeams()).map((t) => t.name),
          lexical(['team-b', 'team_a']),
        );
        const team = await accounts.getTeam('team-b');
        assert.ok(team && isIsoTimestamp(team.createdAt));
        assert.equal(await accounts.getTeam('nope'), undefined);

        // Members need not be database users: htpasswd users join teams too.
        assert.equal(await accounts.addTeamMember('team-b', 'carol'), 'added');
        assert.equal(await accounts.addTeamMember('team-b', 'carol'), 'already-member');
        assert.equal(await accounts.addTeamMember('team-b', 'alice'), 'added');
        assert.equal(await accounts.addTeamMember('team_a', 'carol'), 'added');
        assert.equal(await accounts.addTeamMember('nope', 'carol'), 'no-team');
        assert.deepEqual(await accounts.teamMembers('team-b'), ['alice', 'carol']);
        assert.deepEqual(await accounts.teamsOf('carol'), lexical(['team-b', 'team_a']));
        assert.deepEqual(await accounts.teamsOf('nobody'), []);

        assert.equal(await accounts.removeTeamMember('team-b', 'carol'), true);
        assert.equal(await accounts.removeTeamMember('team-b', 'carol'), false);
        assert.deepEqual(await accounts.teamsOf('carol'), ['team_a']);
      });

      test("deleting a team removes its memberships and grants, not the users' own grants", async (accounts) => {
        await accounts.createTeam('devs');
        await accounts.addTeamMember('devs', 'alice');
        await accounts.setGrant('app', 'team', 'devs', 'push');
        await accounts.setGrant('app', 'user', 'alice', 'pull');
        assert.deepEqual(await accounts.rolesIn('app', 'alice', ['devs']), ['pull', 'push']);

        assert.equal(await accounts.deleteTeam('devs'), true);
        assert.equal(await accounts.getTeam('devs'), undefined);
        assert.deepEqual(await accounts.teamsOf('alice'), []);
        assert.deepEqual(await accounts.grantsOf('team', 'devs'), []);
        assert.deepEqual(await accounts.rolesIn('app', 'alice', ['devs']), ['pull']);
        assert.equal(await accounts.deleteTeam('devs'), false);

        // A new team of the same name starts empty.
        await accounts.createTeam('devs');
        assert.deepEqual(await accounts.teamMembers('devs'), []);
      });
    });

    describe('namespaces and grants', () => {
      test('a namespace has no row until set; visibility can be changed and the row removed', async (accounts) => {
        assert.equal(await accounts.getNamespace('team-a'), undefined);
        const created = await accounts.setNamespaceVisibility('team-a', 'public');
        assert.equal(created.visibility, 'public');
        assert.ok(isIsoTimestamp(created.createdAt));
        const changed = await accounts.setNamespaceVisibility('team-a', 'private');
        assert.equal(changed.visibility, 'private');
        assert.equal(changed.createdAt, created.createdAt, 'changing visibility keeps the creation time');
        assert.deepEqual(await accounts.getNamespace('team-a'), changed);

        for (const ns of ['z', 'a-b', 'a_b', 'a.b', 'a0']) await accounts.setNamespaceVisibility(ns, 'public');
        assert.deepEqual(
          (await accounts.listNamespaces()).map((n) => n.name),
          lexical(['team-a', 'z', 'a-b', 'a_b', 'a.b', 'a0']),
        );

        await accounts.setGrant('team-a', 'user', 'alice', 'admin');
        assert.equal(await accounts.deleteNamespace('team-a'), true);
        assert.equal(await accounts.getNamespace('team-a'), undefined);
        assert.deepEqual(await accounts.listGrants('team-a'), [], 'its grants went with it');
        assert.equal(await accounts.deleteNamespace('team-a'), false);
      });

      test('counts users, grants and private namespaces', async (accounts) => {
        assert.deepEqual(await accounts.accessControlCounts(), { users: 0, grants: 0, privateNamespaces: 0 });
        await accounts.createUser({ name: 'alice', passwordHash: HASH_A });
        await accounts.createUser({ name: 'bob', passwordHash: HASH_B });
        await accounts.setNamespaceVisibility('open', 'public');
        await accounts.setGrant('open', 'user', 'bob', 'pull');
        await accounts.setNamespaceVisibility('team', 'private');
        await accounts.setGrant('team', 'user', 'alice', 'push');
        await accounts.setGrant('team', 'team', 'devs', 'pull');
        assert.deepEqual(await accounts.accessControlCounts(), { users: 2, grants: 3, privateNamespaces: 1 });
      });

      test("a grant creates a private namespace row and replaces the subject's earlier role", async (accounts) => {
        await accounts.setGrant('team-a', 'user', 'alice', 'pull');
        assert.equal((await accounts.getNamespace('team-a'))?.visibility, 'private');
        await accounts.setNamespaceVisibility('team-a', 'public');
        await accounts.setGrant('team-a', 'user', 'alice', 'delete');
        assert.equal((await accounts.getNamespace('team-a'))?.visibility, 'public', 'a grant keeps the visibility');
        assert.deepEqual(await accounts.listGrants('team-a'), [
          { namespace: 'team-a', subjectKind: 'user', subject: 'alice', role: 'delete' },
        ]);
        assert.deepEqual(await accounts.rolesIn('team-a', 'alice', []), ['delete']);
      });

      test('rolesIn combines direct and team grants in that namespace only', async (accounts) => {
        await accounts.setGrant('team-a', 'user', 'alice', 'pull');
        await accounts.setGrant('team-a', 'team', 'devs', 'push');
        await accounts.setGrant('team-a', 'team', 'ops', 'admin');
        await accounts.setGrant('team-b', 'user', 'alice', 'admin');
        // A user and a team may share a name; the kinds stay apart.
        await accounts.setGrant('team-a', 'team', 'alice', 'delete');

        assert.deepEqual(await accounts.rolesIn('team-a', 'alice', []), ['pull']);
        assert.deepEqual(await accounts.rolesIn('team-a', 'alice', ['devs']), ['pull', 'push']);
        assert.deepEqual(await accounts.rolesIn('team-a', 'alice', ['devs', 'ops', 'qa']), ['pull', 'push', 'admin']);
        assert.deepEqual(await accounts.rolesIn('team-a', 'bob', ['devs']), ['push']);
        assert.deepEqual(await accounts.rolesIn('team-a', 'bob', []), []);
        assert.deepEqual(await accounts.rolesIn('team-c', 'alice', ['devs']), []);
        assert.deepEqual(await accounts.rolesIn('team-a', 'devs', []), [], 'a team grant is not a user grant');
        assert.deepEqual(await accounts.rolesIn('Team-a', 'alice', []), [], 'names are compared exactly');

        assert.deepEqual(
          (await accounts.grantsOf('user', 'alice')).map((g) => [g.namespace, g.role]),
          [
            ['team-a', 'pull'],
            ['team-b', 'admin'],
          ],
        );
        assert.equal(await accounts.revokeGrant('team-a', 'team', 'ops'), true);
        assert.equal(await accounts.revokeGrant('team-a', 'team', 'ops'), false);
        assert.deepEqual(await accounts.rolesIn('team-a', 'alice', ['devs', 'ops']), ['pull', 'push']);
      });
    });

    describe('API tokens', () => {
      test('a token is stored with its scopes and expiry, listed per owner, touched and deleted', async (accounts) => {
        const created = await accounts.createApiToken(
          token('0123456789abcdef', 'alice', {
            scopes: [
              { repository: 'team-a/**', actions: ['pull', 'push'] },
              { repository: 'library/*', actions: ['pull'] },
            ],
          }),
        );
        assert.equal(created.lastUsedAt, undefined);
        const read = await accounts.getApiToken('0123456789abcdef');
        assert.deepEqual(read, created);
        assert.ok(read);
        assert.equal(read.owner, 'alice');
        assert.equal(read.secretHash, 'f'.repeat(64));
        assert.deepEqual(read.scopes, [
          { repository: 'team-a/**', actions: ['pull', 'push'] },
          { repository: 'library/*', actions: ['pull'] },
        ]);
        assert.equal(read.expiresAt, '2030-01-01T00:00:00.000Z');
        assert.ok(isIsoTimestamp(read.createdAt));

        await accounts.createApiToken(token('1111111111111111', 'bob', { expiresAt: undefined }));
        assert.equal((await accounts.getApiToken('1111111111111111'))?.expiresAt, undefined);
        assert.deepEqual(
          (await accounts.listApiTokens('alice')).map((t) => t.id),
          ['0123456789abcdef'],
        );
        assert.deepEqual((await accounts.listApiTokens()).map((t) => t.id).sort(), ['0123456789abcdef', '1111111111111111']);
        assert.deepEqual(await accounts.listApiTokens('carol'), []);

        const used = new Date('2026-05-01T12:00:00.000Z');
        await accounts.touchApiToken('0123456789abcdef', used);
        assert.equal((await accounts.getApiToken('0123456789abcdef'))?.lastUsedAt, used.toISOString());

        assert.equal(await accounts.deleteApiToken('0123456789abcdef'), true);
        assert.equal(await accounts.deleteApiToken('0123456789abcdef'), false);
        assert.equal(await accounts.getApiToken('0123456789abcdef'), undefined);
      });
    });

    describe('settings', () => {
      test('the first value stored under a key wins, also when writers race', async (accounts) => {
        assert.equal(await accounts.getSetting('token.signing-key'), undefined);
        assert.equal(await accounts.setSettingIfAbsent('token.signing-key', 'first'), 'first');
        assert.equal(await accounts.setSettingIfAbsent('token.signing-key', 'second'), 'first');
        assert.equal(await accounts.getSetting('token.signing-key'), 'first');

        const results = await Promise.all(Array.from({ length: 8 }, (_, i) => accounts.setSettingIfAbsent('race', `value-${i}`)));
        const stored = await accounts.getSetting('race');
        assert.ok(stored?.startsWith('value-'));
        assert.deepEqual(new Set(results), new Set([stored]), 'every writer reads back the one stored value');
      });

      test('a large value (a PEM key) round-trips unchanged', async (accounts) => {
        const pem = `-----BEGIN PRIVATE KEY-----\n${'QUJD'.repeat(400)}\n-----END PRIVATE KEY-----\n`;
        assert.equal(await accounts.setSettingIfAbsent('pem', pem), pem);
        assert.equal(await accounts.getSetting('pem'), pem);
      });
    });
  });
}
