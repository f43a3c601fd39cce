// The verifier of an external token server's tokens: x5c chains must lead to the configured
// roots (signatures, CA flags and dates checked), tokens without x5c must verify with a
// configured key, a kid only selects, and a key a token brings itself is never used.
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { exportJWK, type JWK } from 'jose';
import { externalTokenVerifier, externalTokenVerifierFromFiles } from './external-token-verifier.js';
import { jwkThumbprint, libtrustKeyId } from './key-ids.js';
import { assertRefused, DAY, hmacToken, makeCertificate, signToken, type TestCertificate } from './testing/token-fixtures.js';
import type { TokenVerifier } from './token-verifier.js';

const NOW = new Date();
const NOW_S = Math.floor(NOW.getTime() / 1000);
const ACCESS = [{ type: 'repository', name: 'library/alpine', actions: ['pull'] }];
const CLAIMS = {
  iss: 'auth.example.com',
  sub: 'bob',
  aud: 'registry.example.com',
  exp: NOW_S + 300,
  nbf: NOW_S - 5,
  iat: NOW_S - 5,
  jti: 'j1',
  access: ACCESS,
};
const EXPECTED = { subject: 'bob', access: ACCESS, expiresAt: new Date(CLAIMS.exp * 1000), issuer: 'auth.example.com' };
const BASE = { issuer: 'auth.example.com', service: 'registry.example.com', now: () => NOW };

