// Password hashing for accounts Berth stores (database users, htpasswd entries it writes):
// bcrypt, written with the $2y$ prefix that `htpasswd -B` uses so that Apache tools and
// CNCF Distribution read Berth's files, and any of $2a$/$2b$/$2y$ accepted when checking.
import bcrypt from 'bcryptjs';

/** A bcrypt hash: $2a$, $2b$ or $2y$, a two-digit cost, then 22 salt and 31 hash characters. */
const BCRYPT_HASH = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;

export function isBcryptHash(hash: string): boolean {
  return BCRYPT_HASH.test(hash);
}

/** The bcrypt cost a hash was made with, or undefined when it is not a bcrypt hash. */
export function bcryptCostOf(hash: string): number | undefined {
  const match = BCRYPT_HASH.exec(hash);
  return match ? Number(match[1]) : undefined;
}

export async function hashPassword(password: string, cost: number): Promise<string> {
  if (!Number.isInteger(cost) || cost < 4 || cost > 31)
    throw new RangeError(`bcrypt cost must be a whole number from 4 to 31, got ${cost}`);
  // $2b$ and $2y$ are the same algorithm; $2y$ is what older crypt_blowfish builds (and
  // therefore many Apache installations) understand.
  const salt = (await bcrypt.genSalt(cost)).replace(/^\$2b\$/, '$2y$');
  return bcrypt.hash(password, salt);
}

/** True when the password matches the bcrypt hash; false for a wrong password or anything that is not bcrypt. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  if (!isBcryptHash(hash)) return false;
  try {
    return await bcrypt.compare(password, hash);
  } catch {
    return false;
  }
}

/**
 * Whether bcrypt would ignore part of the password: it uses only the first 72 bytes, so a
 * longer password would be accepted with any ending. Berth refuses such passwords.
 */
export function passwordTooLongForBcrypt(password: string): boolean {
  return Buffer.byteLength(password, 'utf8') > 72;
}
