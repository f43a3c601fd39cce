// Admin API for quotas and storage usage: /api/v1/quotas (list, set, delete; quotas of the
// configuration file are listed read-only), /api/v1/usage (every namespace: bytes, repositories,
// quota) and /api/v1/usage/namespaces/:namespace (one namespace, repository by repository).
// Administrators only, except that a namespace's administrators may read its usage. What a valid
// quota is and how usage is counted is QuotaService's (registry/quotas.ts). docs/admin-api.md
// describes the endpoints.
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { signedInUser, type Principal } from '../../auth/index.js';
import { RegistryError } from '../../errors/index.js';
import type { NamespaceUsageReport, QuotaService, QuotaView } from '../../registry/quotas.js';
import { body, json, noContent, param, type AdminRouter } from '../admin-json.js';

export interface QuotaRoutesDeps {
  readonly quotas: QuotaService;
  /** Whether the signed-in user (or one of their teams) holds the admin role on the namespace. */
  readonly isNamespaceAdmin: (user: { name: string; teams: readonly string[] }, namespace: string) => Promise<boolean>;
}

const quotaBody = z.strictObject({
  size: z.union([z.string(), z.number()]),
  repositories: z.number().optional(),
  warnAt: z.number().optional(),
});

/** A quota as the API shows it. */
function quotaJson(quota: QuotaView): Record<string, unknown> {
  return {
    namespace: quota.namespace,
    size: quota.sizeBytes,
    ...(quota.repositories === undefined ? {} : { repositories: quota.repositories }),
    ...(quota.warnAt === undefined ? {} : { warnAt: quota.warnAt }),
    source: quota.source,
    readOnly: quota.source === 'config',
    ...(quota.createdAt === undefined ? {} : { createdAt: quota.createdAt }),
    ...(quota.createdBy === undefined ? {} : { createdBy: quota.createdBy }),
  };
}

function usageJson(usage: NamespaceUsageReport): Record<string, unknown> {
  return {
    namespace: usage.namespace,
    bytes: usage.bytes,
    repositories: usage.repositories,
    quota: usage.quota === undefined ? null : quotaJson(usage.quota),
    warning: usage.warning,
  };
}

export function registerQuotaRoutes(router: AdminRouter, deps: QuotaRoutesDeps): void {
  const { quotas } = deps;

  /** A registry administrator, or an administrator of the namespace. */
  const namespaceReader = async (request: FastifyRequest, namespace: string): Promise<Principal> => {
    const principal = await router.who(request);
    const user = signedInUser(principal);
    if (user.admin || (await deps.isNamespaceAdmin(user, namespace))) return principal;
    throw new RegistryError('DENIED', { namespace }, { message: `only administrators of namespace ${namespace} may read its usage` });
  };

  router.route('GET', '/quotas', async (request, reply) => {
    await router.admin(request);
    return json(reply, 200, { quotas: (await quotas.listQuotas()).map(quotaJson) });
  });
  router.route('PUT', '/quotas/:namespace', async (request, reply) => {
    const principal = await router.admin(request);
    const input = await body(request, quotaBody);
    const quota = await quotas.setQuota(param(request, 'namespace'), input, principal.kind === 'user' ? principal.name : undefined);
    return json(reply, 200, quotaJson(quota));
  });
  router.route('DELETE', '/quotas/:namespace', async (request, reply) => {
    await router.admin(request);
    await quotas.deleteQuota(param(request, 'namespace'));
    return noContent(reply);
  });

  router.route('GET', '/usage', async (request, reply) => {
    await router.admin(request);
    return json(reply, 200, { namespaces: (await quotas.usage()).map(usageJson) });
  });
  router.route('GET', '/usage/namespaces/:namespace', async (request, reply) => {
    const namespace = param(request, 'namespace');
    await namespaceReader(request, namespace);
    const detail = await quotas.namespaceUsage(namespace);
    return json(reply, 200, { ...usageJson(detail), repositoryUsage: detail.repositoryUsage });
  });
}
