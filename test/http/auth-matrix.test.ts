// The authorization matrix: every endpoint of the registry API called as every kind of caller
// (anonymous, wrong password, expired token, token for another repository, outsider, puller,
// pusher, deleter, admin), asserting the exact status of each cell, in Basic mode (htpasswd)
// and in token mode (Berth's token server). Also: answers do not reveal whether a private
// repository exists, cross-repository mounts need pull on the source, the catalog lists only
// what the caller may pull, and wrong credentials never fall back to anonymous access. The Basic
// matrix runs once more with every user in an LDAP directory (slapd). The other sign-in methods
// (client certificates, OpenID Connect, CI workload tokens) run a compact matrix of the same
// grants in test/auth/matrix-sign-in-methods.test.ts.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { SignJWT, importPKCS8 } from 'jose';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { ldapConfigLines, startSlapd, type Slapd } from '../helpers/slapd.js';
import { MEDIA, sha256 } from './support.js';
import { basicAuthorization } from '../helpers/credentials.js';
import { callRegistry as call, type RegistryAnswer as Call } from '../helpers/call.js';

const berthOnly = { skip: testTarget === 'reference' ? 'per-user permissions are Berth-only' : false };

const PASSWORDS = {
  outsider: 'outsider-secret-1',
  puller: 'puller-secret-1',
  pusher: 'pusher-secret-1',
  deleter: 'deleter-secret-1',
  admin: 'admin-secret-1',
} as const;
type User = keyof typeof PASSWORDS;
const USERS = Object.keys(PASSWORDS) as User[];

const ACCESS_CONFIG = [
  '  access:',
  '    admins: [admin]',
  '    rules:',
  '      - repository: "private/**"',
  '        users: {puller: [pull], pusher: [pull, push], deleter: [pull, push, delete]}',
  '      - repository: "sandbox/**"',
  '        authenticated: [pull, push]',
  '      - repository: "public/**"',
  '        anonymous: [pull]',
  '        users: {admin: ["*"]}',
];

const PRIVATE = 'private/app';

async function writeHtpasswd(dir: string): Promise<string> {
  const file = join(dir, 'htpasswd');
  // $2y$, as `htpasswd -B` writes it; cost 4 keeps the test fast.
  const lines = USERS.map((user) => `${user}:${bcrypt.hashSync(PASSWORDS[user], 4).replace(/^\$2[ab]\$/, '$2y$')}`);
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

/** What the admin prepares before the matrix runs: content each cell can act on. */
interface Fixture {
  manifest: { bytes: Buffer; digest: string };
  layer: { bytes: Buffer; digest: string };
  /** Per identity: an unreferenced blob to delete, an upload session, a tag to delete. */
  blobToDelete: Map<string, string>;
  session: Map<string, string>;
  sessionToCancel: Map<string, string>;
}

async function pushAs(registry: TestRegistry, authorization: string, repo: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  const put = await call(registry, 'POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, authorization, { body: data });
  assert.equal(put.status, 201, put.text);
  return digest;
}

async function prepare(registry: TestRegistry, admin: string, identities: readonly string[]): Promise<Fixture> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = randomBytes(700);
  const configDigest = await pushAs(registry, admin, PRIVATE, config);
  const layerDigest = await pushAs(registry, admin, PRIVATE, layer);
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, digest: configDigest, size: config.length },
      layers: [{ mediaType: MEDIA.ociLayer, digest: layerDigest, size: layer.length }],
    }),
  );
  const manifestDigest = sha256(manifestBytes);
  const fixture: Fixture = {
    manifest: { bytes: manifestBytes, digest: manifestDigest },
    layer: { bytes: layer, digest: layerDigest },
    blobToDelete: new Map(),
    session: new Map(),
    sessionToCancel: new Map(),
  };
  for (const tag of ['v1', ...identities.map((id) => `del-${id}`)]) {
    const put = await call(registry, 'PUT', `/v2/${PRIVATE}/manifests/${tag}`, admin, {
      body: manifestBytes,
      headers: { 'content-type': MEDIA.ociManifest },
    });
    assert.equal(put.status, 201, put.text);
  }
  for (const id of identities) {
    fixture.blobToDelete.set(id, await pushAs(registry, admin, PRIVATE, randomBytes(64)));
    for (const sessions of [fixture.session, fixture.sessionToCancel]) {
      const started = await call(registry, 'POST', `/v2/${PRIVATE}/blobs/uploads/`, admin);
      assert.equal(started.status, 202, started.text);
      sessions.set(id, new URL(started.headers.get('location') ?? '', registry.url).pathname);
    }
  }
  return fixture;
}

