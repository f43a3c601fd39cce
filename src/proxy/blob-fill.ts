// One upstream fetch of a blob into the cache: the bytes go through the registry's ordinary
// upload path (BlobUploads: hashed while written, durable, committed only when they match the
// digest) and, as they arrive, to the first client. The last chunk is held back from that client
// until the digest has been verified, so a client of a tampered blob sees a truncated body and an
// error, never a complete-looking one. The fill carries on when the first client goes away, so
// clients that joined it still get the blob cached.
//
// The first client does not wait for the store: the upstream's bytes go to it at once, and to the
// store through a queue of a few MiB, so the upload's start (index rows) and the writer's fsyncs
// are not on its first byte. Backpressure from either side (a full queue, a client that takes
// nothing) pauses the upstream.
//
// A blob larger than one piece (FIRST_PIECE_BYTES) is stored in two steps: its first piece is
// appended and closed, then the rest completes the upload with an appending writer. The upload's
// data key is then the fill's partial file, which grows in place on the filesystem as the bytes
// are written: clients that join the fill read it there (fill-follower.ts) instead of waiting
// for the end. A smaller blob goes to its content address in one request, as a push would.
import { PassThrough, type Readable } from 'node:stream';
import { UpstreamError, type RegistryClient } from '../client/index.js';
import { RegistryError } from '../errors/index.js';
import type { Digest, RepositoryName } from '../oci/index.js';
import type { BlobUploads } from '../registry/interfaces.js';

/**
 * How long the first client may take no bytes at all before it is cut off, so that one stalled
 * reader cannot hold up the fill that other clients are waiting for.
 */
const FIRST_CLIENT_STALL_MS = 60_000;
/** Blobs up to this size are stored in one request; larger ones get a partial file joiners can read. */
const FIRST_PIECE_BYTES = 1024 * 1024;
/** Upstream reads (64 KiB each, as Node reads a socket) the store may lag behind: about 4 MiB. */
const STORE_QUEUE_CHUNKS = 64;

export type FillStart = { readonly kind: 'absent' } | { readonly kind: 'streaming'; readonly size: number | undefined };

export interface FillOptions {
  /** The registry's own uploads (not the cache's, which refuse cached names). */
  readonly uploads: BlobUploads;
  readonly client: RegistryClient;
  readonly upstream: string;
  /** The name the upstream knows the repository by. */
  readonly upstreamRepository: string;
  /** The local repository the blob is cached into. */
  readonly repository: RepositoryName;
  readonly digest: Digest;
  /** Where the first client reads the bytes as they arrive; undefined when it waits for the end. */
  readonly firstClient: PassThrough | undefined;
}

export class BlobFill {
  /** Resolves when the upstream has answered: absent (404), or streaming with its Content-Length. */
  readonly started: Promise<FillStart>;
  /** Resolves when the blob is committed to the cache and linked into the repository. */
  readonly done: Promise<{ size: number }>;
  /** The upstream's Content-Length, once it answered. */
  size: number | undefined;
  /** Bytes received from the upstream so far. */
  received = 0;
  /** The running hash matched the digest: the last bytes may go to clients. */
  verified = false;
  /** The upload whose data key is the partial file (its bytes so far), once the first piece is stored. */
  partialUpload: string | undefined;
  /** The fill committed the blob, or failed (done has settled). */
  settled = false;
  private readonly controller = new AbortController();
  /** Joiners waiting for more bytes (or any change of state), with the byte count they wait for. */
  private readonly waiters = new Set<{ readonly received: number; readonly wake: () => void }>();

  constructor(private readonly options: FillOptions) {
    let onStart: (start: FillStart) => void = () => undefined;
    let onFail: (error: unknown) => void = () => undefined;
    this.started = new Promise<FillStart>((resolve, reject) => {
      onStart = resolve;
      onFail = reject;
    });
    this.done = this.run(onStart, onFail).finally(() => {
      this.settled = true;
      this.wake(true);
    });
    // Either promise may go unobserved (a joiner waits only for `done`, a starter that got 404
    // only for `started`); their failures are reported through the one that is awaited.
    this.started.catch(() => undefined);
    this.done.catch(() => undefined);
  }

  /** Stops the fetch (server shutdown); nothing partial is cached. */
  abort(): void {
    this.controller.abort(new RegistryError('UNAVAILABLE', 'the registry is shutting down'));
  }

  /**
   * Resolves once `received` reaches the count given, or the fill's state changes (verified, a
   * partial file, settled), whichever comes first.
   */
  progress(received: number): Promise<void> {
    if (this.settled || this.received >= received) return Promise.resolve();
    return new Promise((wake) => this.waiters.add({ received, wake }));
  }

  private wake(all: boolean): void {
    for (const waiter of this.waiters) {
      if (all || this.received >= waiter.received) {
        this.waiters.delete(waiter);
        waiter.wake();
      }
    }
  }

