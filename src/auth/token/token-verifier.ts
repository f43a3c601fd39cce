// Verifies the Bearer access tokens clients present. The TokenVerifier interface is what the
// authenticator depends on; ownTokenVerifier checks tokens Berth's own token server signed, with
// its one public key and algorithm (externalTokenVerifier, in its own module, checks tokens of
// a token server Berth trusts).
import { checkAccessClaims, decodeClaims, type VerifiedToken } from './claims.js';
import type { SigningKey } from './signing-key.js';
import { verifySignature } from './signature.js';

export type { VerifiedToken };

export interface TokenVerifier {
  /** The verified token's subject, access list, expiry and issuer; throws TokenError otherwise. */
  verify(token: string): Promise<VerifiedToken>;
}

export interface VerifierClock {
  /** The clock; tests move it. */
  readonly now?: () => Date;
}

/** Verifies access tokens signed by `key` (Berth's own token server). */
export function ownTokenVerifier(
  key: Pick<SigningKey, 'publicKey' | 'alg'>,
  issuer: string,
  service: string,
  options: VerifierClock = {},
): TokenVerifier {
  const now = options.now ?? (() => new Date());
  const candidates = [{ key: key.publicKey, algorithms: [key.alg] }];
  return {
    async verify(token: string): Promise<VerifiedToken> {
      const payload = await verifySignature(token, candidates);
      return checkAccessClaims(decodeClaims(payload), { issuer, audience: service, now: now() });
    },
  };
}