type Expectation = Record<string, number>;

interface Cell {
  readonly name: string;
  run(registry: TestRegistry, fixture: Fixture, id: string, authorization: string | undefined): Promise<Call>;
}

const CELLS: readonly Cell[] = [
  { name: 'GET /v2/', run: (r, _f, _id, a) => call(r, 'GET', '/v2/', a) },
  { name: 'GET tags', run: (r, _f, _id, a) => call(r, 'GET', `/v2/${PRIVATE}/tags/list`, a) },
  { name: 'GET tags of a missing private repo', run: (r, _f, _id, a) => call(r, 'GET', '/v2/private/missing/tags/list', a) },
  {
    name: 'GET manifest',
    run: (r, _f, _id, a) => call(r, 'GET', `/v2/${PRIVATE}/manifests/v1`, a, { headers: { accept: MEDIA.ociManifest } }),
  },
  { name: 'HEAD manifest', run: (r, f, _id, a) => call(r, 'HEAD', `/v2/${PRIVATE}/manifests/${f.manifest.digest}`, a) },
  {
    name: 'PUT manifest',
    run: (r, f, id, a) =>
      call(r, 'PUT', `/v2/${PRIVATE}/manifests/put-${id}`, a, { body: f.manifest.bytes, headers: { 'content-type': MEDIA.ociManifest } }),
  },
  { name: 'DELETE tag', run: (r, _f, id, a) => call(r, 'DELETE', `/v2/${PRIVATE}/manifests/del-${id}`, a) },
  { name: 'GET blob', run: (r, f, _id, a) => call(r, 'GET', `/v2/${PRIVATE}/blobs/${f.layer.digest}`, a) },
  { name: 'HEAD blob', run: (r, f, _id, a) => call(r, 'HEAD', `/v2/${PRIVATE}/blobs/${f.layer.digest}`, a) },
  { name: 'DELETE blob', run: (r, f, id, a) => call(r, 'DELETE', `/v2/${PRIVATE}/blobs/${f.blobToDelete.get(id)}`, a) },
  { name: 'POST upload', run: (r, _f, _id, a) => call(r, 'POST', `/v2/${PRIVATE}/blobs/uploads/`, a) },
  { name: 'GET upload status', run: (r, f, id, a) => call(r, 'GET', f.session.get(id) ?? '', a) },
  {
    name: 'PATCH upload',
    run: (r, f, id, a) =>
      call(r, 'PATCH', f.session.get(id) ?? '', a, { body: 'abc', headers: { 'content-type': 'application/octet-stream' } }),
  },
  {
    name: 'PUT upload',
    // Completes the session the PATCH cell wrote "abc" into.
    run: (r, f, id, a) => call(r, 'PUT', `${f.session.get(id) ?? ''}?digest=${sha256('abc')}`, a),
  },
  { name: 'DELETE upload', run: (r, f, id, a) => call(r, 'DELETE', f.sessionToCancel.get(id) ?? '', a) },
  { name: 'GET referrers', run: (r, f, _id, a) => call(r, 'GET', `/v2/${PRIVATE}/referrers/${f.manifest.digest}`, a) },
  {
    name: 'POST mount from private into sandbox',
    run: (r, f, id, a) => call(r, 'POST', `/v2/sandbox/${id.toLowerCase()}/blobs/uploads/?mount=${f.layer.digest}&from=${PRIVATE}`, a),
  },
];

