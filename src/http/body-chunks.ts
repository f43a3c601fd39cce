// A request body as the chunks that arrived, for uploads. Readable's own async iterator reads
// in paused mode, where read() hands over everything buffered as one new Buffer: with the
// server's 1 MiB high-water mark (app.ts) that is a fresh ~1 MiB allocation and copy per MiB
// uploaded, whose page faults and garbage cost more CPU than hashing the bytes (bench profile,
// docs/performance.md). Flowing mode hands over each chunk as the parser produced it; the storage
// writer coalesces them into buffers it reuses. Both readers here obey the request's body
// limits (body-limits.ts): a body cut off for its rate fails the read, and readWholeBody
// reserves what it keeps from the memory budget.
import type { Readable } from 'node:stream';
import type { RegistryError } from '../errors/index.js';
import { bodyLimitsOf } from './body-limits.js';

/** Chunks held here before the stream is paused (the stream buffers up to its high-water mark more). */
const MAX_QUEUED_CHUNKS = 16;

/**
 * Yields the chunks of a byte stream in order, pausing the stream while the consumer is behind.
 * Ends when the stream ends; throws the stream's error, or an error if it closed before its end
 * (a client that went away). A consumer that stops early leaves the stream as it is, unread:
 * the request's error answer then closes the connection (error-hook.ts), and destroying the
 * request here would take its socket, and the answer, with it.
 */
export async function* bodyChunks(stream: Readable): AsyncGenerator<Buffer, void, undefined> {
  const queued: Buffer[] = [];
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const waiting = wake;
    wake = undefined;
    waiting?.();
  };
  const limits = bodyLimitsOf(stream);
  const onData = (chunk: Buffer): void => {
    queued.push(chunk);
    limits?.settle();
    // With the request memory budget used up, hold one chunk, not sixteen.
    if (queued.length >= (limits?.starved === true ? 1 : MAX_QUEUED_CHUNKS)) stream.pause();
    notify();
  };
  const onEnd = (): void => {
    ended = true;
    notify();
  };
  const onError = (error: Error): void => {
    failure ??= error;
    notify();
  };
  const onClose = (): void => {
    if (!ended)
      failure ??= Object.assign(new Error('the request body ended before it was complete'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    notify();
  };
  if (limits?.expired) throw limits.expired;
  const stopListening = limits?.onExpire((error: RegistryError) => {
    failure ??= error;
    notify();
  });
  stream.on('data', onData);
  stream.on('end', onEnd);
  stream.on('error', onError);
  stream.on('close', onClose);
  if (stream.readableEnded) ended = true;
  else if (stream.destroyed) onClose();
  try {
    for (;;) {
      const chunk = queued.shift();
      if (chunk !== undefined) {
        if (queued.length === 0 && stream.isPaused() && !ended) stream.resume();
        yield chunk;
        continue;
      }
      if (failure !== undefined) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    // The error listener stays: a later error (the socket failing) concerns nobody now, and
    // without a listener it could be uncaught.
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('close', onClose);
    stopListening?.();
  }
}

/**
 * Reads a whole body into one Buffer, refusing more than maxBytes with `tooLarge()`. The bytes
 * are reserved from the memory budget as they arrive (429 TOOMANYREQUESTS when it is used up)
 * and stay reserved until the request ends, since the caller keeps them until then.
 */
export async function readWholeBody(stream: Readable, maxBytes: number, tooLarge: () => RegistryError): Promise<Buffer> {
  const limits = bodyLimitsOf(stream);
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of bodyChunks(stream)) {
    total += chunk.length;
    if (total > maxBytes) throw tooLarge();
    limits?.reserve(chunk.length);
    parts.push(chunk);
  }
  return parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts, total);
}
