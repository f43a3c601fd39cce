// Limits on request bodies, so that memory stays bounded whatever clients do (DESIGN.md,
// invariant 8):
// - a memory budget shared by every request (and the storage writers' staging buffers): a body
//   kept whole in memory (a manifest, an admin or token form, a chunk checked before it is
//   stored) reserves its bytes as they arrive and gives them back when the request ends; when
//   the budget is used up the request gets 429 TOOMANYREQUESTS with Retry-After instead;
// - a minimum rate: a body must bring at least `minBytesPerSecond` × `timeoutMs` bytes in every
//   period of `timeoutMs` while the server waits for it, or it is cut off (408, the connection
//   closed). A client that trickles a byte a second, or sends half a body and stalls, cannot
//   hold a request, its memory and its connection for long.
// Periods in which the server is the slow side (it has not yet read what arrived) never count
// against the client. Requests without a body are not watched.
//
// The bytes of a body that wait in the request stream for the handler to read them (Node keeps
// up to the servers' 1 MiB high-water mark per connection, app.ts) count against the same
// budget: when it is used up, the stream asks for no more until what it holds is read, so a
// connection then holds about one socket read (64 KiB) unreserved, and uploads slow down
// instead of failing.
import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../errors/index.js';

/** The process's budget of bytes held in memory for requests (storage's MemoryBudget). */
export interface MemoryReservations {
  readonly limit: number;
  tryReserve(bytes: number): boolean;
  release(bytes: number): void;
}

export interface BodyLimitOptions {
  readonly memory: MemoryReservations;
  /** Length of each period in which a body must make progress. */
  readonly timeoutMs: number;
  /** Bytes a second a body must average over each period; 0: any progress will do. */
  readonly minBytesPerSecond: number;
}

