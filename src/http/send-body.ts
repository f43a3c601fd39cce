// Sends a response body stream. A stream that can write itself (a file: reused buffers, see
// storage/filesystem/file-content-stream.ts) writes straight into the HTTP/1 response, with
// the status and headers the handler set on the reply; any other stream is piped by Fastify.
// HTTP/2 always goes through Fastify: its write callbacks do not promise that a buffer may be
// reused.
import type { OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { isSelfSending } from '../registry/index.js';
import type { RequestContext } from './context.js';

export async function sendBody(ctx: RequestContext, stream: Readable): Promise<void> {
  const { reply, request } = ctx;
  if (!isSelfSending(stream) || request.raw.httpVersionMajor !== 1) {
    reply.send(stream);
    return;
  }
  // Fastify steps aside (its onResponse hooks, the access log, still run on the raw response).
  reply.hijack();
  const response = reply.raw;
  response.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
  try {
    await stream.sendTo(response, ctx.signal);
    response.end();
  } catch (error) {
    // The status line is gone: all that is left is to cut the connection, so that the client
    // sees a short body rather than a complete-looking one.
    response.destroy();
    if (!ctx.signal.aborted) request.log.warn({ err: error }, 'blob body failed mid-response');
  }
}
