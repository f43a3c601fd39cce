// Deterministic, random-looking blob content without holding a whole blob in memory: every
// 1 MiB chunk is a copy of one pseudo-random 1 MiB buffer stamped with (seed, chunk index), so
// any (seed, size) pair always yields the same bytes and distinct seeds never share a chunk.
import { createHash } from 'node:crypto';

export const MiB = 1024 * 1024;

const base = (() => {
  const buffer = Buffer.allocUnsafe(MiB);
  let state = 0x9e3779b9;
  for (let i = 0; i < MiB; i += 4) {
    // xorshift32
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    buffer.writeUInt32LE(state >>> 0, i);
  }
  return buffer;
})();

/** The shared pseudo-random 1 MiB buffer, for throughput tests that only need bytes. */
export function baseChunk(): Buffer {
  return base;
}

/** The blob's bytes as fresh 1 MiB buffers (the last may be shorter); safe to hand to a socket. */
export function* blobChunks(seed: number, size: number): Generator<Buffer> {
  let index = 0;
  for (let offset = 0; offset < size; offset += MiB, index++) {
    const length = Math.min(MiB, size - offset);
    const chunk = Buffer.allocUnsafe(length);
    base.copy(chunk, 0, 0, length);
    if (length >= 12) {
      chunk.writeUInt32LE(seed >>> 0, 0);
      chunk.writeUInt32LE(index, 4);
      chunk.writeUInt32LE(size >>> 0, 8);
    }
    yield chunk;
  }
}

/** The blob's bytes in one buffer (for small blobs only). */
export function blobBytes(seed: number, size: number): Buffer {
  return Buffer.concat([...blobChunks(seed, size)], size);
}

const digestCache = new Map<string, string>();

/** "sha256:<hex>" of the blob (computed by streaming it once, then cached). */
export function blobDigest(seed: number, size: number): string {
  const key = `${seed}:${size}`;
  let digest = digestCache.get(key);
  if (digest === undefined) {
    const hash = createHash('sha256');
    for (const chunk of blobChunks(seed, size)) hash.update(chunk);
    digest = `sha256:${hash.digest('hex')}`;
    digestCache.set(key, digest);
  }
  return digest;
}

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
