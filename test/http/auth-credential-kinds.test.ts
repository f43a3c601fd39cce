// The authorization matrix along the kind of credential: the same user (a registry
// administrator) calls every kind of endpoint (registry API, catalog filtering, mount sources,
// referrers, the admin API) with a password over Basic, an API token over Basic (scoped to
// ci/**), a Bearer token from each of those, an anonymous Bearer token, an external issuer's
// Bearer token and nothing. A credential derived from a scoped one never carries more: a Bearer
// token issued for an API token keeps the API token's scope everywhere, and only a password over
// Basic manages accounts. Every cell's exact status is asserted; the catalog's content too.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { libtrustKeyId } from '../../src/auth/token/index.js';
import { makeCertificate, signToken } from '../../src/auth/token/testing/token-fixtures.js';
import { callRegistry as call, type RegistryAnswer as Answer } from '../helpers/call.js';
import { basicAuthorization } from '../helpers/credentials.js';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { MEDIA, sha256 } from './support.js';

const berthOnly = { skip: testTarget === 'reference' ? 'credential kinds are Berth-only' : false };

const ROOT = basicAuthorization('root', 'root-password');
const ALICE_PASSWORD = 'alice-password-1';
const SECRET_REPO = 'team/secret';
const CI_REPO = 'ci/app';

type Kind = 'anonymous' | 'password' | 'apiToken' | 'bearerPassword' | 'bearerApiToken' | 'bearerAnonymous' | 'bearerExternal';
const OWN_KINDS: readonly Kind[] = ['anonymous', 'password', 'apiToken', 'bearerPassword', 'bearerApiToken', 'bearerAnonymous'];

interface Fixture {
  readonly manifest: Buffer;
  readonly manifestDigest: string;
  readonly layerDigest: string;
}

/** Pushes one image into each repository (and a tag per kind to delete), as `authorization`. */
async function pushFixture(
  registry: TestRegistry,
  authorization: string,
  repositories: readonly string[],
  kinds: readonly Kind[],
): Promise<Fixture> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = randomBytes(500);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, digest: sha256(config), size: config.length },
      layers: [{ mediaType: MEDIA.ociLayer, digest: sha256(layer), size: layer.length }],
    }),
  );
  for (const repository of repositories) {
    for (const blob of [config, layer]) {
      const put = await call(registry, 'POST', `/v2/${repository}/blobs/uploads/?digest=${sha256(blob)}`, authorization, { body: blob });
      assert.equal(put.status, 201, put.text);
    }
    for (const tag of ['v1', ...kinds.map((kind) => `del-${kind.toLowerCase()}`)]) {
      const put = await call(registry, 'PUT', `/v2/${repository}/manifests/${tag}`, authorization, {
        body: manifest,
        headers: { 'content-type': MEDIA.ociManifest },
      });
      assert.equal(put.status, 201, put.text);
    }
  }
  return { manifest, manifestDigest: sha256(manifest), layerDigest: sha256(layer) };
}

interface Cell {
  readonly name: string;
  run(registry: TestRegistry, fixture: Fixture, kind: Kind, authorization: string | undefined): Promise<Answer>;
}

