// The authenticator and the token service over a real SQLite database and a real htpasswd file:
// which credentials sign in, that a password costs one bcrypt check per cache period, API
// tokens with scope, owner and expiry, login limits, malformed headers, refresh tokens revoked
// by a password change, and the token grant intersecting asked and allowed.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MetadataStore, openSqlite } from '../metadata/index.js';
import { AccessPolicy } from './access-policy.js';
import { createApiTokenSecret, hashTokenSecret } from './api-tokens.js';
import { AuthenticationFailed, Authenticator, parseAuthorization } from './authenticator.js';
import { HtpasswdFile } from './htpasswd.js';
import { LoginLimiter } from './login-limiter.js';
import { hashPassword } from './passwords.js';
import { generateSigningKeyPem, loadSigningKey, TokenIssuer } from './token/index.js';
import { parseScopes, TokenService } from './token-service.js';

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('authenticator', () => {
  let dir: string;
  let metadata: MetadataStore;
  let htpasswdPath: string;

  function authenticator(options: { cacheMs?: number; attempts?: number } = {}): Authenticator {
    return new Authenticator({
      accounts: metadata.accounts,
      htpasswd: new HtpasswdFile(htpasswdPath, { checkIntervalMs: 0 }),
      admins: ['root'],
      credentialCacheMs: options.cacheMs ?? 60_000,
      limiter: new LoginLimiter({ attempts: options.attempts ?? 100, windowMs: 60_000 }),
      tokenVerifier: undefined,
      bcryptCost: 4,
    });
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-authn-'));
    htpasswdPath = join(dir, 'htpasswd');
    await writeFile(
      htpasswdPath,
      `fileuser:${(await hashPassword('file-pass-1', 4)).replace(/^\$2b\$/, '$2y$')}\nroot:${await hashPassword('root-pass-1', 4)}\n`,
    );
    metadata = new MetadataStore(openSqlite(':memory:'));
    await metadata.migrate();
    await metadata.accounts.createUser({ name: 'dbuser', passwordHash: await hashPassword('db-pass-1', 4), admin: false });
    await metadata.accounts.createUser({ name: 'dbadmin', passwordHash: await hashPassword('db-admin-1', 4), admin: true });
    await metadata.accounts.createTeam('devs');
    await metadata.accounts.addTeamMember('devs', 'dbuser');
  });
  after(async () => {
    await metadata.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('signs in htpasswd and database users, with teams and admin status', async () => {
    const auth = authenticator();
    assert.deepEqual(await auth.authenticate(basic('fileuser', 'file-pass-1'), 'c'), {
      kind: 'user',
      name: 'fileuser',
      admin: false,
      teams: [],
    });
    assert.deepEqual(await auth.authenticate(basic('dbuser', 'db-pass-1'), 'c'), {
      kind: 'user',
      name: 'dbuser',
      admin: false,
      teams: ['devs'],
    });
    assert.equal((await auth.authenticate(basic('dbadmin', 'db-admin-1'), 'c')).kind, 'user');
    const root = await auth.authenticate(basic('root', 'root-pass-1'), 'c');
    assert.ok(root.kind === 'user' && root.admin, 'auth.access.admins makes an htpasswd user an admin');
    assert.deepEqual(await auth.authenticate(undefined, 'c'), { kind: 'anonymous' });
  });

  it('refuses wrong passwords, unknown users and malformed headers', async () => {
    const auth = authenticator();
    for (const header of [
      basic('fileuser', 'wrong'),
      basic('nobody', 'file-pass-1'),
      basic('dbuser', ''),
      'Basic !!!',
      'Digest abc',
      'Bearer x.y.z',
    ]) {
      await assert.rejects(auth.authenticate(header, 'c'), AuthenticationFailed, header);
    }
    assert.throws(() => parseAuthorization(`Basic ${Buffer.from('no-colon').toString('base64')}`), AuthenticationFailed);
    assert.deepEqual(parseAuthorization(basic('u', 'p:with:colons')), { kind: 'basic', user: 'u', password: 'p:with:colons' });
    // Empty credentials are what containers/image (podman, skopeo, buildah) answers a Basic
    // challenge with when it has none: anonymous, so what anyone may pull stays pullable.
    assert.deepEqual(parseAuthorization(basic('', '')), { kind: 'none' });
    assert.equal((await auth.authenticate(basic('', ''), 'c')).kind, 'anonymous');
    await assert.rejects(auth.authenticate(basic('', 'p'), 'c'), AuthenticationFailed);
  });

  it('remembers verified credentials, and forgets them when asked (htpasswd reload)', async () => {
    const auth = authenticator();
    await auth.authenticate(basic('fileuser', 'file-pass-1'), 'c');
    // The file changes: the old password keeps working from the cache until forgotten.
    await writeFile(htpasswdPath, `fileuser:${await hashPassword('file-pass-2', 4)}\nroot:${await hashPassword('root-pass-1', 4)}\n`);
    assert.equal((await auth.authenticate(basic('fileuser', 'file-pass-1'), 'c')).kind, 'user');
    auth.forgetCredentials();
    await assert.rejects(auth.authenticate(basic('fileuser', 'file-pass-1'), 'c'), AuthenticationFailed);
    assert.equal((await auth.authenticate(basic('fileuser', 'file-pass-2'), 'c')).kind, 'user');
  });

  it('limits failed sign-ins per client and user, with Retry-After', async () => {
    const auth = authenticator({ attempts: 3, cacheMs: 0 });
    for (let i = 0; i < 3; i++) await assert.rejects(auth.authenticate(basic('dbuser', `bad-${i}`), 'attacker'), AuthenticationFailed);
    await assert.rejects(auth.authenticate(basic('dbuser', 'db-pass-1'), 'attacker'), (error: unknown) => {
      const e = error as { errorName?: string; headers?: Record<string, string> };
      return e.errorName === 'TOO_MANY_REQUESTS' && Number(e.headers?.['Retry-After']) >= 1;
    });
    // Another client, or another user from the same client, is not affected.
    assert.equal((await auth.authenticate(basic('dbuser', 'db-pass-1'), 'someone-else')).kind, 'user');
    assert.equal((await auth.authenticate(basic('dbadmin', 'db-admin-1'), 'attacker')).kind, 'user');
  });

  it('signs in with API tokens: owner name, right secret, not expired, carrying the scope', async () => {
    const auth = authenticator();
    const live = createApiTokenSecret();
    const expired = createApiTokenSecret();
    const scopes = [{ repository: 'ci/*', actions: ['pull' as const, 'push' as const] }];
    await metadata.accounts.createApiToken({
      id: live.id,
      owner: 'dbuser',
      name: 'ci',
      secretHash: hashTokenSecret(live.secret),
      scopes,
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    await metadata.accounts.createApiToken({
      id: expired.id,
      owner: 'dbuser',
      name: 'old',
      secretHash: hashTokenSecret(expired.secret),
      scopes,
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    const principal = await auth.authenticate(basic('dbuser', live.token), 'c');
    assert.ok(principal.kind === 'user');
    assert.deepEqual(principal.apiToken, { id: live.id, scope: scopes });
    await assert.rejects(auth.authenticate(basic('dbadmin', live.token), 'c'), AuthenticationFailed, 'another user name');
    await assert.rejects(auth.authenticate(basic('dbuser', expired.token), 'c'), AuthenticationFailed, 'expired');
    // The last character changed (a fixed '0' would be the right secret whenever it ends in 0).
    const wrongSecret = `${live.token.slice(0, -1)}${live.token.endsWith('0') ? '1' : '0'}`;
    await assert.rejects(auth.authenticate(basic('dbuser', wrongSecret), 'c'), AuthenticationFailed, 'wrong secret');
  });
});

describe('token service', () => {
  let metadata: MetadataStore;
  let service: TokenService;
  let auth: Authenticator;
  let issuer: TokenIssuer;

  before(async () => {
    metadata = new MetadataStore(openSqlite(':memory:'));
    await metadata.migrate();
    await metadata.accounts.createUser({ name: 'ann', passwordHash: await hashPassword('ann-pass-1', 4), admin: false });
    await metadata.accounts.setGrant('team', 'user', 'ann', 'pull');
    await metadata.accounts.setNamespaceVisibility('pub', 'public');
    auth = new Authenticator({
      accounts: metadata.accounts,
      htpasswd: undefined,
      admins: [],
      credentialCacheMs: 0,
      limiter: new LoginLimiter({ attempts: 100, windowMs: 60_000 }),
      tokenVerifier: undefined,
      bcryptCost: 4,
    });
    issuer = new TokenIssuer({
      key: await loadSigningKey(generateSigningKeyPem()),
      issuer: 'i',
      service: 's',
      expirationMs: 300_000,
      refreshExpirationMs: 3_600_000,
    });
    service = new TokenService(auth, new AccessPolicy(metadata.accounts, { rules: [], cacheMs: 0 }), issuer);
  });
  after(() => metadata.close());

  it('parses scopes, dropping malformed ones', () => {
    assert.deepEqual(
      parseScopes(['repository:a/b:pull,push', 'registry:catalog:* repository:c:pull', 'bad', 'repository::pull', 'repository:x:']),
      [
        { type: 'repository', name: 'a/b', actions: ['pull', 'push'] },
        { type: 'registry', name: 'catalog', actions: ['*'] },
        { type: 'repository', name: 'c', actions: ['pull'] },
      ],
    );
  });

  it('grants the intersection; invalid names and unknown types get nothing', async () => {
    const ann = await auth.signIn('ann', 'ann-pass-1', 'c');
    const granted = await service.grant(
      ann,
      parseScopes([
        'repository:team/app:pull,push,delete',
        'repository:pub/x:*',
        'repository:NOPE:pull',
        'repository:other/x:pull',
        'plugin:x:pull',
      ]),
    );
    assert.deepEqual(granted, [
      { type: 'repository', name: 'team/app', actions: ['pull'] },
      { type: 'repository', name: 'pub/x', actions: ['pull'] },
    ]);
  });

  it('hands out refresh tokens that a password change revokes', async () => {
    const ann = await auth.signIn('ann', 'ann-pass-1', 'c');
    const grant = await service.issue(ann, [], true);
    assert.ok(grant.refreshToken);
    const refreshed = await service.refresh(grant.refreshToken, parseScopes(['repository:team/app:pull']));
    assert.deepEqual(refreshed.access, [{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
    await metadata.accounts.setPasswordHash('ann', await hashPassword('ann-pass-2', 4));
    await assert.rejects(service.refresh(grant.refreshToken, []), AuthenticationFailed);
    await assert.rejects(service.refresh('garbage', []), AuthenticationFailed);
  });
});
