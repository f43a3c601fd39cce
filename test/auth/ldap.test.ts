// Signing in against a real directory: Debian's slapd, started by the test with users and groups
// (test/helpers/slapd.ts), and Berth processes configured with auth.ldap. Search-then-bind with a
// service account and direct bind; wrong and empty passwords; a user name that tries to widen the
// search filter; directory groups mapped to teams and followed at every sign-in (a grant to the
// team follows membership); the directory going down (directory users 401 with a message that
// says so, local users still in); LDAPS and StartTLS with a test CA, and a CA that does not match;
// configurations Berth refuses to start with; the token server and the web UI's sign-in.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import Database from 'better-sqlite3';
import { LdapDirectory } from '../../src/auth/ldap/index.js';
import { createCertificateAuthority, issueCertificate } from '../../src/server/dev-cert.js';
import { basicAuthorization } from '../helpers/credentials.js';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { BASE_DN, GROUPS_DN, ldapConfigLines, PEOPLE_DN, SERVICE_ACCOUNT, startSlapd, type Slapd } from '../helpers/slapd.js';

const ALICE = { uid: 'alice', password: 'alice-directory-pw' };
const BOB = { uid: 'bob', password: 'bob-directory-pw' };
/** A directory entry whose name is already taken by an account from elsewhere (OpenID Connect). */
const CAROL = { uid: 'carol', password: 'carol-directory-pw' };
const ROOT = { user: 'root', password: 'root-local-password' };

const skip = testTarget === 'reference' ? 'Berth-only' : false;

/** auth.ldap lines (indented under auth:) for search-then-bind against the slapd. */
function searchThenBind(url: string, extra: readonly string[] = []): string[] {
  return ldapConfigLines(url, [
    'userfilter: "(&(objectClass=inetOrgPerson)(uid={username}))"',
    `groupbasedn: "${GROUPS_DN}"`,
    'groupfilter: "(&(objectClass=groupOfNames)(member={dn}))"',
    'teams: {developers: dev}',
    ...extra,
  ]);
}

async function call(registry: TestRegistry, method: string, path: string, user?: { user: string; password: string }, body?: unknown) {
  const headers: Record<string, string> = {};
  if (user !== undefined) headers.authorization = basicAuthorization(user.user, user.password);
  if (body !== undefined) headers['content-type'] = 'application/json';
  // The web UI's sign-in asks for its header (any value) on top.
  if (path === '/api/v1/session') headers['x-berth-csrf'] = '1';
  const response = await fetch(`${registry.url}${path}`, { method, headers, body: body === undefined ? null : JSON.stringify(body) });
  return { status: response.status, text: await response.text() };
}

const alice = { user: ALICE.uid, password: ALICE.password };
const bob = { user: BOB.uid, password: BOB.password };

