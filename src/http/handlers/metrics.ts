// GET /metrics on the registry's own address: the Prometheus text the composition root
// assembles (src/server/metrics.ts), open to anyone by default, or only to signed-in callers or
// registry administrators (metrics.access). A caller without credentials gets 401 with the
// challenge (Prometheus sends basic_auth); one whose credentials do not qualify gets 403.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../../errors/index.js';
import { authenticateRequest, plainChallenge, type HttpAuth } from '../auth-gate.js';

/** What /metrics serves; prom-client's Registry is one. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/** Who may read /metrics on the registry's address; disabled: not served there. */
export type MetricsAccess = 'open' | 'signed-in' | 'admin' | 'disabled';

export function metricsHandler(
  source: MetricsSource,
  access: Exclude<MetricsAccess, 'disabled'>,
  auth: HttpAuth | undefined,
  externalUrl: string | undefined,
) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    if (access !== 'open') {
      // Configuration refuses a restricted /metrics without authentication; should it get here, nobody may read.
      if (auth === undefined) throw new RegistryError('DENIED');
      const principal = await authenticateRequest(auth, request, externalUrl);
      if (principal.kind === 'anonymous') {
        throw new RegistryError('UNAUTHORIZED', undefined, { headers: { 'WWW-Authenticate': plainChallenge(auth, request, externalUrl) } });
      }
      if (access === 'admin' && !(principal.kind === 'user' && principal.admin)) throw new RegistryError('DENIED');
    }
    return reply
      .header('Content-Type', source.contentType)
      .header('Cache-Control', 'no-store')
      .send(await source.metrics());
  };
}