const CELLS: readonly Cell[] = [
  { name: 'GET /v2/', run: (r, _f, _k, a) => call(r, 'GET', '/v2/', a) },
  {
    name: 'GET private manifest',
    run: (r, _f, _k, a) => call(r, 'GET', `/v2/${SECRET_REPO}/manifests/v1`, a, { headers: { accept: MEDIA.ociManifest } }),
  },
  { name: 'GET private blob', run: (r, f, _k, a) => call(r, 'GET', `/v2/${SECRET_REPO}/blobs/${f.layerDigest}`, a) },
  { name: 'GET private referrers', run: (r, f, _k, a) => call(r, 'GET', `/v2/${SECRET_REPO}/referrers/${f.manifestDigest}`, a) },
  {
    name: 'GET ci manifest',
    run: (r, _f, _k, a) => call(r, 'GET', `/v2/${CI_REPO}/manifests/v1`, a, { headers: { accept: MEDIA.ociManifest } }),
  },
  {
    name: 'PUT ci manifest',
    run: (r, f, k, a) =>
      call(r, 'PUT', `/v2/${CI_REPO}/manifests/put-${k.toLowerCase()}`, a, {
        body: f.manifest,
        headers: { 'content-type': MEDIA.ociManifest },
      }),
  },
  { name: 'DELETE ci tag', run: (r, _f, k, a) => call(r, 'DELETE', `/v2/${CI_REPO}/manifests/del-${k.toLowerCase()}`, a) },
  {
    // 201: mounted (the source was readable); 202: an ordinary upload instead (it was not).
    name: 'POST mount from private into ci',
    run: (r, f, k, a) => call(r, 'POST', `/v2/ci/leak-${k.toLowerCase()}/blobs/uploads/?mount=${f.layerDigest}&from=${SECRET_REPO}`, a),
  },
  { name: 'GET /api/v1/me', run: (r, _f, _k, a) => call(r, 'GET', '/api/v1/me', a) },
  { name: 'GET /api/v1/users', run: (r, _f, _k, a) => call(r, 'GET', '/api/v1/users', a) },
  {
    name: 'POST /api/v1/users (an administrator)',
    run: (r, _f, k, a) =>
      call(r, 'POST', '/api/v1/users', a, { json: { name: `made-by-${k.toLowerCase()}`, password: 'made-password-1', admin: true } }),
  },
  {
    name: 'PUT /api/v1/users/victim/password',
    run: (r, _f, _k, a) => call(r, 'PUT', '/api/v1/users/victim/password', a, { json: { password: 'taken-over-1' } }),
  },
  {
    name: 'POST /api/v1/tokens (unscoped)',
    run: (r, _f, k, a) =>
      call(r, 'POST', '/api/v1/tokens', a, {
        json: { name: `more-${k}`, scopes: [{ repository: '**', actions: ['pull', 'push', 'delete'] }], expiresIn: '1h' },
      }),
  },
];

// A row per cell, a column per kind of credential. Bearer tokens that lack a scope get 401 (so the
// client may fetch a better token); Basic callers without the right get 403.
const COLUMNS: readonly Kind[] = [
  'anonymous',
  'password',
  'apiToken',
  'bearerPassword',
  'bearerApiToken',
  'bearerAnonymous',
  'bearerExternal',
];
const EXPECTED: Record<string, readonly number[]> = {
  // Columns in COLUMNS' order: anonymous, password, API token, Bearer from a password, Bearer from
  // an API token, anonymous Bearer, external Bearer.
  'GET /v2/': [401, 200, 200, 200, 200, 200, 200],
  'GET private manifest': [401, 200, 403, 200, 401, 401, 401],
  'GET private blob': [401, 200, 403, 200, 401, 401, 401],
  'GET private referrers': [401, 200, 403, 200, 401, 401, 401],
  'GET ci manifest': [401, 200, 200, 200, 200, 401, 200],
  'PUT ci manifest': [401, 201, 201, 201, 201, 401, 201],
  // The API token may pull and push in ci/**, not delete.
  'DELETE ci tag': [401, 202, 403, 202, 401, 401, 401],
  'POST mount from private into ci': [401, 201, 202, 201, 202, 401, 202],
  'GET /api/v1/me': [401, 200, 200, 200, 200, 401, 200],
  'GET /api/v1/users': [401, 200, 403, 403, 403, 401, 403],
  'POST /api/v1/users (an administrator)': [401, 201, 403, 403, 403, 401, 403],
  'PUT /api/v1/users/victim/password': [401, 204, 403, 403, 403, 401, 403],
  'POST /api/v1/tokens (unscoped)': [401, 201, 403, 403, 403, 401, 403],
};

/** What /api/v1/me reports for each kind that may call it. */
const ME: Partial<Record<Kind, { via: string; bearerFrom?: string }>> = {
  password: { via: 'password' },
  apiToken: { via: 'api-token' },
  bearerPassword: { via: 'bearer-token', bearerFrom: 'password' },
  bearerApiToken: { via: 'bearer-token', bearerFrom: 'api-token' },
  bearerExternal: { via: 'bearer-token', bearerFrom: 'external' },
};

