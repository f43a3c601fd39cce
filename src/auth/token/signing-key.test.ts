// Loading and generating Berth's signing key: the algorithm follows the key type, the kid is the
// RFC 7638 thumbprint, and anything but EC P-256/P-384 or RSA (2048+) is refused with a clear error.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { generateSigningKeyPem, loadSigningKey, loadSigningKeyFile, SigningKeyError } from './signing-key.js';

function pemOf(type: 'ec' | 'rsa' | 'ed25519', options: { namedCurve?: string; modulusLength?: number } = {}): string {
  const pair =
    type === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: options.namedCurve ?? 'P-256' })
      : type === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: options.modulusLength ?? 2048 })
        : generateKeyPairSync('ed25519');
  return pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

describe('signing key', () => {
  it('generates an EC P-256 PKCS#8 key that loads as ES256 with the RFC 7638 thumbprint as kid', async () => {
    const pem = generateSigningKeyPem();
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
    const key = await loadSigningKey(pem);
    assert.equal(key.alg, 'ES256');
    assert.equal(key.publicKey.type, 'public');
    assert.equal(key.privateKey.type, 'private');
    const jwk = key.publicKey.export({ format: 'jwk' }) as JWK;
    assert.equal(key.kid, await calculateJwkThumbprint(jwk, 'sha256'));
    assert.match(key.kid, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(key.publicJwk, { ...jwk, kid: key.kid, alg: 'ES256', use: 'sig' });
    assert.equal('d' in key.publicJwk, false);
  });

  it('two generated keys differ', async () => {
    assert.notEqual((await loadSigningKey(generateSigningKeyPem())).kid, (await loadSigningKey(generateSigningKeyPem())).kid);
  });

  it('loads EC P-384 as ES384 and RSA as RS256, in PKCS#8, SEC1 and PKCS#1 form', async () => {
    assert.equal((await loadSigningKey(pemOf('ec', { namedCurve: 'P-384' }))).alg, 'ES384');
    assert.equal((await loadSigningKey(pemOf('rsa'))).alg, 'RS256');
    const sec1 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }).toString();
    assert.equal((await loadSigningKey(sec1)).alg, 'ES256');
    const pkcs1 = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    assert.equal((await loadSigningKey(pkcs1)).alg, 'RS256');
  });

  it('refuses an Ed25519 key: neither EC nor RSA', async () => {
    await assert.rejects(loadSigningKey(pemOf('ed25519')), {
      name: 'SigningKeyError',
      message: 'the signing key is of type ed25519; only EC P-256, EC P-384 and RSA keys are supported',
    });
  });

  it('refuses an EC key on another curve', async () => {
    await assert.rejects(loadSigningKey(pemOf('ec', { namedCurve: 'P-521' })), {
      name: 'SigningKeyError',
      message: 'the signing key is an EC key on curve secp521r1; only P-256 (ES256) and P-384 (ES384) are supported',
    });
  });

  it('refuses an RSA key shorter than 2048 bits', async () => {
    await assert.rejects(loadSigningKey(pemOf('rsa', { modulusLength: 1024 })), {
      message: 'the signing key is a 1024-bit RSA key; RS256 needs at least 2048 bits',
    });
  });

  it('refuses text that is not a private key (garbage, a public key)', async () => {
    const expected = {
      name: 'SigningKeyError',
      message: 'the signing key is not a readable unencrypted PEM private key (expected EC P-256, EC P-384 or RSA)',
    };
    await assert.rejects(loadSigningKey('not a key'), expected);
    const publicPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await assert.rejects(loadSigningKey(publicPem), expected);
  });

  it('loads from a file, and names the file when it cannot', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-signing-key-'));
    try {
      const pem = generateSigningKeyPem();
      await writeFile(join(dir, 'key.pem'), pem);
      assert.equal((await loadSigningKeyFile(join(dir, 'key.pem'))).kid, (await loadSigningKey(pem)).kid);
      await assert.rejects(loadSigningKeyFile(join(dir, 'missing.pem')), {
        message: `cannot read the signing key file ${join(dir, 'missing.pem')} (ENOENT)`,
      });
      await writeFile(join(dir, 'ed.pem'), pemOf('ed25519'));
      await assert.rejects(loadSigningKeyFile(join(dir, 'ed.pem')), (error: unknown) => {
        assert.ok(error instanceof SigningKeyError);
        assert.equal(
          error.message,
          `${join(dir, 'ed.pem')}: the signing key is of type ed25519; only EC P-256, EC P-384 and RSA keys are supported`,
        );
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
