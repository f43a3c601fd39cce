// Checks the claims of a token whose signature has already been verified: issuer, audience,
// expiry, not-before and issued-at (with a small leeway for clock skew between token server and
// registry), subject, and what the token is for. Berth's refresh tokens carry `token_use:
// "refresh"`, so an access verifier refuses them and the refresh check refuses everything else.
import { parseAccessClaim, type ResourceAccess } from './access-claim.js';
import { TokenError } from './token-error.js';

/** Accepted clock skew for nbf and iat, as Distribution allows. */
export const LEEWAY_MS = 60_000;

/**
 * The private claim of Berth's own access tokens that records the credential they were issued
 * for, so the token never carries more than it: a password (bound to a fingerprint of its hash,
 * so changing the password revokes the token), an API token (by id, so revoking the API token
 * revokes the token) or a CI job's ID token (by issuer). Anonymous tokens have none.
 */
export const CREDENTIAL_CLAIM = 'berth_credential';

export type TokenCredential =
  | { readonly kind: 'password'; readonly binding: string }
  | { readonly kind: 'api-token'; readonly id: string }
  /** A CI job's OIDC ID token of this issuer (workload-identity.ts); the access list is its grant. */
  | { readonly kind: 'workload'; readonly issuer: string };

/** The private claim that tells a refresh token from an access token. */
export const TOKEN_USE_CLAIM = 'token_use';
export type TokenUse = 'access' | 'refresh';

export interface ClaimExpectations {
  readonly issuer: string;
  /** The service: `aud` must be it or contain it. */
  readonly audience: string;
  readonly now: Date;
}

export interface VerifiedToken {
  /** The user the token was issued to; "" for an anonymous token. */
  readonly subject: string;
  readonly access: readonly ResourceAccess[];
  readonly expiresAt: Date;
  readonly issuer: string;
  /** The credential an own token was issued for (CREDENTIAL_CLAIM), when the token records one. */
  readonly credential?: TokenCredential;
}

export interface VerifiedRefreshToken {
  readonly subject: string;
  /** What the issuer bound the token to (for example a password fingerprint), if anything. */
  readonly binding: string | undefined;
  readonly expiresAt: Date;
}

/** Decodes the JSON payload bytes of a verified JWS into a claims object. */
export function decodeClaims(payload: Uint8Array): Record<string, unknown> {
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    throw new TokenError('token claims are not valid JSON');
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw new TokenError('token claims are not a JSON object');
  }
  return claims as Record<string, unknown>;
}

export function checkAccessClaims(claims: Record<string, unknown>, expect: ClaimExpectations): VerifiedToken {
  const expiresAt = checkRegisteredClaims(claims, expect);
  const use = claims[TOKEN_USE_CLAIM];
  if (use !== undefined && use !== 'access') throw new TokenError('token is not an access token');
  const subject = claims['sub'];
  if (typeof subject !== 'string') throw new TokenError('token has no subject');
  const credential = parseCredentialClaim(claims[CREDENTIAL_CLAIM]);
  return {
    subject,
    access: parseAccessClaim(claims['access']),
    expiresAt,
    issuer: expect.issuer,
    ...(credential === undefined ? {} : { credential }),
  };
}

function parseCredentialClaim(value: unknown): TokenCredential | undefined {
  if (value === undefined) return undefined;
  const claim = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  if (claim['kind'] === 'password' && typeof claim['binding'] === 'string') return { kind: 'password', binding: claim['binding'] };
  if (claim['kind'] === 'api-token' && typeof claim['id'] === 'string') return { kind: 'api-token', id: claim['id'] };
  if (claim['kind'] === 'workload' && typeof claim['issuer'] === 'string') return { kind: 'workload', issuer: claim['issuer'] };
  throw new TokenError('token credential claim is malformed');
}

export function checkRefreshClaims(claims: Record<string, unknown>, expect: ClaimExpectations): VerifiedRefreshToken {
  const expiresAt = checkRegisteredClaims(claims, expect);
  if (claims[TOKEN_USE_CLAIM] !== 'refresh') throw new TokenError('token is not a refresh token');
  const subject = claims['sub'];
  if (typeof subject !== 'string' || subject === '') throw new TokenError('refresh token has no subject');
  const binding = claims['binding'];
  if (binding !== undefined && typeof binding !== 'string') throw new TokenError('refresh token binding is malformed');
  return { subject, binding, expiresAt };
}

/** iss, aud, exp, nbf, iat; returns the expiry. */
function checkRegisteredClaims(claims: Record<string, unknown>, expect: ClaimExpectations): Date {
  if (claims['iss'] !== expect.issuer) throw new TokenError('token issuer is not trusted');
  const aud = claims['aud'];
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (!audiences.includes(expect.audience)) throw new TokenError('token audience is not this service');

  const now = expect.now.getTime();
  const exp = numericDate(claims, 'exp');
  if (exp === undefined) throw new TokenError('token has no expiry');
  if (exp <= now) throw new TokenError('token has expired');
  const nbf = numericDate(claims, 'nbf');
  if (nbf !== undefined && nbf > now + LEEWAY_MS) throw new TokenError('token is not valid yet');
  const iat = numericDate(claims, 'iat');
  if (iat !== undefined && iat > now + LEEWAY_MS) throw new TokenError('token was issued in the future');
  return new Date(exp);
}

/** A NumericDate claim (seconds since the epoch) in milliseconds; undefined when absent. */
function numericDate(claims: Record<string, unknown>, name: 'exp' | 'nbf' | 'iat'): number | undefined {
  const value = claims[name];
  if (value === undefined) return undefined;
  // Beyond what a Date can hold (year 275760) is malformed, not "valid forever".
  if (typeof value !== 'number' || !Number.isFinite(new Date(value * 1000).getTime())) {
    throw new TokenError(`token ${name} claim is not a valid date`);
  }
  return value * 1000;
}
