// Berth's own access-token verifier against the attacks and mistakes a Bearer token can carry:
// tampering, foreign keys, alg none, HMAC key confusion, embedded keys, and every claim rule.
// Each case asserts the exact reason given.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { exportJWK } from 'jose';
import { generateSigningKeyPem, loadSigningKey, type SigningKey } from './signing-key.js';
import { assertRefused, hmacToken, signingInput, signToken, unsignedToken } from './testing/token-fixtures.js';
import { ownTokenVerifier } from './token-verifier.js';

const NOW = new Date('2026-03-04T05:06:07Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const ACCESS = [{ type: 'repository', name: 'team/app', actions: ['pull'] }];

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    iss: 'berth',
    sub: 'alice',
    aud: 'registry.example.com',
    exp: NOW_S + 300,
    nbf: NOW_S,
    iat: NOW_S,
    jti: 'id-1',
    access: ACCESS,
  };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete base[name];
    else base[name] = value;
  }
  return base;
}

describe('ownTokenVerifier', async () => {
  const key = await loadSigningKey(generateSigningKeyPem());
  const rsaKey = await loadSigningKey(
    generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  );
  const verifierFor = (trusted: SigningKey): ReturnType<typeof ownTokenVerifier> =>
    ownTokenVerifier(trusted, 'berth', 'registry.example.com', { now: () => NOW });
  const verifier = verifierFor(key);
  const sign = (body: Record<string, unknown>, signer: SigningKey = key): Promise<string> =>
    signToken({ alg: signer.alg, typ: 'JWT', kid: signer.kid }, body, signer.privateKey);

  it('accepts a well-formed token (the baseline for every case below)', async () => {
    const verified = await verifier.verify(await sign(claims()));
    assert.deepEqual(verified, { subject: 'alice', access: ACCESS, expiresAt: new Date((NOW_S + 300) * 1000), issuer: 'berth' });
  });

  it('refuses a token whose payload was changed after signing', async () => {
    const token = await sign(claims());
    const [header, , signature] = token.split('.');
    const forgedPayload = Buffer.from(
      JSON.stringify(claims({ access: [{ type: 'repository', name: 'team/app', actions: ['pull', 'push', 'delete'] }] })),
    ).toString('base64url');
    const forged = `${header}.${forgedPayload}.${signature}`;
    await assertRefused(verifier.verify(forged), 'token signature is invalid', forged);
  });

  it('refuses a token whose signature was changed', async () => {
    const token = await sign(claims());
    const [header, payload, signature = ''] = token.split('.');
    const bytes = Buffer.from(signature, 'base64url');
    bytes[10] = (bytes[10] ?? 0) ^ 1;
    const forged = `${header}.${payload}.${bytes.toString('base64url')}`;
    await assertRefused(verifier.verify(forged), 'token signature is invalid', forged);
  });

  it('refuses a token signed by another key of the same kind, even with the trusted kid', async () => {
    const other = await loadSigningKey(generateSigningKeyPem());
    const token = await signToken({ alg: 'ES256', typ: 'JWT', kid: key.kid }, claims(), other.privateKey);
    await assertRefused(verifier.verify(token), 'token signature is invalid', token);
  });

  it('refuses an alg "none" token', async () => {
    const token = unsignedToken(claims());
    await assertRefused(verifier.verify(token), 'token signing algorithm is not accepted', token);
  });

  it('refuses HS256 tokens keyed with the public key (key confusion), for EC and RSA keys', async () => {
    for (const trusted of [key, rsaKey]) {
      const pem = trusted.publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const der = trusted.publicKey.export({ type: 'spki', format: 'der' });
      for (const secret of [pem, der]) {
        const token = hmacToken(claims(), secret, trusted.kid);
        await assertRefused(verifierFor(trusted).verify(token), 'token signing algorithm is not accepted', token);
      }
    }
  });

  it("refuses a token that embeds the attacker's key as a jwk header with the trusted kid", async () => {
    const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = await exportJWK(attacker.publicKey);
    const token = await signToken({ alg: 'ES256', typ: 'JWT', kid: key.kid, jwk }, claims(), attacker.privateKey);
    await assertRefused(verifier.verify(token), 'token signature is invalid', token);
  });

  it('pins the algorithm to the key: an RS256 token never verifies against an ES256 key', async () => {
    const token = await sign(claims(), rsaKey);
    await assertRefused(verifier.verify(token), 'token signing algorithm does not match the trusted key', token);
  });

  it('refuses a wrong issuer', async () => {
    const token = await sign(claims({ iss: 'someone-else' }));
    await assertRefused(verifier.verify(token), 'token issuer is not trusted', token);
  });

  it('refuses a wrong audience, and accepts an audience list that holds the service', async () => {
    const token = await sign(claims({ aud: 'other.example.com' }));
    await assertRefused(verifier.verify(token), 'token audience is not this service', token);
    const listed = await sign(claims({ aud: ['other.example.com', 'registry.example.com'] }));
    assert.equal((await verifier.verify(listed)).subject, 'alice');
    const missing = await sign(claims({ aud: undefined }));
    await assertRefused(verifier.verify(missing), 'token audience is not this service', missing);
  });

  it('refuses an expired token, with no leeway on exp', async () => {
    const token = await sign(claims({ exp: NOW_S - 1, iat: NOW_S - 301, nbf: NOW_S - 301 }));
    await assertRefused(verifier.verify(token), 'token has expired', token);
    const atNow = await sign(claims({ exp: NOW_S }));
    await assertRefused(verifier.verify(atNow), 'token has expired', atNow);
  });

  it('refuses nbf or iat more than 60 s in the future; allows 60 s of clock skew', async () => {
    const early = await sign(claims({ nbf: NOW_S + 61, exp: NOW_S + 600 }));
    await assertRefused(verifier.verify(early), 'token is not valid yet', early);
    const future = await sign(claims({ iat: NOW_S + 61, exp: NOW_S + 600 }));
    await assertRefused(verifier.verify(future), 'token was issued in the future', future);
    const skewed = await sign(claims({ nbf: NOW_S + 60, iat: NOW_S + 60 }));
    assert.equal((await verifier.verify(skewed)).subject, 'alice');
  });

  it('refuses a token without exp, or with a non-numeric exp', async () => {
    const token = await sign(claims({ exp: undefined }));
    await assertRefused(verifier.verify(token), 'token has no expiry', token);
    const text = await sign(claims({ exp: String(NOW_S + 300) }));
    await assertRefused(verifier.verify(text), 'token exp claim is not a valid date', text);
  });

  it('refuses a token without a string subject', async () => {
    const token = await sign(claims({ sub: undefined }));
    await assertRefused(verifier.verify(token), 'token has no subject', token);
    const numeric = await sign(claims({ sub: 42 }));
    await assertRefused(verifier.verify(numeric), 'token has no subject', numeric);
  });

  it('refuses a malformed access claim; treats a missing or null one as no access', async () => {
    const cases: [unknown, string][] = [
      ['repository:team/app:pull', 'token access claim is not a list'],
      [[{ type: 'repository', name: 'team/app' }], 'token access entry actions are not a list of strings'],
      [[{ type: 'repository', name: 'team/app', actions: [1] }], 'token access entry actions are not a list of strings'],
      [[{ name: 'team/app', actions: ['pull'] }], 'token access entry has no type'],
      [[{ type: 'repository', actions: ['pull'] }], 'token access entry has no name'],
      [['repository'], 'token access entry is not an object'],
    ];
    for (const [access, reason] of cases) {
      const token = await sign(claims({ access }));
      await assertRefused(verifier.verify(token), reason, token);
    }
    assert.deepEqual((await verifier.verify(await sign(claims({ access: undefined })))).access, []);
    assert.deepEqual((await verifier.verify(await sign(claims({ access: null })))).access, []);
  });

  it('refuses what is not a compact JWS at all', async () => {
    for (const token of ['', 'abc', 'a.b', 'a.b.c.d', `${signingInput({ alg: 'ES256' }, claims())}.***`]) {
      await assertRefused(verifier.verify(token), 'malformed token', token);
    }
    const huge = `${'a'.repeat(70_000)}.b.c`;
    await assertRefused(verifier.verify(huge), 'token is too large', huge);
  });

  it('works the same with an RSA (RS256) key', async () => {
    const verified = await verifierFor(rsaKey).verify(await sign(claims(), rsaKey));
    assert.equal(verified.subject, 'alice');
    const foreign = await sign(
      claims(),
      await loadSigningKey(
        generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      ),
    );
    await assertRefused(verifierFor(rsaKey).verify(foreign), 'token signature is invalid', foreign);
  });
});
