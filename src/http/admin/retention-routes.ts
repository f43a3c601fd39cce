// Admin API for retention under /api/v1/retention: list the policies (those of the configuration
// file marked read-only, in the order they are matched), create and delete rules (stored in the
// database, matched after the file's), and start a run, a dry run by default, answering with the
// plan or with what was done. Administrators only. What a valid rule is and how policies apply is
// the Retention use case's (registry/retention.ts). docs/admin-api.md describes the endpoints.
import { z } from 'zod';
import { RegistryError } from '../../errors/index.js';
import { describeRule, type Retention, type RetentionPolicy } from '../../registry/retention.js';
import { body, json, noContent, param, readJson, type AdminRouter } from '../admin-json.js';

const runBody = z.strictObject({ dryRun: z.boolean().optional() });

/** A policy as the API shows it: the rule as written, where it comes from, and whether it can be deleted here. */
function policyJson(policy: RetentionPolicy): Record<string, unknown> {
  return {
    id: policy.id,
    ...describeRule(policy.rule),
    source: policy.origin,
    readOnly: policy.origin === 'config',
    ...(policy.createdAt === undefined ? {} : { createdAt: policy.createdAt }),
    ...(policy.createdBy === undefined ? {} : { createdBy: policy.createdBy }),
  };
}

export function registerRetentionRoutes(router: AdminRouter, retention: Retention): void {
  router.route('GET', '/retention/rules', async (request, reply) => {
    await router.admin(request);
    const { policies, unreadable } = await retention.policies();
    return json(reply, 200, { rules: policies.map(policyJson), unreadableRules: unreadable });
  });
  router.route('POST', '/retention/rules', async (request, reply) => {
    const principal = await router.admin(request);
    const input = await readJson(request);
    const createdBy = principal.kind === 'user' ? principal.name : undefined;
    return json(reply, 201, policyJson(await retention.createRule(input, createdBy)));
  });
  router.route('DELETE', '/retention/rules/:id', async (request, reply) => {
    await router.admin(request);
    const id = param(request, 'id');
    if (id.startsWith('config:')) {
      throw new RegistryError('REQUEST_INVALID', { reason: `${id} is a policy of the configuration file: change it there` });
    }
    await retention.deleteRule(id);
    return noContent(reply);
  });
  router.route('POST', '/retention/runs', async (request, reply) => {
    await router.admin(request);
    const { dryRun } = await body(request, runBody);
    // A dry run unless asked otherwise: untagging is not undone.
    const report = await retention.run({ dryRun: dryRun ?? true });
    return json(reply, 200, report);
  });
}