// Basic mode. Anonymous and wrong credentials: 401; signed in without the right: 403.
const BASIC: Record<string, Expectation> = {
  'GET /v2/': { anonymous: 401, wrongPassword: 401, outsider: 200, puller: 200, pusher: 200, deleter: 200, admin: 200 },
  'GET tags': { anonymous: 401, wrongPassword: 401, outsider: 403, puller: 200, pusher: 200, deleter: 200, admin: 200 },
  'GET tags of a missing private repo': {
    anonymous: 401,
    wrongPassword: 401,
    outsider: 403,
    puller: 404,
    pusher: 404,
    deleter: 404,
    admin: 404,
  },
  'GET manifest': { anonymous: 401, wrongPassword: 401, outsider: 403, puller: 200, pusher: 200, deleter: 200, admin: 200 },
  'HEAD manifest': { anonymous: 401, wrongPassword: 401, outsider: 403, puller: 200, pusher: 200, deleter: 200, admin: 200 },
  'PUT manifest': { anonymous: 401, wrongPassword: 401, outsider: 403, puller: 403, pusher: 201, deleter: 201, admin: 201 },
  'DELETE tag': { anonymous: 401, wrongPassword: 401, outsider: 403, puller: 403, pusher: 403, deleter: 202, admin: 202 },
  'GET blob': { anonymous: 401, wrongPassword: 401, outsider: 403, puller: 200, pusher: 200, deleter: 200, admin: 200 },
  'HEAD blob': { anonymous: 401, wrongPassword: 401, outsider: 403, puller: 200, pusher: 200, deleter: 200, admin: 200 },
  'DELETE blob': { anonymous: 401, wrongPassword: 401, outsider: 403, puller: 403, pusher: 403, deleter: 202, admin: 202 },
  'POST upload': { anonymous: 401, wrongPassword: 401, outsider: 403, puller: 403, pusher: 202, deleter: 202, admin: 202 },
  'GET upload status': { anonymous: 401, wrongPassword: 401, outsider: 403, puller: 403, pusher: 204, deleter: 204, admin: 204 },
  'PATCH upload': { anonymous: 401, wrongPassword: 401, outsider: 403, puller: 403, pusher: 202, deleter: 202, admin: 202 },
  'PUT upload': { anonymous: 401, wrongPassword: 401, outsider: 403, puller: 403, pusher: 201, deleter: 201, admin: 201 },
  'DELETE upload': { anonymous: 401, wrongPassword: 401, outsider: 403, puller: 403, pusher: 204, deleter: 204, admin: 204 },
  'GET referrers': { anonymous: 401, wrongPassword: 401, outsider: 403, puller: 200, pusher: 200, deleter: 200, admin: 200 },
  // The outsider may push to sandbox but not read private: the mount becomes an upload (202).
  'POST mount from private into sandbox': {
    anonymous: 401,
    wrongPassword: 401,
    outsider: 202,
    puller: 201,
    pusher: 201,
    deleter: 201,
    admin: 201,
  },
};

/** Token mode: everything a token does not grant is 401, so the client can fetch a better one. */
function tokenExpectations(): Record<string, Expectation> {
  const out: Record<string, Expectation> = {};
  for (const [cell, row] of Object.entries(BASIC)) {
    const converted: Expectation = {};
    for (const [id, status] of Object.entries(row)) converted[id] = status === 403 ? 401 : status;
    converted['expiredToken'] = 401;
    converted['otherRepoToken'] = cell === 'GET /v2/' ? 200 : 401;
    out[cell] = converted;
  }
  return out;
}