async function runMatrix(registry: TestRegistry, fixture: Fixture, credentials: ReadonlyMap<Kind, string | undefined>): Promise<number> {
  const mismatches: string[] = [];
  let cells = 0;
  for (const cell of CELLS) {
    for (const [kind, authorization] of credentials) {
      const expected = EXPECTED[cell.name]?.[COLUMNS.indexOf(kind)];
      assert.ok(expected !== undefined, `no expectation for ${cell.name} as ${kind}`);
      const answer = await cell.run(registry, fixture, kind, authorization);
      cells++;
      if (answer.status !== expected)
        mismatches.push(`${cell.name} as ${kind}: ${answer.status}, expected ${expected} ${answer.text.slice(0, 160)}`);
      if (answer.status === 401 && !answer.headers.get('www-authenticate'))
        mismatches.push(`${cell.name} as ${kind}: 401 without a challenge`);
      if (answer.status >= 400) {
        const body = JSON.parse(answer.text || '{}') as { errors?: { code: string }[] };
        if (!Array.isArray(body.errors) || body.errors.length === 0) mismatches.push(`${cell.name} as ${kind}: no OCI error body`);
      }
      if (cell.name === 'GET /api/v1/me' && answer.status === 200) {
        const me = JSON.parse(answer.text) as { via: string; bearerFrom?: string };
        const view = { via: me.via, ...(me.bearerFrom === undefined ? {} : { bearerFrom: me.bearerFrom }) };
        if (JSON.stringify(view) !== JSON.stringify(ME[kind])) mismatches.push(`me as ${kind}: ${JSON.stringify(view)}`);
      }
    }
  }
  assert.deepEqual(mismatches, []);
  return cells;
}

async function catalog(registry: TestRegistry, authorization: string | undefined): Promise<string[] | number> {
  const answer = await call(registry, 'GET', '/v2/_catalog', authorization);
  return answer.status === 200 ? (JSON.parse(answer.text) as { repositories: string[] }).repositories : answer.status;
}

/** The claims of a JWT, unverified (the test reads what the token server put in). */
function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
}

describe('authorization by kind of credential, built-in token server', berthOnly, () => {
  let registry: TestRegistry;
  let fixture: Fixture;
  let apiToken: string;
  const credentials = new Map<Kind, string | undefined>();
  const SCOPES = [`repository:${SECRET_REPO}:pull`, `repository:${CI_REPO}:pull,push,delete`, 'registry:catalog:*'];

  async function bearer(authorization: string | undefined, kind: Kind): Promise<string> {
    const query = new URLSearchParams({ service: 'berth-kinds' });
    for (const scope of [...SCOPES, `repository:ci/leak-${kind.toLowerCase()}:pull,push`]) query.append('scope', scope);
    const answer = await call(registry, 'GET', `/token?${query}`, authorization);
    assert.equal(answer.status, 200, answer.text);
    return (JSON.parse(answer.text) as { token: string }).token;
  }

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-kinds-'));
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(htpasswd, `root:${bcrypt.hashSync('root-password', 4)}\n`);
    registry = await startRegistry({
      extraConfig: [
        'auth:',
        '  tokenserver: {enabled: true, service: berth-kinds}',
        `  htpasswd: {path: ${JSON.stringify(htpasswd)}}`,
        '  bcryptcost: 4',
        '  ratelimit: {attempts: 1000}',
        '  access:',
        '    admins: [root]',
        '    rules: []',
      ].join('\n'),
    });
    // alice is a registry administrator in the database; her CI token may pull and push in ci/**.
    for (const [name, admin] of [
      ['alice', true],
      ['victim', false],
    ] as const) {
      const created = await call(registry, 'POST', '/api/v1/users', ROOT, { json: { name, password: ALICE_PASSWORD, admin } });
      assert.equal(created.status, 201, created.text);
    }
    const password = basicAuthorization('alice', ALICE_PASSWORD);
    const token = await call(registry, 'POST', '/api/v1/tokens', password, {
      json: { name: 'ci', scopes: [{ repository: 'ci/**', actions: ['pull', 'push'] }], expiresIn: '24h' },
    });
    assert.equal(token.status, 201, token.text);
    apiToken = (JSON.parse(token.text) as { token: string }).token;
    const viaApiToken = basicAuthorization('alice', apiToken);
    fixture = await pushFixture(registry, password, [SECRET_REPO, CI_REPO], OWN_KINDS);

    credentials.set('anonymous', undefined);
    credentials.set('password', password);
    credentials.set('apiToken', viaApiToken);
    credentials.set('bearerPassword', `Bearer ${await bearer(password, 'bearerPassword')}`);
    credentials.set('bearerApiToken', `Bearer ${await bearer(viaApiToken, 'bearerApiToken')}`);
    credentials.set('bearerAnonymous', `Bearer ${await bearer(undefined, 'bearerAnonymous')}`);
  });
  after(() => registry?.stop());

  it('answers every endpoint for every kind of credential with the exact status', async () => {
    const cells = await runMatrix(registry, fixture, credentials);
    assert.equal(cells, CELLS.length * OWN_KINDS.length);
  });

  it('issues for an API token a token that records it and carries no more than its scope', async () => {
    const claims = claimsOf((credentials.get('bearerApiToken') ?? '').slice('Bearer '.length));
    assert.deepEqual(claims['access'], [
      { type: 'repository', name: CI_REPO, actions: ['pull', 'push'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
      { type: 'repository', name: 'ci/leak-bearerapitoken', actions: ['pull', 'push'] },
    ]);
    const credential = claims['berth_credential'] as { kind: string; id: string };
    assert.equal(credential.kind, 'api-token');
    assert.equal(apiToken.startsWith(`berth_${credential.id}_`), true);
    const fromPassword = claimsOf((credentials.get('bearerPassword') ?? '').slice('Bearer '.length));
    assert.equal((fromPassword['berth_credential'] as { kind: string }).kind, 'password');
  });

  it('filters the catalog by the credential behind the caller, API token scope included', async () => {
    const all = await catalog(registry, credentials.get('password'));
    assert.ok(Array.isArray(all) && all.includes(SECRET_REPO) && all.includes(CI_REPO), JSON.stringify(all));
    assert.deepEqual(await catalog(registry, credentials.get('bearerPassword')), all);
    for (const kind of ['apiToken', 'bearerApiToken'] as const) {
      const listed = await catalog(registry, credentials.get(kind));
      assert.ok(Array.isArray(listed), `${kind}: ${String(listed)}`);
      assert.ok(!listed.includes(SECRET_REPO), `${kind} lists ${SECRET_REPO}`);
      assert.ok(listed.includes(CI_REPO), `${kind} misses ${CI_REPO}`);
      assert.ok(
        listed.every((name) => name.startsWith('ci/')),
        `${kind}: ${listed.join(', ')}`,
      );
    }
    assert.deepEqual(await catalog(registry, credentials.get('bearerAnonymous')), []);
    // A mount refused as a mount does not make the private layer readable afterwards.
    const leaked = await call(registry, 'GET', `/v2/ci/leak-bearerapitoken/blobs/${fixture.layerDigest}`, credentials.get('apiToken'));
    assert.equal(leaked.status, 404, leaked.text);
  });

  it('refuses to exchange a Bearer token for another one', async () => {
    const answer = await call(
      registry,
      'GET',
      `/token?service=berth-kinds&scope=repository:${SECRET_REPO}:pull`,
      credentials.get('bearerApiToken'),
    );
    assert.equal(answer.status, 401, answer.text);
  });
});

