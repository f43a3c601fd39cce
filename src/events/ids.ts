// Event and audit ids: UUIDv7 (RFC 9562), a millisecond timestamp followed by random bits, so
// ids are unique across replicas and sort in the order they were made (the outbox delivers in
// id order; the admin API pages by id). Node 20's crypto has randomUUID (v4) only, which lends
// its random bits.
import { randomUUID } from 'node:crypto';

/**
 * A UUIDv7 at `at` (ms). The 74 random bits come from randomUUID(), which Node draws from a
 * pool of random bytes it refills in bulk: randomBytes(16) would ask OpenSSL on every call,
 * which a pull event (one id each) paid for visibly in CPU profiles.
 */
export function uuidv7(at = Date.now()): string {
  // A v4 UUID: xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx, where V already holds the variant bits (10).
  const random = randomUUID();
  const time = at.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15, 18)}-${random.slice(19)}`;
}
