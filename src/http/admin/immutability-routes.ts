// Admin API for tag immutability rules under /api/v1/immutability/rules: list every rule (those of
// the configuration file marked read-only), create one, delete one. Administrators only. What a
// valid rule is and how rules apply is ImmutabilityRules' (registry/immutability.ts); a rule
// created or deleted here holds on this replica at once and on the others within seconds.
// docs/admin-api.md describes the endpoints.
import { z } from 'zod';
import type { ImmutabilityRule, ImmutabilityRules } from '../../registry/immutability.js';
import { body, json, noContent, param, type AdminRouter } from '../admin-json.js';

const createRuleBody = z.strictObject({
  repositories: z.string(),
  tags: z.array(z.string()),
  except: z.array(z.string()).optional(),
});

/** A rule as the API shows it. */
function ruleJson(rule: ImmutabilityRule): Record<string, unknown> {
  return {
    id: rule.id,
    repositories: rule.repositories,
    tags: rule.tags,
    except: rule.except,
    source: rule.source,
    readOnly: rule.source === 'config',
    ...(rule.createdAt === undefined ? {} : { createdAt: rule.createdAt }),
    ...(rule.createdBy === undefined ? {} : { createdBy: rule.createdBy }),
  };
}

export function registerImmutabilityRoutes(router: AdminRouter, rules: ImmutabilityRules): void {
  router.route('GET', '/immutability/rules', async (request, reply) => {
    await router.admin(request);
    return json(reply, 200, { rules: (await rules.list()).map(ruleJson) });
  });
  router.route('POST', '/immutability/rules', async (request, reply) => {
    const principal = await router.admin(request);
    const input = await body(request, createRuleBody);
    const createdBy = principal.kind === 'user' ? principal.name : undefined;
    const rule = await rules.create({ repositories: input.repositories, tags: input.tags, except: input.except ?? [] }, createdBy);
    return json(reply, 201, ruleJson(rule));
  });
  router.route('DELETE', '/immutability/rules/:id', async (request, reply) => {
    await router.admin(request);
    await rules.delete(param(request, 'id'));
    return noContent(reply);
  });
}
