// Checks a compact JWS against keys the caller already trusts. The token's header is read only to
// learn its algorithm (which must be one of the accepted ones and allowed for the key at hand)
// and, for the caller, its kid and x5c; keys are never taken from the token itself.
import type { KeyObject } from 'node:crypto';
import { compactVerify, decodeProtectedHeader, type ProtectedHeaderParameters } from 'jose';
import { isAcceptedAlgorithm, type AcceptedAlgorithm } from './algorithms.js';
import { TokenError } from './token-error.js';

/** Far above any real token (an x5c chain of a few certificates is a few KiB). */
export const MAX_TOKEN_CHARS = 64 * 1024;

export interface VerificationKey {
  readonly key: KeyObject;
  /** The algorithms this key may be used with (see algorithmsForKey). */
  readonly algorithms: readonly AcceptedAlgorithm[];
}

/** The unverified protected header, after basic shape checks. Nothing in it is trusted yet. */
export function readHeader(token: string): ProtectedHeaderParameters & { alg: AcceptedAlgorithm } {
  if (token.length > MAX_TOKEN_CHARS) throw new TokenError('token is too large');
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(token)) throw new TokenError('malformed token');
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new TokenError('malformed token');
  }
  const alg = header.alg;
  if (!isAcceptedAlgorithm(alg)) throw new TokenError('token signing algorithm is not accepted');
  return { ...header, alg };
}

/**
 * The verified payload bytes, if one of the candidate keys verifies the signature with the
 * token's algorithm; otherwise a TokenError.
 */
export async function verifySignature(token: string, candidates: readonly VerificationKey[]): Promise<Uint8Array> {
  const { alg } = readHeader(token);
  const usable = candidates.filter((candidate) => candidate.algorithms.includes(alg));
  if (usable.length === 0) throw new TokenError('token signing algorithm does not match the trusted key');
  for (const candidate of usable) {
    try {
      const { payload } = await compactVerify(token, candidate.key, { algorithms: [alg] });
      return payload;
    } catch {
      // Not this key (or not a valid signature at all); the next candidate may still match.
    }
  }
  throw new TokenError('token signature is invalid');
}
