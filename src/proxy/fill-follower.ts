// A client that asks for a blob while another request's fill of it is in progress (blob-fill.ts)
// does not wait for the fill to end: it reads the fill's partial file (the upload's data, which
// grows in place) from the first byte and follows it as it grows, then reads whatever the
// partial file did not show yet (the bytes the writer still held, all of them on a store that
// shows nothing before a commit) from the committed blob. As for the first client, its last byte
// waits for the digest to be verified: when the fill fails (tampered bytes, the upstream gone
// mid-body) the stream fails short of the blob's size, so no client takes it for complete.
import { Readable } from 'node:stream';
import type { BlobFill } from './blob-fill.js';

/**
 * How many more bytes the fill must receive before a joiner that found nothing new in the
 * partial file looks again: the writer hands bytes to the file a staging buffer (1 MiB) at a time.
 */
const FOLLOW_STEP_BYTES = 1024 * 1024;

export interface FillSources {
  /** The partial file's bytes from offset, at most length of them; undefined when it has none there. */
  readPartial(uploadId: string, offset: number, length: number): Promise<Readable | undefined>;
  /** The committed blob from offset to its end, once the fill is done. */
  readCommitted(offset: number): Promise<Readable>;
}

/** The blob's `size` bytes as a stream that follows the fill; it fails as the fill does. */
export function followFill(fill: BlobFill, size: number, sources: FillSources): Readable {
  return Readable.from(follow(fill, size, sources), { objectMode: false });
}

async function* follow(fill: BlobFill, size: number, sources: FillSources): AsyncGenerator<Buffer> {
  let offset = 0;
  while (!fill.settled) {
    // The last byte goes out only once the digest is known to match.
    const limit = fill.verified ? size : size - 1;
    const uploadId = fill.partialUpload;
    const received = fill.received;
    const before = offset;
    if (uploadId !== undefined && offset < limit) {
      const partial = await sources.readPartial(uploadId, offset, limit - offset);
      if (partial) {
        for await (const chunk of partial as AsyncIterable<Buffer>) {
          offset += chunk.length;
          yield chunk;
        }
      }
    }
    if (offset === size && fill.verified) return;
    if (offset === before) await fill.progress(received + FOLLOW_STEP_BYTES);
  }
  // Throws the fill's failure, as the first client sees it.
  await fill.done;
  if (offset < size) {
    for await (const chunk of (await sources.readCommitted(offset)) as AsyncIterable<Buffer>) {
      offset += chunk.length;
      yield chunk;
    }
  }
  if (offset !== size) throw new Error(`the cached blob has ${offset} bytes, expected ${size}`);
}