describe('externalTokenVerifier with a root certificate bundle', () => {
  let root: TestCertificate;
  let intermediate: TestCertificate;
  let leaf: TestCertificate;
  let leafOfIntermediate: TestCertificate;
  let expiredLeaf: TestCertificate;
  let untrustedRoot: TestCertificate;
  let untrustedLeaf: TestCertificate;
  let verifier: TokenVerifier;

  before(async () => {
    root = makeCertificate({ commonName: 'Token Root CA', ca: true });
    intermediate = makeCertificate({ commonName: 'Token Intermediate CA', ca: true, issuer: root });
    leaf = makeCertificate({ commonName: 'token signer', ca: false, issuer: root });
    leafOfIntermediate = makeCertificate({ commonName: 'token signer 2', ca: false, issuer: intermediate });
    expiredLeaf = makeCertificate({
      commonName: 'old token signer',
      ca: false,
      issuer: root,
      notBefore: new Date(NOW.getTime() - 30 * DAY),
      notAfter: new Date(NOW.getTime() - DAY),
    });
    untrustedRoot = makeCertificate({ commonName: 'Token Root CA', ca: true });
    untrustedLeaf = makeCertificate({ commonName: 'token signer', ca: false, issuer: untrustedRoot });
    verifier = await externalTokenVerifier({ ...BASE, rootCertBundle: root.pem });
  });

  const x5cToken = (chain: TestCertificate[], signer: KeyObject, claims: Record<string, unknown> = CLAIMS): Promise<string> =>
    signToken({ alg: 'RS256', typ: 'JWT', x5c: chain.map((cert) => cert.x5c) }, claims, signer);

  it('accepts a token whose x5c leaf is signed by the trusted root', async () => {
    assert.deepEqual(await verifier.verify(await x5cToken([leaf], leaf.privateKey)), EXPECTED);
    assert.deepEqual(await verifier.verify(await x5cToken([leaf, root], leaf.privateKey)), EXPECTED);
  });

  it('accepts a chain through an intermediate CA', async () => {
    const token = await x5cToken([leafOfIntermediate, intermediate], leafOfIntermediate.privateKey);
    assert.deepEqual(await verifier.verify(token), EXPECTED);
  });

  it('accepts PS256 from an RSA leaf', async () => {
    const token = await signToken({ alg: 'PS256', x5c: [leaf.x5c] }, CLAIMS, leaf.privateKey);
    assert.equal((await verifier.verify(token)).subject, 'bob');
  });

  it('refuses an intermediate-issued leaf sent without its intermediate', async () => {
    const token = await x5cToken([leafOfIntermediate], leafOfIntermediate.privateKey);
    await assertRefused(verifier.verify(token), 'token certificate chain does not lead to a trusted root', token);
  });

  it('refuses a chain to an untrusted root (same name, other key)', async () => {
    const token = await x5cToken([untrustedLeaf, untrustedRoot], untrustedLeaf.privateKey);
    await assertRefused(verifier.verify(token), 'token certificate chain does not lead to a trusted root', token);
  });

  it('refuses a chain whose middle certificate is not a CA', async () => {
    const notCa = makeCertificate({ commonName: 'not a CA', ca: false, certSignWithoutCa: true, issuer: root });
    const signedByLeaf = makeCertificate({ commonName: 'sub signer', ca: false, issuer: notCa });
    const token = await x5cToken([signedByLeaf, notCa], signedByLeaf.privateKey);
    await assertRefused(verifier.verify(token), 'token certificate chain does not lead to a trusted root', token);
  });

  it('refuses an expired leaf', async () => {
    const token = await x5cToken([expiredLeaf], expiredLeaf.privateKey);
    await assertRefused(verifier.verify(token), 'token certificate has expired or is not valid yet', token);
  });

  it('refuses a valid chain when the token is signed by another key', async () => {
    const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const token = await x5cToken([leaf], attacker.privateKey);
    await assertRefused(verifier.verify(token), 'token signature is invalid', token);
    const rootAsLeaf = await x5cToken([root], attacker.privateKey);
    await assertRefused(verifier.verify(rootAsLeaf), 'token signature is invalid', rootAsLeaf);
  });

  it('refuses a malformed x5c', async () => {
    for (const x5c of [[], ['not base64!'], ['AAAA'], 'abc']) {
      const token = await signToken({ alg: 'RS256', x5c: x5c as string[] }, CLAIMS, leaf.privateKey);
      await assertRefused(verifier.verify(token), 'token certificate chain is malformed', token);
    }
  });

  it('accepts a token without x5c signed with the root key, whatever its kid', async () => {
    const kids = [undefined, libtrustKeyId(root.publicKey), await jwkThumbprint(root.publicKey), 'unknown-kid'];
    for (const kid of kids) {
      const token = await signToken({ alg: 'RS256', typ: 'JWT', ...(kid === undefined ? {} : { kid }) }, CLAIMS, root.privateKey);
      assert.deepEqual(await verifier.verify(token), EXPECTED);
    }
  });

  it('refuses a token without x5c signed by a key not in the bundle (a chained leaf included)', async () => {
    const token = await signToken({ alg: 'RS256', kid: libtrustKeyId(root.publicKey) }, CLAIMS, leaf.privateKey);
    await assertRefused(verifier.verify(token), 'token signature is invalid', token);
  });

  it("never uses an embedded jwk, even with the trusted key's libtrust kid (CVE-2025-24976)", async () => {
    const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = await exportJWK(attacker.publicKey);
    for (const kid of [libtrustKeyId(root.publicKey), await jwkThumbprint(attacker.publicKey)]) {
      const token = await signToken({ alg: 'RS256', kid, jwk }, CLAIMS, attacker.privateKey);
      await assertRefused(verifier.verify(token), 'token signature is invalid', token);
    }
    // A jku or x5u pointing at the attacker's keys is never fetched either.
    const remote = await signToken(
      { alg: 'RS256', kid: libtrustKeyId(root.publicKey), jku: 'https://evil.example/jwks.json', x5u: 'https://evil.example/cert.pem' },
      CLAIMS,
      attacker.privateKey,
    );
    await assertRefused(verifier.verify(remote), 'token signature is invalid', remote);
  });

  it('refuses HS256 keyed with the root certificate or its public key', async () => {
    for (const secret of [root.pem, root.publicKey.export({ type: 'spki', format: 'pem' }).toString()]) {
      const token = hmacToken(CLAIMS, secret, libtrustKeyId(root.publicKey));
      await assertRefused(verifier.verify(token), 'token signing algorithm is not accepted', token);
    }
  });

  it('checks the claims of external tokens too', async () => {
    const token = await x5cToken([leaf], leaf.privateKey, { ...CLAIMS, iss: 'evil.example.com' });
    await assertRefused(verifier.verify(token), 'token issuer is not trusted', token);
    const refresh = await x5cToken([leaf], leaf.privateKey, { ...CLAIMS, token_use: 'refresh' });
    await assertRefused(verifier.verify(refresh), 'token is not an access token', refresh);
  });

  it('refuses x5c tokens when only a JWKS is configured', async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwksOnly = await externalTokenVerifier({ ...BASE, jwks: JSON.stringify({ keys: [await exportJWK(publicKey)] }) });
    const token = await x5cToken([leaf], leaf.privateKey);
    await assertRefused(jwksOnly.verify(token), 'token carries a certificate chain but no root certificates are trusted', token);
  });

  it('reads its files from the auth.token configuration', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-external-token-'));
    try {
      await writeFile(join(dir, 'roots.pem'), `${root.pem}\n${intermediate.pem}`);
      const fromConfig = await externalTokenVerifierFromFiles({
        service: 'registry.example.com',
        issuer: 'auth.example.com',
        rootCertBundle: join(dir, 'roots.pem'),
        jwks: undefined,
      });
      assert.equal((await fromConfig.verify(await x5cToken([leaf], leaf.privateKey))).subject, 'bob');
      await writeFile(join(dir, 'empty.pem'), 'nothing here');
      await assert.rejects(
        externalTokenVerifierFromFiles({
          service: 'registry.example.com',
          issuer: 'auth.example.com',
          rootCertBundle: join(dir, 'empty.pem'),
          jwks: undefined,
        }),
        { message: `${join(dir, 'empty.pem')}: the root certificate bundle holds no PEM certificate` },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('externalTokenVerifier with a JWKS', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ed = generateKeyPairSync('ed25519');
  let verifier: TokenVerifier;

  before(async () => {
    const keys: JWK[] = [
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1' },
      { ...(await exportJWK(ec384.publicKey)), kid: 'ec-384' },
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256' },
      { ...(await exportJWK(ed.publicKey)), kid: 'ed-1' },
      // A symmetric key must never enable HMAC verification.
      { kty: 'oct', k: Buffer.from('shared-secret').toString('base64url'), kid: 'oct-1' },
      // An encryption key is not a signature key.
      { ...(await exportJWK(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)), kid: 'enc-1', use: 'enc' },
    ];
    verifier = await externalTokenVerifier({ ...BASE, jwks: JSON.stringify({ keys }) });
  });

  it('accepts tokens signed by the key their kid names: ES256, ES384, RS256, EdDSA', async () => {
    const cases: [string, string, KeyObject][] = [
      ['ES256', 'ec-1', ec.privateKey],
      ['ES384', 'ec-384', ec384.privateKey],
      ['RS256', 'rsa-1', rsa.privateKey],
      ['EdDSA', 'ed-1', ed.privateKey],
    ];
    for (const [alg, kid, key] of cases) {
      assert.deepEqual(await verifier.verify(await signToken({ alg, typ: 'JWT', kid }, CLAIMS, key)), EXPECTED, alg);
    }
  });

  it('accepts a token without kid signed by a configured key', async () => {
    assert.deepEqual(await verifier.verify(await signToken({ alg: 'ES256' }, CLAIMS, ec.privateKey)), EXPECTED);
  });

  it('refuses a token with a configured kid signed by another key', async () => {
    const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const token = await signToken({ alg: 'ES256', kid: 'ec-1' }, CLAIMS, attacker.privateKey);
    await assertRefused(verifier.verify(token), 'token signature is invalid', token);
    const embedded = await signToken({ alg: 'ES256', kid: 'ec-1', jwk: await exportJWK(attacker.publicKey) }, CLAIMS, attacker.privateKey);
    await assertRefused(verifier.verify(embedded), 'token signature is invalid', embedded);
  });

  it("honours a JWK's alg: an RSA key declared RS256 does not verify PS256", async () => {
    const token = await signToken({ alg: 'PS256', kid: 'rsa-1' }, CLAIMS, rsa.privateKey);
    await assertRefused(verifier.verify(token), 'token signing algorithm does not match the trusted key', token);
  });

  it('ignores symmetric and encryption keys', async () => {
    const hmac = hmacToken(CLAIMS, 'shared-secret', 'oct-1');
    await assertRefused(verifier.verify(hmac), 'token signing algorithm is not accepted', hmac);
    const enc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const token = await signToken({ alg: 'ES256', kid: 'enc-1' }, CLAIMS, enc.privateKey);
    await assertRefused(verifier.verify(token), 'token signature is invalid', token);
  });

  it('refuses unusable key material when built', async () => {
    await assert.rejects(externalTokenVerifier(BASE), TypeError);
    await assert.rejects(externalTokenVerifier({ ...BASE, jwks: '{' }), { name: 'JwksError', message: 'the JWKS file is not valid JSON' });
    await assert.rejects(externalTokenVerifier({ ...BASE, jwks: '{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}' }), {
      name: 'JwksError',
      message: 'the JWKS file holds no usable signature key (EC P-256/P-384, RSA of 2048 bits or more, Ed25519)',
    });
    await assert.rejects(externalTokenVerifier({ ...BASE, jwks: '{"keys": [{"kty": "EC", "crv": "P-256", "x": "AA"}]}' }), {
      name: 'JwksError',
      message: 'JWKS key 1 cannot be read as a public key',
    });
    await assert.rejects(externalTokenVerifier({ ...BASE, rootCertBundle: 'no certificates' }), {
      name: 'CertificateBundleError',
      message: 'the root certificate bundle holds no PEM certificate',
    });
  });
});
