// API tokens for CI systems and robots: `berth_<id>_<secret>`, shown once when created. The id
// (16 hex characters) finds the token's row; only SHA-256 of the secret (64 hex characters from
// the system's random source) is stored, and it is compared in constant time. A fast hash is
// enough: the secret is 256 random bits, not a password a person chose.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const API_TOKEN_PREFIX = 'berth_';
const TOKEN = /^berth_([0-9a-f]{16})_([0-9a-f]{64})$/;

export interface NewApiTokenSecret {
  readonly id: string;
  readonly secret: string;
  /** What the user is given (once): berth_<id>_<secret>. */
  readonly token: string;
}

export function createApiTokenSecret(): NewApiTokenSecret {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('hex');
  return { id, secret, token: `${API_TOKEN_PREFIX}${id}_${secret}` };
}

/** The id and secret of a well-formed token; undefined for anything else (a password, say). */
export function parseApiToken(token: string): { id: string; secret: string } | undefined {
  const match = TOKEN.exec(token);
  if (!match) return undefined;
  const [, id, secret] = match;
  return id !== undefined && secret !== undefined ? { id, secret } : undefined;
}

export function hashTokenSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Whether the secret hashes to the stored hash, compared in constant time. */
export function tokenSecretMatches(secret: string, hash: string): boolean {
  const expected = Buffer.from(hash, 'hex');
  const actual = createHash('sha256').update(secret, 'utf8').digest();
  // A stored hash of the wrong length (corrupt row) matches nothing.
  if (expected.length !== actual.length) return false;
  return timingSafeEqual(actual, expected);
}
