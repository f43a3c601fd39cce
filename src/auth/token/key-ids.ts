// The two names a public key goes by in tokens: its RFC 7638 JWK thumbprint (what Berth puts in
// `kid`) and the libtrust key id Docker's token servers put there (SHA-256 of the DER
// SubjectPublicKeyInfo, cut to 240 bits, base32 in twelve colon-separated groups of four). A kid
// only picks which configured key to try; it never makes a key trusted.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';

/** The public half of a key as a JWK (only public members, even when given a private key). */
export function publicJwk(key: KeyObject): JWK {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return publicKey.export({ format: 'jwk' }) as JWK;
}

/** RFC 7638 SHA-256 thumbprint of the public key, base64url. */
export async function jwkThumbprint(key: KeyObject): Promise<string> {
  return calculateJwkThumbprint(publicJwk(key), 'sha256');
}

/** Docker libtrust key id: ABCD:EFGH:...: twelve groups of four base32 characters. */
export function libtrustKeyId(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const encoded = base32(createHash('sha256').update(der).digest().subarray(0, 30));
  return encoded.match(/.{4}/g)?.join(':') ?? '';
}

const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding (libtrust's 30 bytes encode to 48 characters, no padding). */
function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET.charAt((buffer >> (bits - 5)) & 31);
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32_ALPHABET.charAt((buffer << (5 - bits)) & 31);
  return out;
}