  private async run(onStart: (start: FillStart) => void, onFail: (error: unknown) => void): Promise<{ size: number }> {
    const { client, digest, firstClient: out } = this.options;
    let response: Awaited<ReturnType<typeof client.getBlob>>;
    try {
      response = await client.getBlob(this.options.upstreamRepository, digest.toString(), this.controller.signal);
    } catch (error) {
      onFail(error);
      out?.destroy();
      throw error;
    }
    if (!response) {
      onStart({ kind: 'absent' });
      out?.destroy();
      throw new RegistryError('BLOB_UNKNOWN', { digest: digest.toString() });
    }
    this.size = response.size;
    onStart({ kind: 'streaming', size: response.size });

    const upstream = response.stream;
    // Whoever reads `out` may destroy it with an error; without a listener that would crash.
    out?.on('error', () => undefined);
    let tail: Buffer | undefined;
    const releaseTail = (): void => {
      if (!out || out.destroyed || out.writableEnded) return;
      if (tail) out.write(tail);
      out.end();
    };
    // Object mode: one upstream read per item, never concatenated (a byte-mode read would copy).
    const queue = new PassThrough({ objectMode: true, highWaterMark: STORE_QUEUE_CHUNKS });
    // Failed by the pump when the upstream breaks, maybe before the store reads it: its reader sees that.
    queue.on('error', () => undefined);
    let firstFailure: unknown;
    const stored = this.store(queue, releaseTail).catch((error: unknown) => {
      firstFailure ??= error;
      upstream.destroy(error instanceof Error ? error : new Error(String(error)));
      throw error;
    });
    try {
      try {
        await this.pump(upstream, queue, out, (last) => {
          tail = last;
        });
      } catch (error) {
        firstFailure ??= error;
        queue.destroy(error instanceof Error ? error : new Error(String(error)));
      }
      const result = await stored;
      releaseTail();
      return result;
    } catch {
      await stored.catch(() => undefined);
      const reported = this.reported(firstFailure);
      out?.destroy(reported instanceof Error ? reported : new Error(String(reported)));
      throw reported;
    }
  }

  /**
   * Reads the upstream into the first client (all but the last chunk, which `holdTail` keeps)
   * and the store's queue, pausing while either is full. The first client is cut off after
   * FIRST_CLIENT_STALL_MS without taking anything; the store never is.
   */
  private pump(upstream: Readable, queue: PassThrough, out: PassThrough | undefined, holdTail: (last: Buffer) => void): Promise<void> {
    // Without a Content-Length the first client is not streamed to (the caller serves it from the cache).
    const size = this.size ?? 0;
    const client = this.size === undefined ? undefined : out;
    return new Promise<void>((resolve, reject) => {
      let blockers = 0;
      const block = (): void => {
        if (blockers++ === 0) upstream.pause();
      };
      const unblock = (): void => {
        if (--blockers === 0) upstream.resume();
      };
      const untilClientDrains = (client: PassThrough): void => {
        block();
        const timer = setTimeout(() => {
          client.destroy(new Error(`the client read nothing for ${FIRST_CLIENT_STALL_MS / 1000} s`));
        }, FIRST_CLIENT_STALL_MS);
        const drained = (): void => {
          clearTimeout(timer);
          client.off('drain', drained);
          client.off('close', drained);
          unblock();
        };
        client.on('drain', drained);
        client.on('close', drained);
      };
      upstream.on('data', (chunk: Buffer) => {
        this.received += chunk.length;
        if (client && !client.destroyed) {
          if (this.received >= size) holdTail(chunk);
          else if (!client.write(chunk)) untilClientDrains(client);
        }
        if (!queue.write(chunk)) {
          block();
          queue.once('drain', unblock);
        }
        this.wake(false);
      });
      upstream.once('end', () => {
        queue.end();
        resolve();
      });
      upstream.once('error', reject);
      // Destroyed without an error (by close()): not a complete body. After 'end' this does nothing.
      upstream.once('close', () => reject(new UpstreamError('unreachable', `${this.options.upstream}: the blob body was cut off`)));
    });
  }

  /**
   * Stores the queue's bytes through the registry's uploads, telling the first client (and
   * joiners) as soon as the running hash shows the digest matches.
   */
  private async store(queue: PassThrough, releaseTail: () => void): Promise<{ size: number }> {
    const { uploads, repository, digest } = this.options;
    const signal = this.controller.signal;
    const upload = await uploads.start(repository);
    const onVerified = (): void => {
      this.verified = true;
      releaseTail();
      this.wake(true);
    };
    try {
      const chunks = queue[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      const first: Buffer[] = [];
      let firstBytes = 0;
      while (firstBytes < FIRST_PIECE_BYTES) {
        const next = await chunks.next();
        if (next.done) {
          // The whole blob in one piece: straight to its content address.
          const result = await uploads.complete(repository, upload.id, digest, iterate(first), { signal, onVerified });
          onVerified();
          return { size: result.size };
        }
        first.push(next.value);
        firstBytes += next.value.length;
      }
      await uploads.append(repository, upload.id, iterate(first), { signal });
      this.partialUpload = upload.id;
      this.wake(true);
      const rest: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: () => chunks };
      const result = await uploads.complete(repository, upload.id, digest, rest, { signal, onVerified });
      onVerified();
      return { size: result.size };
    } catch (error) {
      // complete() removes the upload itself on a digest mismatch; after other failures the
      // partial bytes are of no use to anyone.
      await uploads.cancel(repository, upload.id).catch(() => undefined);
      throw error;
    }
  }

  /** A failure as clients see it: the upstream's content refused, or the upstream unavailable. */
  private reported(error: unknown): unknown {
    const upstream = this.options.upstream;
    if (error instanceof RegistryError && error.errorName === 'DIGEST_INVALID') {
      return new RegistryError('UPSTREAM_CONTENT_INVALID', { upstream, ...detailOf(error) });
    }
    if (error instanceof UpstreamError) {
      // The connection broke or stalled mid-body.
      return new RegistryError('UPSTREAM_UNAVAILABLE', { upstreams: [{ name: upstream, kind: error.kind }] }, { cause: error });
    }
    return error;
  }
}

async function* iterate(chunks: readonly Buffer[]): AsyncGenerator<Buffer> {
  yield* chunks;
}

function detailOf(error: RegistryError): Record<string, unknown> {
  return typeof error.detail === 'object' && error.detail !== null ? { ...error.detail } : {};
}