/** Runs every cell for every identity; reports all mismatches at once. */
async function runMatrix(
  registry: TestRegistry,
  fixture: Fixture,
  expectations: Record<string, Expectation>,
  credentials: ReadonlyMap<string, string | undefined>,
): Promise<void> {
  const mismatches: string[] = [];
  for (const cell of CELLS) {
    const row = expectations[cell.name];
    assert.ok(row, `no expectations for ${cell.name}`);
    for (const [id, authorization] of credentials) {
      const expected = row[id];
      assert.ok(expected !== undefined, `no expectation for ${cell.name} as ${id}`);
      const result = await cell.run(registry, fixture, id, authorization);
      if (result.status !== expected)
        mismatches.push(`${cell.name} as ${id}: ${result.status}, expected ${expected} ${result.text.slice(0, 200)}`);
      if (result.status === 401) {
        if (!result.headers.get('www-authenticate')) mismatches.push(`${cell.name} as ${id}: 401 without WWW-Authenticate`);
      }
      if (result.status >= 400 && cell.name.startsWith('HEAD') === false) {
        const body = JSON.parse(result.text || '{}') as { errors?: { code: string }[] };
        if (!Array.isArray(body.errors) || body.errors.length === 0) mismatches.push(`${cell.name} as ${id}: no OCI error body`);
      }
    }
  }
  assert.deepEqual(mismatches, []);
}

/** The Basic matrix's callers: nobody, a wrong password, and every user with their password. */
function basicCredentials(): Map<string, string | undefined> {
  return new Map<string, string | undefined>([
    ['anonymous', undefined],
    ['wrongPassword', basicAuthorization('puller', 'not-the-password')],
    ...USERS.map((user): [string, string] => [user, basicAuthorization(user, PASSWORDS[user])]),
  ]);
}

