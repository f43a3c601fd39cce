// Trusting an external token server (Distribution's auth.token keys): Berth challenges with the
// configured realm and service, accepts tokens signed by a key of the root bundle and grants
// exactly their access claim, and refuses tokens signed by anyone else, including a token that
// carries its own key in the header (the CVE-2025-24976 class).
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportJWK } from 'jose';
import { libtrustKeyId } from '../../src/auth/token/index.js';
import { makeCertificate, signToken, type TestCertificate } from '../../src/auth/token/testing/token-fixtures.js';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { sha256 } from './support.js';

const berthOnly = { skip: testTarget === 'reference' ? 'exercised against Berth only' : false };
const REALM = 'https://auth.example.test/token';

describe('external token server (auth.token)', berthOnly, () => {
  let registry: TestRegistry;
  let root: TestCertificate;

  function claims(access: unknown[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: 'ext-issuer',
      sub: 'ci-bot',
      aud: 'ext-service',
      exp: now + 300,
      nbf: now - 5,
      iat: now - 5,
      jti: randomBytes(8).toString('hex'),
      access,
      ...overrides,
    };
  }

  async function token(
    access: unknown[],
    key: KeyObject = root.privateKey,
    header: Record<string, unknown> = {},
    overrides: Record<string, unknown> = {},
  ): Promise<string> {
    return signToken({ alg: 'RS256', typ: 'JWT', kid: libtrustKeyId(root.publicKey), ...header }, claims(access, overrides), key);
  }

  async function call(method: string, path: string, authorization?: string, body?: Buffer): Promise<Response> {
    return fetch(new URL(path, registry.url), {
      method,
      headers: authorization === undefined ? {} : { authorization },
      ...(body === undefined ? {} : { body }),
    });
  }

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-ext-token-'));
    root = makeCertificate({ commonName: 'token signer', ca: true });
    const bundle = join(dir, 'root.pem');
    await writeFile(bundle, root.pem);
    registry = await startRegistry({
      extraConfig: [
        'auth:',
        '  token:',
        `    realm: ${REALM}`,
        '    service: ext-service',
        '    issuer: ext-issuer',
        `    rootcertbundle: ${JSON.stringify(bundle)}`,
      ].join('\n'),
    });
  });
  after(() => registry?.stop());

  it('challenges with the external realm and service', async () => {
    const response = await call('GET', '/v2/team/app/tags/list');
    assert.equal(response.status, 401);
    assert.equal(
      response.headers.get('www-authenticate'),
      `Bearer realm="${REALM}",service="ext-service",scope="repository:team/app:pull"`,
    );
    assert.equal(((await response.json()) as { errors: { code: string }[] }).errors[0]?.code, 'UNAUTHORIZED');
    assert.equal((await call('GET', '/token')).status, 404, 'no token server of its own in this mode');
  });

  it('grants exactly what a trusted token carries', async () => {
    const bearer = `Bearer ${await token([{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }])}`;
    const data = randomBytes(300);
    const digest = sha256(data);
    const pushed = await call('POST', `/v2/team/app/blobs/uploads/?digest=${digest}`, bearer, data);
    assert.equal(pushed.status, 201, await pushed.text());
    const pulled = await call('GET', `/v2/team/app/blobs/${digest}`, bearer);
    assert.equal(pulled.status, 200);
    assert.deepEqual(Buffer.from(await pulled.arrayBuffer()), data);
    const elsewhere = await call('GET', `/v2/team/other/blobs/${digest}`, bearer);
    assert.equal(elsewhere.status, 401);
    assert.match(elsewhere.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
    const deleted = await call('DELETE', `/v2/team/app/blobs/${digest}`, bearer);
    assert.equal(deleted.status, 401, 'the token grants no delete');
    const base = await call('GET', '/v2/', bearer);
    assert.equal(base.status, 200);
  });

  it('refuses tokens not signed by the bundle, including one carrying its own key', async () => {
    const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const access = [{ type: 'repository', name: 'team/app', actions: ['pull'] }];
    const forged = await token(access, attacker.privateKey);
    const embedded = await token(access, attacker.privateKey, { jwk: await exportJWK(attacker.publicKey) });
    const wrongIssuer = await token(access, root.privateKey, {}, { iss: 'someone-else' });
    const expired = await token(access, root.privateKey, {}, { exp: Math.floor(Date.now() / 1000) - 10 });
    for (const bad of [forged, embedded, wrongIssuer, expired]) {
      const response = await call('GET', '/v2/team/app/tags/list', `Bearer ${bad}`);
      assert.equal(response.status, 401);
      assert.match(response.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    }
  });
});
