// The single place where an error becomes a response: catalogue errors go out as OCI error
// bodies with their status; anything unexpected is logged and answered 500 UNKNOWN without
// leaking internals.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError, StorageBusyError, StorageFullError, type ErrorName } from '../errors/index.js';
import { bodyExpired } from './body-limits.js';

/**
 * The header the web UI puts on every request it makes, /v2/ and the admin API included. A 401
 * to such a request goes out without its WWW-Authenticate challenge: a Basic challenge would make
 * the browser pop up its own password dialog over the UI, which has a sign-in page. Every other
 * client still gets the challenge.
 */
export const UI_REQUEST_HEADER = 'x-berth-ui';

/** Errors that report an upstream registry's failure; the pull-through cache has logged it. */
const UPSTREAM_ERRORS: ReadonlySet<ErrorName> = new Set(['UPSTREAM_UNAVAILABLE', 'UPSTREAM_CONTENT_INVALID']);

export function toRegistryError(error: unknown): RegistryError {
  if (error instanceof RegistryError) return error;
  if (isOutOfSpace(error)) return new RegistryError('INSUFFICIENT_STORAGE', undefined, { cause: error });
  if (isStorageBusy(error)) {
    // The storage writers' part of the request memory budget (limits.bodymemory) is in use.
    return new RegistryError(
      'TOO_MANY_REQUESTS',
      { reason: 'request memory in use' },
      {
        message: 'the registry holds as many request bytes in memory as it may (limits.bodymemory); retry later',
        headers: { 'Retry-After': '1' },
        cause: error,
      },
    );
  }
  const status = (error as Partial<FastifyError>).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (status === 404) return new RegistryError('NOT_FOUND');
    if (status === 405) return new RegistryError('UNSUPPORTED');
    if (status === 413) return new RegistryError('MANIFEST_TOO_LARGE');
    return new RegistryError('BAD_REQUEST', (error as Error).message);
  }
  return new RegistryError('UNKNOWN', undefined, { cause: error });
}

/**
 * A full disk, from the blob store or from the database: SQLite reports SQLITE_FULL, PostgreSQL
 * SQLSTATE 53100 (disk_full). Other I/O errors are not assumed to mean a full disk.
 */
function isOutOfSpace(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (current instanceof StorageFullError) return true;
    const code = (current as { code?: unknown }).code;
    if (code === 'SQLITE_FULL' || code === '53100' || code === 'ENOSPC' || code === 'EDQUOT') return true;
  }
  return false;
}

/** A storage writer found the request memory budget used up (StorageBusyError, maybe wrapped). */
function isStorageBusy(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (current instanceof StorageBusyError) return true;
  }
  return false;
}

/**
 * The client is gone: its HTTP/1 connection closed, or its HTTP/2 stream was reset (the HTTP/2
 * compatibility response has no `destroyed`; its stream does).
 */
function clientGone(request: FastifyRequest, reply: FastifyReply): boolean {
  if (request.raw.destroyed && reply.raw.destroyed) return true;
  return http2Stream(reply)?.destroyed === true;
}

/** The HTTP/2 stream under a compatibility-API response; undefined over HTTP/1. */
function http2Stream(reply: FastifyReply): Duplex | undefined {
  const raw: object = reply.raw;
  return 'stream' in raw && raw.stream instanceof Duplex ? raw.stream : undefined;
}

/** The error's headers, without the challenge of a 401 to the web UI (UI_REQUEST_HEADER). */
function responseHeaders(error: RegistryError, request: FastifyRequest): Readonly<Record<string, string>> {
  if (error.status !== 401 || request.headers[UI_REQUEST_HEADER] === undefined) return error.headers;
  const { 'WWW-Authenticate': _challenge, ...others } = error.headers;
  return others;
}

export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  if (clientGone(request, reply)) {
    // The client went away mid-request (a cancelled push, a stalled upload closed by the idle
    // timeout): nothing to answer and nothing wrong with the server.
    request.log.info({ reason: (error as Error).message }, 'client disconnected');
    return;
  }
  const registryError = toRegistryError(error);
  if (UPSTREAM_ERRORS.has(registryError.errorName)) {
    // Trouble upstream, not here: the pull-through cache logs the outage once (not per request),
    // so a storm of requests during it does not become a storm of stack traces.
    request.log.info({ code: registryError.definition.code, detail: registryError.detail }, 'request failed upstream');
  } else if (registryError.status >= 500) {
    request.log.error({ err: error }, 'request failed');
  } else {
    request.log.debug({ code: registryError.definition.code, detail: registryError.detail }, 'request rejected');
  }
  if (reply.sent || reply.raw.headersSent) return;
  // A body we started reading and stopped (an upload that failed midway) cannot be drained any
  // more, and the connection would hang: close it after answering. A body never touched is
  // discarded by Node, and the connection stays usable.
  if (request.raw.httpVersionMajor >= 2) {
    // HTTP/2 has no Connection header: once the answer is out, the stream is reset with NO_ERROR
    // (RFC 9113 8.1), so the client stops sending a body nobody reads instead of stalling on
    // flow control with its stream, and the session, held open.
    const stream = http2Stream(reply);
    // (The compatibility response's own 'finish' waits for the stream to close: the stream's.)
    const bodyless = stream !== undefined && 'endAfterHeaders' in stream && stream.endAfterHeaders === true;
    if (stream && !bodyless && !stream.readableEnded) stream.once('finish', () => stream.destroy());
  } else if (!request.raw.complete && (request.raw.readableDidRead || bodyExpired(request.raw))) {
    reply.header('Connection', 'close');
  }
  const body = request.method === 'HEAD' ? undefined : JSON.stringify(registryError.toBody());
  reply
    .code(registryError.status)
    .headers(responseHeaders(registryError, request))
    .header('Content-Type', 'application/json')
    .header('Content-Length', body === undefined ? 0 : Buffer.byteLength(body));
  reply.send(body);
}

/**
 * Errors Node's HTTP parser raises before there is a request (headers too large, malformed
 * request line, header timeout): answered on the raw socket, still with an OCI error body.
 */
export function sendClientError(error: Error & { code?: string | undefined; rawPacket?: unknown }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const registryError =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new RegistryError('HEADERS_TOO_LARGE')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new RegistryError('REQUEST_TIMEOUT')
        : new RegistryError('BAD_REQUEST', 'malformed HTTP request');
  // A HEAD request gets headers only, even when it could not be parsed fully.
  const packet = error.rawPacket;
  const isHead = Buffer.isBuffer(packet) && packet.subarray(0, 5).toString('latin1') === 'HEAD ';
  sendRawError(socket, registryError, isHead);
}

/** Answers on a raw HTTP/1 socket with an OCI error body, and closes the connection. */
export function sendRawError(socket: Duplex, registryError: RegistryError, isHead = false): void {
  // A socket answered here belongs to no request (Node has let go of it): a client that resets
  // it would otherwise raise an 'error' nobody listens to and end the process. The answer is
  // best effort; the connection is closing anyway.
  if (socket.listenerCount('error') === 0) socket.on('error', () => socket.destroy());
  const body = isHead ? '' : JSON.stringify(registryError.toBody());
  socket.end(
    `HTTP/1.1 ${registryError.status} ${STATUS_CODES[registryError.status] ?? ''}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Docker-Distribution-Api-Version: registry/2.0\r\n' +
      Object.entries(registryError.headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('') +
      'Connection: close\r\n\r\n' +
      body,
  );
}