describe('LDAP sign-in against slapd', { concurrency: false, skip }, () => {
  let dir = '';
  let slapd: Slapd;
  let registry: TestRegistry | undefined;
  let caFile = '';
  let otherCaFile = '';
  let htpasswd = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-ldap-'));
    const ca = createCertificateAuthority({ days: 2, commonName: 'directory test CA' });
    const server = issueCertificate(ca, { hosts: ['127.0.0.1'], days: 2, usage: 'server' });
    caFile = join(dir, 'ca.crt');
    otherCaFile = join(dir, 'other-ca.crt');
    await writeFile(caFile, ca.cert);
    await writeFile(otherCaFile, createCertificateAuthority({ days: 2 }).cert);
    await writeFile(join(dir, 'server.crt'), server.cert);
    await writeFile(join(dir, 'server.key'), server.key, { mode: 0o600 });
    slapd = await startSlapd({
      tls: { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key') },
      users: [ALICE, BOB, CAROL],
      groups: { developers: [ALICE.uid], operators: [] },
    });
    htpasswd = join(dir, 'htpasswd');
    await writeFile(htpasswd, `${ROOT.user}:${bcrypt.hashSync(ROOT.password, 5).replace(/^\$2b\$/, '$2y$')}\n`);
    registry = await startRegistry({
      extraConfig: [
        'auth:',
        `  htpasswd: {realm: "Berth test", path: ${JSON.stringify(htpasswd)}}`,
        // Every sign-in binds, so membership changes show at the next request.
        ...searchThenBind(slapd.url, ['cachettl: 0s']),
        '  credentialcache: 0s',
        '  access:',
        `    admins: [${ROOT.user}]`,
        '    rules: []',
      ].join('\n'),
    });
    const root = { user: ROOT.user, password: ROOT.password };
    assert.equal((await call(registry, 'POST', '/api/v1/teams', root, { name: 'dev' })).status, 201);
    assert.equal((await call(registry, 'PUT', '/api/v1/namespaces/dev/grants/team/dev', root, { role: 'push' })).status, 200);
  });

  after(async () => {
    await registry?.stop();
    await slapd?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  const reg = (): TestRegistry => {
    assert.ok(registry, 'before() did not finish');
    return registry;
  };
  const mayPush = async (user: { user: string; password: string }): Promise<number> =>
    (await call(reg(), 'POST', '/v2/dev/app/blobs/uploads/', user)).status;

  it('signs a directory user in by search-then-bind and creates the user without a password', async () => {
    assert.equal((await call(reg(), 'GET', '/v2/', alice)).status, 200);
    const me = await call(reg(), 'GET', '/api/v1/me', alice);
    assert.equal(me.status, 200);
    assert.equal(JSON.parse(me.text).name, 'alice');
    const users = await call(reg(), 'GET', '/api/v1/users', { user: ROOT.user, password: ROOT.password });
    assert.match(users.text, /"name":"alice"/, 'the directory user has a row');
    assert.doesNotMatch(users.text, /alice-directory-pw/);
  });

  it('never signs a directory entry in as an account of another origin with the same name', async () => {
    // An account an OpenID Connect sign-in created has no password either; the directory must
    // not take it over (only accounts it created itself are its own).
    const db = new Database(join(reg().dataDir, 'berth.db'));
    try {
      db.prepare('INSERT INTO users (name, password_hash, admin, created_at) VALUES (?, ?, 0, ?)').run(
        'carol',
        '!oidc:corp',
        new Date().toISOString(),
      );
    } finally {
      db.close();
    }
    const taken = await call(reg(), 'GET', '/v2/', { user: CAROL.uid, password: CAROL.password });
    assert.equal(taken.status, 401, taken.text);
  });

  it('refuses a wrong password, an empty one and an unknown user with 401', async () => {
    const wrong = await call(reg(), 'GET', '/v2/', { user: 'alice', password: 'not-her-password' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /UNAUTHORIZED/);
    assert.equal((await call(reg(), 'GET', '/v2/', { user: 'alice', password: '' })).status, 401);
    assert.equal((await call(reg(), 'GET', '/v2/', { user: 'nobody', password: 'whatever-pw' })).status, 401);
  });

  it('escapes the user name in the search filter: a wildcard finds nobody', async () => {
    // Unescaped, "al*" would match alice's entry alone and her password would bind.
    assert.equal((await call(reg(), 'GET', '/v2/', { user: 'al*', password: ALICE.password })).status, 401);
    assert.equal((await call(reg(), 'GET', '/v2/', { user: '*)(uid=*', password: ALICE.password })).status, 401);
    // The directory client itself, below Berth's user-name rule.
    const directory = new LdapDirectory({
      url: slapd.url,
      startTls: false,
      caFile: undefined,
      timeoutMs: 5_000,
      service: SERVICE_ACCOUNT,
      baseDn: PEOPLE_DN,
      userFilter: '(&(objectClass=inetOrgPerson)(uid={username}))',
      userDnTemplate: undefined,
      groups: { baseDn: GROUPS_DN, filter: '(member={dn})', nameAttribute: 'cn', memberOfAttribute: undefined },
      poolSize: 2,
    });
    try {
      assert.equal(await directory.authenticate('al*', ALICE.password), undefined);
      assert.equal(await directory.authenticate('*)(uid=*', ALICE.password), undefined);
      assert.equal(await directory.authenticate('alice)(|(uid=*', ALICE.password), undefined);
      const entry = await directory.authenticate('alice', ALICE.password);
      assert.deepEqual(entry, { dn: slapd.userDn('alice'), groups: ['developers'] });
    } finally {
      await directory.close();
    }
  });

  it('maps directory groups to teams at every sign-in, so a team grant follows membership', async () => {
    assert.equal(await mayPush(alice), 202, 'alice is in developers → team dev → push on dev/');
    assert.equal(await mayPush(bob), 403, 'bob is in no group');
    await slapd.addMember('developers', 'bob');
    assert.equal(await mayPush(bob), 202, 'added to the group in the directory');
    const team = await call(reg(), 'GET', '/api/v1/teams/dev', { user: ROOT.user, password: ROOT.password });
    assert.deepEqual(JSON.parse(team.text).members, ['alice', 'bob']);
    await slapd.removeMember('developers', 'bob');
    assert.equal(await mayPush(bob), 403, 'removed from the group in the directory');
    const after = await call(reg(), 'GET', '/api/v1/teams/dev', { user: ROOT.user, password: ROOT.password });
    assert.deepEqual(JSON.parse(after.text).members, ['alice']);
  });

  it('signs a directory user in at the web UI and at the token endpoint alike', async () => {
    const session = await call(reg(), 'POST', '/api/v1/session', undefined, { username: 'alice', password: ALICE.password });
    assert.equal(session.status, 200, session.text);
    const wrong = await call(reg(), 'POST', '/api/v1/session', undefined, { username: 'alice', password: 'nope-nope' });
    assert.equal(wrong.status, 401);
  });

  it('fails closed when the directory is down, and local users still sign in', async () => {
    const root = { user: ROOT.user, password: ROOT.password };
    assert.equal((await call(reg(), 'POST', '/api/v1/users', root, { name: 'dbuser', password: 'database-user-pw' })).status, 201);
    await slapd.stop();
    try {
      const down = await call(reg(), 'GET', '/v2/', alice);
      assert.equal(down.status, 401);
      assert.match(down.text, /directory \(LDAP\) cannot be reached/);
      assert.equal((await call(reg(), 'GET', '/v2/', root)).status, 200, 'the htpasswd administrator');
      assert.equal((await call(reg(), 'GET', '/v2/', { user: 'dbuser', password: 'database-user-pw' })).status, 200, 'a database user');
      assert.match(reg().output(), /the directory cannot be reached/);
    } finally {
      await slapd.start();
    }
    assert.equal((await call(reg(), 'GET', '/v2/', alice)).status, 200, 'back when the directory is');
  });

  it('issues tokens to directory users (token server) and speaks LDAPS and StartTLS with the configured CA', async () => {
    const variants: { name: string; lines: string[]; works: boolean }[] = [
      { name: 'ldaps://', lines: searchThenBind(slapd.ldapsUrl ?? '', [`cafile: ${JSON.stringify(caFile)}`]), works: true },
      {
        name: 'StartTLS',
        lines: searchThenBind(slapd.url, ['starttls: true', `cafile: ${JSON.stringify(caFile)}`]),
        works: true,
      },
      {
        name: 'ldaps:// with a CA that did not sign the server',
        lines: searchThenBind(slapd.ldapsUrl ?? '', [`cafile: ${JSON.stringify(otherCaFile)}`]),
        works: false,
      },
    ];
    for (const variant of variants) {
      const tokenRegistry = await startRegistry({ extraConfig: ['auth:', '  tokenserver: {enabled: true}', ...variant.lines].join('\n') });
      try {
        const token = await call(tokenRegistry, 'GET', '/token?service=berth&scope=repository:dev/app:pull', alice);
        assert.equal(token.status, variant.works ? 200 : 401, `${variant.name}: ${token.text}\n${tokenRegistry.output().slice(-1500)}`);
        if (variant.works) {
          assert.ok(JSON.parse(token.text).token, variant.name);
        } else {
          assert.match(token.text, /cannot be reached/, variant.name);
        }
      } finally {
        await tokenRegistry.stop();
      }
    }
  });

  it('reads groups from memberOf with direct bind (no service account)', async () => {
    const direct = await startRegistry({
      extraConfig: [
        'auth:',
        '  ldap:',
        `    url: ${slapd.url}`,
        `    userdn: "uid={username},${PEOPLE_DN}"`,
        `    basedn: "${BASE_DN}"`,
        '    memberofattribute: memberOf',
        '    samenameteams: true',
        '    cachettl: 0s',
        '  credentialcache: 0s',
        '  access:',
        '    admins: [alice]',
        '    rules: []',
      ].join('\n'),
    });
    try {
      const admin = alice;
      assert.equal((await call(direct, 'POST', '/api/v1/teams', admin, { name: 'developers' })).status, 201);
      assert.equal((await call(direct, 'GET', '/v2/', bob)).status, 200);
      const team = await call(direct, 'GET', '/api/v1/teams/developers', admin);
      assert.deepEqual(JSON.parse(team.text).members, ['alice'], 'alice from memberOf; bob is in no group');
      assert.equal((await call(direct, 'GET', '/v2/', { user: 'bob', password: ALICE.password })).status, 401);
    } finally {
      await direct.stop();
    }
  });

  it('refuses to start with a CA file it cannot read, no base DN, a URL that is not LDAP, or client certificates without client CAs', async () => {
    const cases: { lines: string[]; message: RegExp }[] = [
      {
        lines: searchThenBind(slapd.ldapsUrl ?? '', [`cafile: ${JSON.stringify(join(dir, 'missing.crt'))}`]),
        message: /auth\.ldap\.cafile: cannot read/,
      },
      {
        lines: ['  ldap:', `    url: ${slapd.url}`, `    binddn: "${SERVICE_ACCOUNT.dn}"`, '    bindpassword: x'],
        message: /auth\.ldap\.basedn/,
      },
      {
        lines: ['  ldap:', '    url: http://ldap.example.org', `    userdn: "uid={username},${PEOPLE_DN}"`, `    basedn: "${BASE_DN}"`],
        message: /auth\.ldap\.url/,
      },
    ];
    cases.push({
      lines: ['  clientcertificates: {usernamefrom: cn}'],
      message: /auth\.clientcertificates: needs http\.tls with clientcas/,
    });
    for (const { lines, message } of cases) {
      await assert.rejects(startRegistry({ extraConfig: ['auth:', ...lines].join('\n') }), message);
    }
  });
});
