// Probes for load balancers and Kubernetes: /healthz (liveness: the process answers) and
// /readyz (readiness: storage and metadata answer; 503 otherwise, so the replica is taken out).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RegistryServices } from '../../registry/index.js';

export async function liveness(_request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  return reply.code(200).header('Content-Type', 'application/json').send('{"status":"ok"}');
}

export function readiness(registry: Pick<RegistryServices, 'health'>) {
  return async (_request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const report = await registry.health();
    return reply
      .code(report.healthy ? 200 : 503)
      .header('Content-Type', 'application/json')
      .header('Cache-Control', 'no-store')
      .send(JSON.stringify({ status: report.healthy ? 'ok' : 'failing', checks: report.checks }));
  };
}