describe('authorization matrix, Basic mode (htpasswd)', berthOnly, () => {
  let registry: TestRegistry;
  let fixture: Fixture;
  const credentials = basicCredentials();

  before(async () => {
    const dir = (await import('node:fs/promises')).mkdtemp(join((await import('node:os')).tmpdir(), 'berth-auth-'));
    const htpasswd = await writeHtpasswd(await dir);
    registry = await startRegistry({
      extraConfig: [
        'auth:',
        '  htpasswd:',
        '    realm: test-realm',
        `    path: ${JSON.stringify(htpasswd)}`,
        // The matrix sends many wrong passwords; the token-mode test covers the limit.
        '  ratelimit: {attempts: 1000}',
        ...ACCESS_CONFIG,
      ].join('\n'),
    });
    fixture = await prepare(registry, basicAuthorization('admin', PASSWORDS.admin), [...credentials.keys()]);
  });
  after(() => registry?.stop());

  it('answers every endpoint for every caller with the exact status', async () => {
    await runMatrix(registry, fixture, BASIC, credentials);
  });

  it('challenges with Basic and the configured realm', async () => {
    const result = await call(registry, 'GET', '/v2/', undefined);
    assert.equal(result.status, 401);
    assert.equal(result.headers.get('www-authenticate'), 'Basic realm="test-realm", charset="UTF-8"');
    assert.equal(JSON.parse(result.text).errors[0].code, 'UNAUTHORIZED');
  });

  it('lists in the catalog only what the caller may pull', async () => {
    const admin = basicAuthorization('admin', PASSWORDS.admin);
    await pushAs(registry, admin, 'public/tool', randomBytes(10));
    const manifest = fixture.manifest.bytes;
    // Repositories appear in the catalog once they have a manifest.
    for (const repo of ['public/tool', 'sandbox/shared']) {
      await call(registry, 'POST', `/v2/${repo}/blobs/uploads/?mount=${fixture.layer.digest}&from=${PRIVATE}`, admin);
      const configBlob = JSON.parse(manifest.toString()).config.digest as string;
      await call(registry, 'POST', `/v2/${repo}/blobs/uploads/?mount=${configBlob}&from=${PRIVATE}`, admin);
      const put = await call(registry, 'PUT', `/v2/${repo}/manifests/latest`, admin, {
        body: manifest,
        headers: { 'content-type': MEDIA.ociManifest },
      });
      assert.equal(put.status, 201, put.text);
    }
    const catalog = async (authorization: string | undefined): Promise<string[]> => {
      const result = await call(registry, 'GET', '/v2/_catalog', authorization);
      assert.equal(result.status, 200, result.text);
      return (JSON.parse(result.text) as { repositories: string[] }).repositories;
    };
    assert.deepEqual(await catalog(undefined), ['public/tool']);
    assert.deepEqual(await catalog(basicAuthorization('outsider', PASSWORDS.outsider)), ['public/tool', 'sandbox/shared']);
    assert.deepEqual(await catalog(basicAuthorization('puller', PASSWORDS.puller)), [PRIVATE, 'public/tool', 'sandbox/shared']);
    // Pages are filled with visible repositories only, and the Link points past them.
    const first = await call(registry, 'GET', '/v2/_catalog?n=1', basicAuthorization('outsider', PASSWORDS.outsider));
    assert.deepEqual(JSON.parse(first.text).repositories, ['public/tool']);
    assert.match(first.headers.get('link') ?? '', /last=public%2Ftool/);
  });

  it('writes no password or credential into its logs', () => {
    const output = registry.output();
    assert.match(output, /"status":401/, 'the access log is on');
    for (const [id, authorization] of credentials) {
      if (authorization === undefined) continue;
      assert.ok(!output.includes(authorization.slice(6)), `credentials of ${id} appear in the log`);
    }
    for (const password of Object.values(PASSWORDS)) assert.ok(!output.includes(password), 'a password appears in the log');
  });

  it('lets anonymous callers pull public repositories, but never with wrong credentials', async () => {
    const anonymous = await call(registry, 'GET', '/v2/public/tool/manifests/latest', undefined, {
      headers: { accept: MEDIA.ociManifest },
    });
    assert.equal(anonymous.status, 200, anonymous.text);
    const wrong = await call(registry, 'GET', '/v2/public/tool/manifests/latest', basicAuthorization('outsider', 'nope'));
    assert.equal(wrong.status, 401);
    const anonymousPush = await call(registry, 'POST', '/v2/public/tool/blobs/uploads/', undefined);
    assert.equal(anonymousPush.status, 401);
  });
});

// The same matrix with every user signed in against a directory (issue 19: once per sign-in method).
describe('authorization matrix, Basic mode with the users in an LDAP directory (slapd)', berthOnly, () => {
  let registry: TestRegistry | undefined;
  let slapd: Slapd | undefined;
  let fixture: Fixture;
  const credentials = basicCredentials();

  before(async () => {
    slapd = await startSlapd({ users: USERS.map((uid) => ({ uid, password: PASSWORDS[uid] })), groups: {} });
    registry = await startRegistry({
      extraConfig: ['auth:', ...ldapConfigLines(slapd.url), '  ratelimit: {attempts: 1000}', ...ACCESS_CONFIG].join('\n'),
    });
    fixture = await prepare(registry, basicAuthorization('admin', PASSWORDS.admin), [...credentials.keys()]);
  });
  after(async () => {
    await registry?.stop();
    await slapd?.destroy();
  });

  it('answers every endpoint for every caller with the exact status', async () => {
    assert.ok(registry);
    await runMatrix(registry, fixture, BASIC, credentials);
  });
});

