// Event and audit ids: UUIDv7 (RFC 9562), a millisecond timestamp followed by random bits, so
// ids are unique across replicas and sort in the order they were made (the outbox delivers in
// id order; the admin API pages by id). Node 20's crypto has randomUUID (v4) only.
import { randomBytes } from 'node:crypto';

export function uuidv7(at = Date.now()): string {
  const bytes = randomBytes(16);
  // 48-bit big-endian milliseconds since the epoch.
  bytes.writeUIntBE(at, 0, 6);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70; // version 7
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80; // variant 10
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
