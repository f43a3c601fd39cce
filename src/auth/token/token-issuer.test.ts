// The built-in token server's tokens: an access token round-trips through the verifier with the
// exact claims of the Docker token specification; refresh tokens round-trip through
// verifyRefreshToken; and neither kind is accepted where the other is expected.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { generateSigningKeyPem, loadSigningKey, type SigningKey } from './signing-key.js';
import { assertRefused } from './testing/token-fixtures.js';
import { TokenIssuer } from './token-issuer.js';
import { ownTokenVerifier } from './token-verifier.js';

const ISSUED_AT = new Date('2026-01-02T03:04:05.678Z');
const ISSUED_AT_SECONDS = Math.floor(ISSUED_AT.getTime() / 1000);
const EXPIRATION_MS = 300_000;
const REFRESH_EXPIRATION_MS = 30 * 86_400_000;
const ACCESS = [
  { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
  { type: 'registry', name: 'catalog', actions: ['*'] },
];

function issuerWith(key: SigningKey, now: () => Date = () => ISSUED_AT): TokenIssuer {
  return new TokenIssuer({
    key,
    issuer: 'berth-issuer',
    service: 'berth-service',
    expirationMs: EXPIRATION_MS,
    refreshExpirationMs: REFRESH_EXPIRATION_MS,
    now,
  });
}

describe('TokenIssuer', async () => {
  const ecKey = await loadSigningKey(generateSigningKeyPem());
  const rsaKey = await loadSigningKey(
    generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  );

  for (const key of [ecKey, rsaKey]) {
    it(`issues a Docker-spec access token that verifies (${key.alg})`, async () => {
      const issued = await issuerWith(key).issueAccessToken({ subject: 'alice', access: ACCESS });
      assert.equal(issued.expiresIn, 300);
      assert.equal(issued.issuedAt, '2026-01-02T03:04:05.000Z');

      assert.deepEqual(decodeProtectedHeader(issued.token), { alg: key.alg, typ: 'JWT', kid: key.kid });
      const claims = decodeJwt(issued.token);
      assert.equal(typeof claims.jti, 'string');
      assert.match(String(claims.jti), /^[A-Za-z0-9_-]{22}$/);
      assert.deepEqual(
        { ...claims, jti: 'x' },
        {
          iss: 'berth-issuer',
          sub: 'alice',
          aud: 'berth-service',
          exp: ISSUED_AT_SECONDS + 300,
          nbf: ISSUED_AT_SECONDS,
          iat: ISSUED_AT_SECONDS,
          jti: 'x',
          token_use: 'access',
          access: ACCESS,
        },
      );

      const verified = await ownTokenVerifier(key, 'berth-issuer', 'berth-service', { now: () => ISSUED_AT }).verify(issued.token);
      assert.deepEqual(verified, {
        subject: 'alice',
        access: ACCESS,
        expiresAt: new Date((ISSUED_AT_SECONDS + 300) * 1000),
        issuer: 'berth-issuer',
      });
      assert.ok(verified.expiresAt.getTime() - ISSUED_AT.getTime() <= EXPIRATION_MS);
    });
  }

  it('gives every token its own jti', async () => {
    const issuer = issuerWith(ecKey);
    const first = decodeJwt((await issuer.issueAccessToken({ subject: 'alice', access: [] })).token);
    const second = decodeJwt((await issuer.issueAccessToken({ subject: 'alice', access: [] })).token);
    assert.notEqual(first.jti, second.jti);
  });

  it('issues anonymous tokens with the empty subject', async () => {
    const issued = await issuerWith(ecKey).issueAccessToken({ subject: '', access: ACCESS.slice(0, 1) });
    const verified = await ownTokenVerifier(ecKey, 'berth-issuer', 'berth-service', { now: () => ISSUED_AT }).verify(issued.token);
    assert.equal(verified.subject, '');
    assert.deepEqual(verified.access, ACCESS.slice(0, 1));
  });

  it('access tokens expire after expirationMs', async () => {
    const issued = await issuerWith(ecKey).issueAccessToken({ subject: 'alice', access: [] });
    const verifier = (at: number): ReturnType<typeof ownTokenVerifier> =>
      ownTokenVerifier(ecKey, 'berth-issuer', 'berth-service', { now: () => new Date(at) });
    await verifier(ISSUED_AT_SECONDS * 1000 + EXPIRATION_MS - 1).verify(issued.token);
    await assertRefused(verifier(ISSUED_AT_SECONDS * 1000 + EXPIRATION_MS).verify(issued.token), 'token has expired', issued.token);
  });

  it('issues refresh tokens that verify to their subject, with their binding, for refreshExpirationMs', async () => {
    const issuer = issuerWith(ecKey);
    const token = await issuer.issueRefreshToken('alice', 'fingerprint-1');
    assert.deepEqual(decodeProtectedHeader(token), { alg: 'ES256', typ: 'JWT', kid: ecKey.kid });
    const claims = decodeJwt(token);
    assert.equal(claims.token_use, 'refresh');
    assert.equal(claims.exp, ISSUED_AT_SECONDS + REFRESH_EXPIRATION_MS / 1000);
    assert.equal(claims.access, undefined);
    assert.equal(await issuer.verifyRefreshToken(token), 'alice');
    assert.deepEqual(await issuer.readRefreshToken(token), {
      subject: 'alice',
      binding: 'fingerprint-1',
      expiresAt: new Date((ISSUED_AT_SECONDS + REFRESH_EXPIRATION_MS / 1000) * 1000),
    });
    assert.equal((await issuer.readRefreshToken(await issuer.issueRefreshToken('bob'))).binding, undefined);
  });

  it('refuses a refresh token as an access token', async () => {
    const token = await issuerWith(ecKey).issueRefreshToken('alice');
    const verifier = ownTokenVerifier(ecKey, 'berth-issuer', 'berth-service', { now: () => ISSUED_AT });
    await assertRefused(verifier.verify(token), 'token is not an access token', token);
  });

  it('refuses an access token as a refresh token', async () => {
    const issuer = issuerWith(ecKey);
    const { token } = await issuer.issueAccessToken({ subject: 'alice', access: ACCESS });
    await assertRefused(issuer.verifyRefreshToken(token), 'token is not a refresh token', token);
  });

  it('refuses an expired refresh token and one signed by another key', async () => {
    const token = await issuerWith(ecKey).issueRefreshToken('alice');
    const later = issuerWith(ecKey, () => new Date(ISSUED_AT_SECONDS * 1000 + REFRESH_EXPIRATION_MS));
    await assertRefused(later.verifyRefreshToken(token), 'token has expired', token);
    const otherKey = await loadSigningKey(generateSigningKeyPem());
    await assertRefused(issuerWith(otherKey).verifyRefreshToken(token), 'token signature is invalid', token);
  });

  it('refuses to issue a refresh token without a user', async () => {
    await assert.rejects(issuerWith(ecKey).issueRefreshToken(''), TypeError);
  });
});
