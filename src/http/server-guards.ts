// What every listening server gets, whatever made it (Fastify's plain HTTP server or the TLS
// servers of server/tls.ts), so that limits hold as docs/errors.md and docs/security.md state:
// - request headers over MAX_HEADER_BYTES get 431 with an OCI body. Node's parser counts only
//   the names and values (and stops collecting after 2,000 headers), so many small headers could
//   reach 20 KiB and more on the wire and pass; every header is kept here and the header block
//   is measured as sent (headerBlockBytes) before anything else looks at the request;
// - CONNECT gets 405 UNSUPPORTED with an OCI body. Node hands CONNECT to a 'connect' event
//   and, with no listener, closes the connection without a word.
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { Duplex } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { RegistryError } from '../errors/index.js';
import { sendRawError } from './error-hook.js';

/** The most bytes of request line and headers a request may have (Node's default maxHeaderSize). */
export const MAX_HEADER_BYTES = 16 * 1024;

/**
 * Most header entries of an HTTP/2 request (server/tls.ts). Node's default is 128, beyond which
 * the stream is reset without an answer; with 2,048 a request whose head is too large gets its
 * 431 here. What a session holds of headers stays bounded by Node's maxSessionMemory (10 MiB):
 * a larger header list ends the session.
 */
export const HTTP2_MAX_HEADER_PAIRS = 2_048;

const guarded = new WeakSet<object>();

/** Applies the guards to one server (once; later calls do nothing). */
export function guardServer(server: NodeJS.EventEmitter): void {
  if (guarded.has(server)) return;
  guarded.add(server);
  // Every header is kept, for headerBlockBytes(); Node's maxHeaderSize still bounds how many there can be.
  // (Assigned: the HTTP/2 server's typings lack the field its HTTP/1.1 fallback reads.)
  Object.assign(server, { maxHeadersCount: 0 });
  server.on('connect', answerConnect);
}

/**
 * HTTP/1.1 CONNECT comes with the socket, HTTP/2 CONNECT (on a TLS server with HTTP/2) with
 * a compatibility request and response.
 */
function answerConnect(_request: IncomingMessage | Http2ServerRequest, target: Duplex | Http2ServerResponse): void {
  const error = new RegistryError(
    'UNSUPPORTED',
    { method: 'CONNECT' },
    { message: 'CONNECT is not supported: this is a registry, not a proxy' },
  );
  if (target instanceof Duplex) {
    sendRawError(target, error);
    return;
  }
  const body = JSON.stringify(error.toBody());
  target.writeHead(error.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'docker-distribution-api-version': 'registry/2.0',
  });
  target.end(body);
}

/** The size of a request's head as sent on HTTP/1.1: request line, "name: value" lines, blank line. */
export function headerBlockBytes(request: FastifyRequest): number {
  const raw = request.raw;
  let bytes = (raw.method ?? '').length + (raw.url ?? '').length + 13; // "M U HTTP/1.1\r\n"
  const headers = raw.rawHeaders;
  for (let i = 0; i + 1 < headers.length; i += 2) bytes += (headers[i] ?? '').length + (headers[i + 1] ?? '').length + 4;
  return bytes + 2;
}

/** Refuses a request whose head is over MAX_HEADER_BYTES (an onRequest hook, first of all). */
export function assertHeaderSize(request: FastifyRequest): void {
  const bytes = headerBlockBytes(request);
  if (bytes > MAX_HEADER_BYTES) throw new RegistryError('HEADERS_TOO_LARGE', { limit: MAX_HEADER_BYTES, received: bytes });
}
