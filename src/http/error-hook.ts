// The single place where an error becomes a response: catalogue errors go out as OCI error
// bodies with their status; anything unexpected is logged and answered 500 UNKNOWN without
// leaking internals.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../errors/index.js';

export function toRegistryError(error: unknown): RegistryError {
  if (error instanceof RegistryError) return error;
  const status = (error as Partial<FastifyError>).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (status === 404) return new RegistryError('NOT_FOUND');
    if (status === 405) return new RegistryError('UNSUPPORTED');
    if (status === 413) return new RegistryError('MANIFEST_TOO_LARGE');
    return new RegistryError('BAD_REQUEST', (error as Error).message);
  }
  return new RegistryError('UNKNOWN', undefined, { cause: error });
}

export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const registryError = toRegistryError(error);
  if (registryError.status >= 500) {
    request.log.error({ err: error }, 'request failed');
  } else {
    request.log.debug({ code: registryError.definition.code, detail: registryError.detail }, 'request rejected');
  }
  if (reply.sent || reply.raw.headersSent) return;
  const body = request.method === 'HEAD' ? undefined : JSON.stringify(registryError.toBody());
  reply
    .code(registryError.status)
    .headers(registryError.headers)
    .header('Content-Type', 'application/json')
    .header('Content-Length', body === undefined ? 0 : Buffer.byteLength(body));
  reply.send(body);
}
