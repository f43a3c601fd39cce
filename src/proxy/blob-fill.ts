// One upstream fetch of a blob into the cache: the bytes go through the registry's ordinary
// upload path (BlobUploads: hashed while written, durable, committed only when they match the
// digest) and, at the same pace, to the first client. The last chunk is held back from that
// client until the digest has been verified, so a client of a tampered blob sees a truncated body
// and an error, never a complete-looking one. The fill carries on when the first client goes
// away, so clients that joined it still get the blob cached.
import type { PassThrough, Writable } from 'node:stream';
import { UpstreamError, type RegistryClient } from '../client/index.js';
import { RegistryError } from '../errors/index.js';
import type { Digest, RepositoryName } from '../oci/index.js';
import type { BlobUploads } from '../registry/interfaces.js';

/**
 * How long the first client may take no bytes at all before it is cut off, so that one stalled
 * reader cannot hold up the fill that other clients are waiting for.
 */
const FIRST_CLIENT_STALL_MS = 60_000;

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
  private readonly controller = new AbortController();

  constructor(private readonly options: FillOptions) {
    let onStart: (start: FillStart) => void = () => undefined;
    let onFail: (error: unknown) => void = () => undefined;
    this.started = new Promise<FillStart>((resolve, reject) => {
      onStart = resolve;
      onFail = reject;
    });
    this.done = this.run(onStart, onFail);
    // Either promise may go unobserved (a joiner waits only for `done`, a starter that got 404
    // only for `started`); their failures are reported through the one that is awaited.
    this.started.catch(() => undefined);
    this.done.catch(() => undefined);
  }

  /** Stops the fetch (server shutdown); nothing partial is cached. */
  abort(): void {
    this.controller.abort(new RegistryError('UNAVAILABLE', 'the registry is shutting down'));
  }

  private async run(onStart: (start: FillStart) => void, onFail: (error: unknown) => void): Promise<{ size: number }> {
    const { uploads, client, repository, digest, firstClient: out } = this.options;
    const signal = this.controller.signal;
    let response: Awaited<ReturnType<typeof client.getBlob>>;
    try {
      response = await client.getBlob(this.options.upstreamRepository, digest.toString(), signal);
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

    const stream = response.stream;
    // Whoever reads `out` may destroy it with an error; without a listener that would crash.
    out?.on('error', () => undefined);
    let held: Buffer | undefined;
    const forward = async (chunk: Buffer): Promise<void> => {
      if (!out || out.destroyed || out.writableEnded) return;
      if (!out.write(chunk) && !(await drained(out, FIRST_CLIENT_STALL_MS))) {
        out.destroy(new Error(`the client read nothing for ${FIRST_CLIENT_STALL_MS / 1000} s`));
      }
    };
    // The upload's writer pulls from this generator, so the upstream is read no faster than
    // both the store and the first client take the bytes (backpressure on both).
    async function* body(): AsyncGenerator<Buffer> {
      for await (const piece of stream as AsyncIterable<Buffer | string>) {
        const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
        if (held) await forward(held);
        held = chunk;
        yield chunk;
      }
    }

    let upload: Awaited<ReturnType<typeof uploads.start>> | undefined;
    try {
      upload = await uploads.start(repository);
      // The held-back last bytes go to the client once the digest is known to match: as soon as
      // the running hash says so (before the fsync), else when the upload has completed.
      const releaseTail = (): void => {
        if (!out || out.destroyed || out.writableEnded) return;
        if (held) out.write(held);
        out.end();
      };
      const result = await uploads.complete(repository, upload.id, digest, body(), { signal, onVerified: releaseTail });
      releaseTail();
      return { size: result.size };
    } catch (error) {
      stream.destroy();
      // complete() removes the upload itself on a digest mismatch; after other failures the
      // partial bytes are of no use to anyone.
      if (upload) await uploads.cancel(repository, upload.id).catch(() => undefined);
      const upstream = this.options.upstream;
      const reported =
        error instanceof RegistryError && error.errorName === 'DIGEST_INVALID'
          ? new RegistryError('UPSTREAM_CONTENT_INVALID', { upstream, ...detailOf(error) })
          : error instanceof UpstreamError
            ? // The connection broke or stalled mid-body.
              new RegistryError('UPSTREAM_UNAVAILABLE', { upstreams: [{ name: upstream, kind: error.kind }] }, { cause: error })
            : error;
      out?.destroy(reported instanceof Error ? reported : new Error(String(reported)));
      throw reported;
    }
  }
}

function detailOf(error: RegistryError): Record<string, unknown> {
  return typeof error.detail === 'object' && error.detail !== null ? { ...error.detail } : {};
}

/**
 * Resolves true when the stream can take more or will never take more (closed, failed), false
 * when it has taken nothing for timeoutMs.
 */
function drained(stream: Writable, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const finish = (result: boolean): void => {
      clearTimeout(timer);
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve(result);
    };
    const done = (): void => finish(true);
    const timer = setTimeout(() => finish(false), timeoutMs);
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}