describe('authorization matrix, token mode (built-in token server)', berthOnly, () => {
  let registry: TestRegistry;
  let fixture: Fixture;
  let signingKeyPem: string;
  const credentials = new Map<string, string | undefined>();

  async function tokenFor(user: User | undefined, scopes: readonly string[]): Promise<string> {
    const query = new URLSearchParams({ service: 'berth-test' });
    for (const scope of scopes) query.append('scope', scope);
    const result = await call(
      registry,
      'GET',
      `/token?${query}`,
      user === undefined ? undefined : basicAuthorization(user, PASSWORDS[user]),
    );
    assert.equal(result.status, 200, result.text);
    return (JSON.parse(result.text) as { token: string }).token;
  }

  const ALL_SCOPES = [`repository:${PRIVATE}:pull,push,delete`, 'repository:private/missing:pull', 'registry:catalog:*'];

  before(async () => {
    const { mkdtemp } = await import('node:fs/promises');
    const dir = await mkdtemp(join((await import('node:os')).tmpdir(), 'berth-auth-'));
    const htpasswd = await writeHtpasswd(dir);
    signingKeyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const keyFile = join(dir, 'signing.pem');
    await writeFile(keyFile, signingKeyPem);
    registry = await startRegistry({
      extraConfig: [
        'auth:',
        '  htpasswd:',
        `    path: ${JSON.stringify(htpasswd)}`,
        '  tokenserver:',
        '    enabled: true',
        '    service: berth-test',
        '    issuer: berth-test-issuer',
        `    signingkey: ${JSON.stringify(keyFile)}`,
        ...ACCESS_CONFIG,
      ].join('\n'),
    });
    credentials.set('anonymous', undefined);
    credentials.set('wrongPassword', 'Bearer not.a.token');
    const key = await importPKCS8(signingKeyPem, 'ES256');
    const expired = await new SignJWT({ access: [{ type: 'repository', name: PRIVATE, actions: ['pull', 'push', 'delete'] }] })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .setIssuer('berth-test-issuer')
      .setAudience('berth-test')
      .setSubject('admin')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 600)
      .setNotBefore(Math.floor(Date.now() / 1000) - 600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 300)
      .setJti(randomBytes(8).toString('hex'))
      .sign(key);
    credentials.set('expiredToken', `Bearer ${expired}`);
    credentials.set('otherRepoToken', `Bearer ${await tokenFor('admin', ['repository:sandbox/elsewhere:pull,push'])}`);
    for (const user of USERS) {
      const scopes = [...ALL_SCOPES, `repository:sandbox/${user}:pull,push`];
      credentials.set(user, `Bearer ${await tokenFor(user, scopes)}`);
    }
    fixture = await prepare(registry, `Bearer ${await tokenFor('admin', ALL_SCOPES)}`, [...credentials.keys()]);
  });
  after(() => registry?.stop());

  it('answers every endpoint for every caller with the exact status', async () => {
    await runMatrix(registry, fixture, tokenExpectations(), credentials);
  });

  it('challenges with the token realm, service and scope; insufficient_scope for a weaker token', async () => {
    const anonymous = await call(registry, 'GET', `/v2/${PRIVATE}/tags/list`, undefined);
    assert.equal(anonymous.status, 401);
    assert.equal(
      anonymous.headers.get('www-authenticate'),
      `Bearer realm="${registry.url}/token",service="berth-test",scope="repository:${PRIVATE}:pull"`,
    );
    const reader = await call(registry, 'POST', `/v2/${PRIVATE}/blobs/uploads/`, credentials.get('puller'));
    assert.equal(reader.status, 401);
    assert.match(reader.headers.get('www-authenticate') ?? '', /scope="repository:private\/app:pull,push",error="insufficient_scope"$/);
    // What podman prints: "denied: requested access to the resource is denied".
    assert.deepEqual(JSON.parse(reader.text).errors[0].code, 'DENIED');
    const expired = await call(registry, 'GET', `/v2/${PRIVATE}/tags/list`, credentials.get('expiredToken'));
    assert.match(expired.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });

  it('grants the intersection of what was asked and what is allowed', async () => {
    const token = await tokenFor('puller', [
      `repository:${PRIVATE}:pull,push,delete`,
      'repository:sandbox/x:push',
      'repository:other/y:pull',
    ]);
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
    assert.deepEqual(claims['access'], [
      { type: 'repository', name: PRIVATE, actions: ['pull'] },
      { type: 'repository', name: 'sandbox/x', actions: ['push'] },
    ]);
    assert.equal(claims['sub'], 'puller');
    assert.equal(claims['iss'], 'berth-test-issuer');
    assert.equal(claims['aud'], 'berth-test');
    for (const claim of ['exp', 'nbf', 'iat', 'jti']) assert.ok(claims[claim] !== undefined, claim);
    const anonymous = await tokenFor(undefined, [`repository:${PRIVATE}:pull`, 'repository:public/x:pull']);
    const anonymousClaims = JSON.parse(Buffer.from(anonymous.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
    assert.deepEqual(anonymousClaims['access'], [{ type: 'repository', name: 'public/x', actions: ['pull'] }]);
  });

  it('refuses wrong passwords at /token and rate-limits repeated failures', async () => {
    const wrong = await call(registry, 'GET', '/token?service=berth-test', basicAuthorization('pusher', 'wrong'));
    assert.equal(wrong.status, 401);
    assert.equal(JSON.parse(wrong.text).errors[0].code, 'UNAUTHORIZED');
    let limited: Call | undefined;
    for (let attempt = 0; attempt < 12 && limited === undefined; attempt++) {
      const result = await call(registry, 'GET', '/token?service=berth-test', basicAuthorization('deleter', `wrong-${attempt}`));
      if (result.status === 429) limited = result;
      else assert.equal(result.status, 401);
    }
    assert.ok(limited, 'no 429 after repeated failures');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal(JSON.parse(limited.text).errors[0].code, 'TOOMANYREQUESTS');
    // Guessing cannot lock out a user who is already signed in: verified credentials are
    // remembered, and only unverified ones count against the limit.
    const right = await call(registry, 'GET', '/token?service=berth-test', basicAuthorization('deleter', PASSWORDS.deleter));
    assert.equal(right.status, 200);
    const otherClientUser = await call(registry, 'GET', '/token?service=berth-test', basicAuthorization('outsider', PASSWORDS.outsider));
    assert.equal(otherClientUser.status, 200);
  });

  it('serves the OAuth2 password and refresh_token grants (docker login)', async () => {
    const form = new URLSearchParams({
      grant_type: 'password',
      username: 'pusher',
      password: PASSWORDS.pusher,
      service: 'berth-test',
      client_id: 'docker',
      access_type: 'offline',
      scope: `repository:${PRIVATE}:pull,push`,
    });
    const result = await call(registry, 'POST', '/token', undefined, {
      body: form.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(result.status, 200, result.text);
    const grant = JSON.parse(result.text) as { access_token: string; refresh_token: string; scope: string; expires_in: number };
    assert.equal(grant.scope, `repository:${PRIVATE}:pull,push`);
    assert.ok(grant.refresh_token);
    const refreshed = await call(registry, 'POST', '/token', undefined, {
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: grant.refresh_token,
        service: 'berth-test',
        scope: `repository:${PRIVATE}:pull`,
      }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(refreshed.status, 200, refreshed.text);
    const access = (JSON.parse(refreshed.text) as { access_token: string }).access_token;
    const pulled = await call(registry, 'GET', `/v2/${PRIVATE}/tags/list`, `Bearer ${access}`);
    assert.equal(pulled.status, 200, pulled.text);
    // A refresh token is not an access token.
    const misuse = await call(registry, 'GET', `/v2/${PRIVATE}/tags/list`, `Bearer ${grant.refresh_token}`);
    assert.equal(misuse.status, 401);
    const bogus = await call(registry, 'POST', '/token', undefined, {
      body: 'grant_type=refresh_token&refresh_token=abc',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(bogus.status, 401);
  });

  it('accepts Basic credentials directly too', async () => {
    const result = await call(registry, 'GET', `/v2/${PRIVATE}/tags/list`, basicAuthorization('puller', PASSWORDS.puller));
    assert.equal(result.status, 200, result.text);
  });
});
