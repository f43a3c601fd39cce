// Which JWS algorithms a token may use, pinned per verification key: the token's own `alg` header
// never decides how it is checked. `none` and the HMAC family are never accepted, so a public key
// can never be misused as a shared secret (the classic RS256 -> HS256 key-confusion attack).
import type { KeyObject } from 'node:crypto';

export const ACCEPTED_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'RS384', 'RS512', 'PS256', 'EdDSA'] as const;
export type AcceptedAlgorithm = (typeof ACCEPTED_ALGORITHMS)[number];

/** RS* and PS* with keys shorter than this are refused (jose refuses them too). */
export const MIN_RSA_BITS = 2048;

export function isAcceptedAlgorithm(value: unknown): value is AcceptedAlgorithm {
  return typeof value === 'string' && (ACCEPTED_ALGORITHMS as readonly string[]).includes(value);
}

/** The algorithms a public (or private) key may verify (sign) with; empty: the key is unusable. */
export function algorithmsForKey(key: KeyObject): AcceptedAlgorithm[] {
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'ec':
      if (details?.namedCurve === 'prime256v1') return ['ES256'];
      if (details?.namedCurve === 'secp384r1') return ['ES384'];
      return [];
    case 'rsa':
      return (details?.modulusLength ?? 0) >= MIN_RSA_BITS ? ['RS256', 'RS384', 'RS512', 'PS256'] : [];
    case 'rsa-pss':
      return (details?.modulusLength ?? 0) >= MIN_RSA_BITS ? ['PS256'] : [];
    case 'ed25519':
      return ['EdDSA'];
    default:
      return [];
  }
}