/** What one request holds of the limits: its reservations, and the watch on its body. */
export class RequestBodyLimits {
  /** Bytes of the memory budget this request holds for bodies kept whole. */
  #held = 0;
  /** Bytes of the memory budget held for what waits in the request stream, unread. */
  #buffered = 0;
  /** The last bytes that arrived found the budget used up: readers should hold as little as they can. */
  #starved = false;
  /** The request is over: nothing more is reserved for it. */
  #ended = false;
  /** Set once the body was too slow; every consumer then fails with it. */
  #expired: RegistryError | undefined;
  readonly #listeners = new Set<(error: RegistryError) => void>();
  /** Bytes that arrived in the current period. */
  #arrived = 0;
  /** Bytes that arrived in all (for the bytes-in metric). */
  #received = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly raw: Readable,
    private readonly reply: FastifyReply,
    private readonly options: BodyLimitOptions,
  ) {}

  get expired(): RegistryError | undefined {
    return this.#expired;
  }

  get starved(): boolean {
    return this.#starved;
  }

  /** Body bytes that have arrived so far, read or not. */
  get received(): number {
    return this.#received;
  }

  /** Gives back what was reserved for bytes in the request stream that have been read since. */
  settle(): void {
    const unread = this.raw.readableLength;
    if (this.#buffered <= unread) return;
    this.options.memory.release(this.#buffered - unread);
    this.#buffered = unread;
  }

  /** Reserves bytes about to be kept in memory, until release() or the end of the request. */
  reserve(bytes: number): void {
    if (this.#ended || !this.options.memory.tryReserve(bytes)) {
      throw new RegistryError(
        'TOO_MANY_REQUESTS',
        { reason: 'request memory in use', limit: this.options.memory.limit },
        {
          message: 'the registry holds as many request bytes in memory as it may (limits.bodymemory); retry later',
          headers: { 'Retry-After': '1' },
        },
      );
    }
    this.#held += bytes;
  }

  release(bytes: number): void {
    const released = Math.min(bytes, this.#held);
    this.#held -= released;
    this.options.memory.release(released);
  }

  /** Called when the request is over (answered or abandoned): everything held goes back. */
  end(): void {
    this.#ended = true;
    this.release(this.#held);
    this.options.memory.release(this.#buffered);
    this.#buffered = 0;
    this.#stopWatching();
    this.#listeners.clear();
  }

  /** Calls `listener` if the body is cut off; returns the function that stops listening. */
  onExpire(listener: (error: RegistryError) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  startWatching(): void {
    const raw = this.raw;
    // Readable.push is the one place every arriving body byte passes through, whoever reads
    // it (a handler, or Node discarding the rest of a body after the answer): wrapping it
    // counts the bytes, and reserves them while they wait to be read. Its answer tells Node's
    // HTTP/1 parser (or the HTTP/2 stream) whether to read more from the socket; false when
    // the budget is used up, until the stream's reader asks for more.
    const push = raw.push;
    raw.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
      if (chunk === null || chunk === undefined) return push.call(raw, chunk, encoding);
      const length = (chunk as { length: number }).length;
      this.#arrived += length;
      this.#received += length;
      if (this.#ended) return push.call(raw, chunk, encoding);
      this.settle();
      const reserved = this.options.memory.tryReserve(length);
      this.#starved = !reserved;
      // Reserved before the push: in flowing mode the stream hands the chunk on within it.
      if (reserved) this.#buffered += length;
      const more = push.call(raw, chunk, encoding);
      this.settle();
      return more && reserved;
    };
    this.#timer = setTimeout(() => this.#check(), this.options.timeoutMs);
    this.#timer.unref();
    raw.once('end', () => this.#stopWatching());
  }

  #stopWatching(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The end of a period: was the client too slow? */
  #check(): void {
    // Complete: every byte has arrived, whether or not anyone has read it yet.
    if (this.#timer === undefined || this.raw.readableEnded || (this.raw as { complete?: boolean }).complete === true) return;
    const arrived = this.#arrived;
    this.#arrived = 0;
    this.settle();
    const answered = this.reply.raw.headersSent;
    // Bytes that arrived and were not read yet, or a reader that paused the stream: the server
    // is the slow side, not the client.
    const serverBehind = !answered && (this.raw.readableLength > 0 || this.raw.readableFlowing === false);
    const tooSlow = !serverBehind && (arrived === 0 || arrived < (this.options.minBytesPerSecond * this.options.timeoutMs) / 1000);
    if (!tooSlow) {
      this.#timer.refresh();
      return;
    }
    this.#stopWatching();
    if (answered) {
      // The answer is out and the rest of the body is not worth waiting for.
      closeConnection(this.reply);
      return;
    }
    this.#expired = new RegistryError(
      'REQUEST_TIMEOUT',
      { minBytesPerSecond: this.options.minBytesPerSecond, periodMs: this.options.timeoutMs, received: arrived },
      { message: 'the request body arrived too slowly' },
    );
    // Consumers throw it and the error hook answers 408; with none reading yet, the next one will.
    for (const listener of [...this.#listeners]) listener(this.#expired);
  }
}

/** The HTTP/1 socket, or the HTTP/2 stream, of a reply: what to destroy to end the request. */
function closeConnection(reply: FastifyReply): void {
  const raw: object = reply.raw;
  const target = 'stream' in raw ? (raw.stream as { destroy(): void }) : reply.raw.socket;
  target?.destroy();
}

const bodies = new WeakMap<object, RequestBodyLimits>();

/** Whether a request announces a body: a length above zero, chunked encoding, or HTTP/2 DATA frames to follow. */
function announcesBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  if (request.raw.httpVersionMajor >= 2) {
    const raw: object = request.raw;
    const stream = 'stream' in raw ? (raw.stream as { endAfterHeaders?: boolean }) : undefined;
    return stream?.endAfterHeaders !== true;
  }
  return request.headers['transfer-encoding'] !== undefined;
}

/**
 * Puts a request that announces a body under the limits (an onRequest hook): its reservations
 * are released when the response closes, and the body is watched for its rate. Requests without
 * a body (the GETs and HEADs of pulls) have nothing to limit and pay nothing.
 */
export function applyBodyLimits(request: FastifyRequest, reply: FastifyReply, options: BodyLimitOptions): void {
  if (!announcesBody(request)) return;
  const body = new RequestBodyLimits(request.raw, reply, options);
  bodies.set(request.raw, body);
  // 'close' comes once, whether the response finished or the client went away.
  reply.raw.once('close', () => body.end());
  body.startWatching();
}

/** The limits of a request body stream; undefined for a stream no request hook has seen (tests). */
export function bodyLimitsOf(stream: Readable): RequestBodyLimits | undefined {
  return bodies.get(stream);
}

/** Whether the request's body was cut off for being too slow (the answer then closes the connection). */
export function bodyExpired(stream: Readable): boolean {
  return bodies.get(stream)?.expired !== undefined;
}
