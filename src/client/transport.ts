// HTTP exchanges with an upstream and the hosts it names (token realms, redirect targets), over
// node:http/node:https. The transport owns what every exchange needs: keep-alive agents, the
// connect-time address check for hosts other than the configured upstream, the connect+headers
// timeout, abort signals, one retry of an idempotent request whose connection was reset (a
// keep-alive socket the server closed), and turning network failures into UpstreamError.
// node:http rather than fetch: its lookup hook lets us re-check resolved addresses at connect
// time without an extra dependency, and its response is a Readable with backpressure.
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type RequestOptions,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { guardedLookup, TargetRefusedError } from './address-policy.js';
import { UpstreamError } from './upstream-error.js';

export interface TransportOptions {
  /** Connect + response headers, per exchange; also the longest pause of a body that is being read. */
  readonly timeoutMs: number;
  readonly allowPrivateAddresses: boolean;
  readonly userAgent: string;
  /** Names the upstream in messages. */
  readonly name: string;
}

export interface Exchange {
  readonly method: 'GET' | 'HEAD';
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  /** The configured upstream's own host: no address check. Everything else is checked at connect time. */
  readonly trusted: boolean;
  readonly signal?: AbortSignal | undefined;
}

export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Must be consumed, discarded (discard()) or destroyed by the caller. */
  readonly body: IncomingMessage;
  readonly url: URL;
}

/** A failure that happened before any response, on a connection the server reset. */
class ResetBeforeResponse extends Error {
  constructor(readonly upstreamError: UpstreamError) {
    super(upstreamError.message);
  }
}

const resetCodes = new Set(['ECONNRESET', 'EPIPE']);

export class Transport {
  private readonly httpAgent: HttpAgent;
  private readonly httpsAgent: HttpsAgent;
  private readonly lookup: LookupFunction;

  constructor(private readonly options: TransportOptions) {
    // timeout: idle keep-alive sockets are closed after this long (the agent resets a socket's
    // timeout to this value when the socket goes back to the pool).
    this.httpAgent = new HttpAgent({ keepAlive: true, timeout: 30_000 });
    this.httpsAgent = new HttpsAgent({ keepAlive: true, timeout: 30_000 });
    this.lookup = guardedLookup(options.allowPrivateAddresses);
  }

  get timeoutMs(): number {
    return this.options.timeoutMs;
  }

  /** One exchange; a GET or HEAD whose connection is reset before the response is tried once more. */
  async send(exchange: Exchange): Promise<Answer> {
    try {
      return await this.attempt(exchange);
    } catch (error) {
      if (!(error instanceof ResetBeforeResponse)) throw error;
      try {
        return await this.attempt(exchange);
      } catch (second) {
        throw second instanceof ResetBeforeResponse ? second.upstreamError : second;
      }
    }
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /** What an exchange is, for messages: the upstream's name, method and URL without query. */
  describe(method: string, url: URL): string {
    return `${this.options.name}: ${method} ${url.protocol}//${url.host}${url.pathname}`;
  }

  private attempt(exchange: Exchange): Promise<Answer> {
    const { method, url, signal } = exchange;
    const description = this.describe(method, url);
    return new Promise<Answer>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const secure = url.protocol === 'https:';
      const headers: OutgoingHttpHeaders = { 'user-agent': this.options.userAgent, ...exchange.headers };
      const options: RequestOptions = {
        method,
        hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
        path: `${url.pathname}${url.search}`,
        headers,
        agent: secure ? this.httpsAgent : this.httpAgent,
        ...(url.port === '' ? {} : { port: Number(url.port) }),
        ...(exchange.trusted ? {} : { lookup: this.lookup }),
      };
      let settled = false;
      const request = (secure ? httpsRequest : httpRequest)(options);
      let response: IncomingMessage | undefined;
      const onAbort = (): void => {
        const reason = abortReason(signal);
        request.destroy(reason);
        response?.destroy(reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => {
        request.destroy(new UpstreamError('unreachable', `${description}: no response within ${this.options.timeoutMs} ms`));
      }, this.options.timeoutMs);

      request.once('response', (incoming) => {
        response = incoming;
        settled = true;
        clearTimeout(timer);
        incoming.once('close', () => signal?.removeEventListener('abort', onAbort));
        resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: incoming, url });
      });
      request.on('error', (error: Error) => {
        clearTimeout(timer);
        if (settled) return; // after the response (or a first error), errors surface on the body
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) reject(abortReason(signal));
        else if (error instanceof UpstreamError) reject(error);
        else if (error instanceof TargetRefusedError) reject(new UpstreamError('refused', `${description}: ${error.message}`));
        else {
          const upstreamError = networkError(description, error);
          const code = (error as NodeJS.ErrnoException).code;
          reject(code !== undefined && resetCodes.has(code) ? new ResetBeforeResponse(upstreamError) : upstreamError);
        }
      });
      request.end();
    });
  }
}

/** Lets a response we do not read go back to the pool (or closes it), without leaking errors. */
export function discard(answer: Answer): void {
  if (answer.body.listenerCount('error') === 0) answer.body.on('error', () => {});
  if (answer.body.destroyed || answer.body.readableEnded) return;
  const length = Number(answer.headers['content-length']);
  // Drain small bodies so the keep-alive socket can be reused; close on anything large or unknown.
  if (Number.isFinite(length) && length <= 64 * 1024) answer.body.resume();
  else answer.body.destroy();
}

/** The body of an answer, up to limit bytes; longer bodies are a protocol error. */
export async function readBounded(
  answer: Answer,
  limit: number,
  description: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  const declared = answer.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    answer.body.destroy();
    throw new UpstreamError('protocol', `${description}: body of ${declared} bytes exceeds the limit of ${limit}`, answer.status);
  }
  const body = answer.body;
  const timer = setTimeout(() => {
    body.destroy(new UpstreamError('unreachable', `${description}: body not received within ${timeoutMs} ms`));
  }, timeoutMs);
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body) {
      const buffer = chunk as Buffer;
      total += buffer.length;
      if (total > limit) {
        body.destroy();
        throw new UpstreamError('protocol', `${description}: body exceeds the limit of ${limit} bytes`, answer.status);
      }
      chunks.push(buffer);
    }
  } catch (error) {
    throw bodyError(error, description, signal);
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks, total);
}

/** An error from reading a body, as the caller should see it. */
export function bodyError(error: unknown, description: string, signal: AbortSignal | undefined): Error {
  if (signal?.aborted) return abortReason(signal);
  if (error instanceof UpstreamError) return error;
  return new UpstreamError('unreachable', `${description}: connection lost while reading the body`, undefined, { cause: error });
}

function networkError(description: string, error: Error): UpstreamError {
  const code = (error as NodeJS.ErrnoException).code;
  // The code (ECONNREFUSED, ENOTFOUND, ...) or Node's message; neither can carry our credentials.
  return new UpstreamError('unreachable', `${description}: ${code ?? error.message}`, undefined, { cause: error });
}

/** The signal's reason (normally an AbortError DOMException), as an Error. */
export function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  return new DOMException(reason === undefined ? 'This operation was aborted' : String(reason), 'AbortError');
}
