// The keys of a configured JSON Web Key Set file (auth.token.jwks): the only keys a token
// without x5c may be verified with when Berth trusts a JWKS. Symmetric ("oct") keys and keys
// meant for encryption are left out, so a JWKS can never turn on HMAC verification.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { algorithmsForKey } from './algorithms.js';
import { jwkThumbprint, libtrustKeyId } from './key-ids.js';
import type { VerificationKey } from './signature.js';

/** Thrown when the configured JWKS is unusable; the message says why. */
export class JwksError extends Error {
  override readonly name = 'JwksError';
}

/** A trusted key and the names a token's kid may use for it. */
export interface TrustedKey extends VerificationKey {
  readonly keyIds: readonly string[];
}

const SIGNATURE_KEY_TYPES = ['EC', 'RSA', 'OKP'];

/** The usable signature keys of a JWKS document; at least one, or a JwksError. */
export async function parseJwks(json: string): Promise<TrustedKey[]> {
  let document: unknown;
  try {
    document = JSON.parse(json);
  } catch {
    throw new JwksError('the JWKS file is not valid JSON');
  }
  const keys = typeof document === 'object' && document !== null ? (document as Record<string, unknown>)['keys'] : undefined;
  if (!Array.isArray(keys)) throw new JwksError('the JWKS file has no "keys" list');
  const trusted: TrustedKey[] = [];
  for (const [index, jwk] of keys.entries()) {
    if (typeof jwk !== 'object' || jwk === null) throw new JwksError(`JWKS key ${index + 1} is not an object`);
    const fields = jwk as Record<string, unknown>;
    if (typeof fields['kty'] !== 'string' || !SIGNATURE_KEY_TYPES.includes(fields['kty'])) continue;
    if (fields['use'] !== undefined && fields['use'] !== 'sig') continue;
    let key: KeyObject;
    try {
      key = createPublicKey({ key: publicMembers(fields), format: 'jwk' });
    } catch {
      throw new JwksError(`JWKS key ${index + 1} cannot be read as a public key`);
    }
    const declared = fields['alg'];
    const algorithms = algorithmsForKey(key).filter((alg) => declared === undefined || alg === declared);
    if (algorithms.length === 0) continue;
    const kid = typeof fields['kid'] === 'string' ? [fields['kid']] : [];
    trusted.push({ key, algorithms, keyIds: [...kid, await jwkThumbprint(key), libtrustKeyId(key)] });
  }
  if (trusted.length === 0)
    throw new JwksError('the JWKS file holds no usable signature key (EC P-256/P-384, RSA of 2048 bits or more, Ed25519)');
  return trusted;
}

/** Only the public members, so a JWKS that (wrongly) holds private keys still yields public ones. */
function publicMembers(fields: Record<string, unknown>): { kty: string } & Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['kty', 'crv', 'x', 'y', 'n', 'e']) {
    const value = fields[name];
    if (typeof value === 'string') out[name] = value;
  }
  return { kty: String(fields['kty']), ...out };
}
