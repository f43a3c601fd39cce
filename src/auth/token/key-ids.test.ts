// The names of a key: RFC 7638 thumbprint (checked against the RFC's own example) and Docker's
// libtrust key id (checked against an independent computation of its definition).
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { jwkThumbprint, libtrustKeyId } from './key-ids.js';

// RFC 7638 section 3.1.
const RFC7638_KEY = {
  kty: 'RSA',
  n:
    '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs' +
    'tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajr' +
    'n1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
  e: 'AQAB',
};

describe('key ids', () => {
  it('computes the RFC 7638 example thumbprint', async () => {
    const key = createPublicKey({ key: RFC7638_KEY, format: 'jwk' });
    assert.equal(await jwkThumbprint(key), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('gives the same thumbprint for a private key and its public half', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    assert.equal(await jwkThumbprint(privateKey), await jwkThumbprint(publicKey));
  });

  it('computes the libtrust key id: base32 of the first 240 bits of SHA-256(SPKI DER), in groups of four', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const id = libtrustKeyId(publicKey);
    assert.match(id, /^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    // Independent computation: 240 bits as one big integer, read five bits at a time.
    const digest = createHash('sha256')
      .update(publicKey.export({ type: 'spki', format: 'der' }))
      .digest()
      .subarray(0, 30);
    let value = BigInt(`0x${digest.toString('hex')}`);
    let base32 = '';
    for (let i = 0; i < 48; i++) {
      base32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'.charAt(Number(value & 31n)) + base32;
      value >>= 5n;
    }
    assert.equal(id.replaceAll(':', ''), base32);
  });
});