describe('authorization by kind of credential, external token server', berthOnly, () => {
  let registry: TestRegistry;
  let fixture: Fixture;
  const root = makeCertificate({ commonName: 'external signer', ca: true });

  async function externalToken(access: unknown[]): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: 'ext-issuer',
      sub: 'alice',
      aud: 'ext-service',
      exp: now + 300,
      nbf: now - 5,
      iat: now - 5,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    return signToken({ alg: 'RS256', typ: 'JWT', kid: libtrustKeyId(root.publicKey) }, claims, root.privateKey);
  }

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-kinds-ext-'));
    const bundle = join(dir, 'root.pem');
    await writeFile(bundle, root.pem);
    registry = await startRegistry({
      extraConfig: [
        'auth:',
        '  token:',
        '    realm: https://auth.example.test/token',
        '    service: ext-service',
        '    issuer: ext-issuer',
        `    rootcertbundle: ${JSON.stringify(bundle)}`,
      ].join('\n'),
    });
    const everything = await externalToken(
      [SECRET_REPO, CI_REPO].map((name) => ({ type: 'repository', name, actions: ['pull', 'push', 'delete'] })),
    );
    fixture = await pushFixture(registry, `Bearer ${everything}`, [SECRET_REPO, CI_REPO], ['bearerExternal']);
  });
  after(() => registry?.stop());

  it('answers every endpoint with exactly what the external token grants', async () => {
    // Pull and push in ci/app and the mount target; nothing in team/secret; the catalog.
    const token = await externalToken([
      { type: 'repository', name: CI_REPO, actions: ['pull', 'push'] },
      { type: 'repository', name: 'ci/leak-bearerexternal', actions: ['pull', 'push'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
    const credentials = new Map<Kind, string | undefined>([
      ['anonymous', undefined],
      ['bearerExternal', `Bearer ${token}`],
    ]);
    const cells = await runMatrix(registry, fixture, credentials);
    assert.equal(cells, CELLS.length * 2);
  });
});
