// Admin API for webhook endpoints (docs/admin-api.md#webhook-endpoints, docs/events.md):
// /api/v1/webhooks lists the file's endpoints (read-only, id config:<name>) and those created
// here, per namespace or for every repository; create, change and remove them; POST
// /api/v1/webhooks/:id/test sends a test event at once and answers what happened; GET
// /api/v1/webhooks/:id/deliveries is the endpoint's delivery history (newest first, a cursor).
// Who: registry administrators for everything; a namespace's administrators for the endpoints of
// their namespace, except allowPrivateAddresses (administrators only). An endpoint the caller may
// not see answers 404 like an unknown one. Every field is checked here with zod (a clear 400);
// the use cases (src/events/endpoint-admin.ts, handed in by the composition root) check names in
// use (409) and the SSRF rules (400), and never return a secret after creation.
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { signedInUser, type Principal } from '../../auth/index.js';
import { RegistryError } from '../../errors/index.js';
import { isValidRepositoryName } from '../../oci/index.js';
import { repositoryGlobProblem, tagPatternProblem } from '../../oci/tag-pattern.js';
import type { Caller } from '../../registry/index.js';
import { json, noContent, param, queryValue, readJson, type AdminRouter } from '../admin-json.js';

/** What the routes need to know of an endpoint to decide who may see it. */
export interface WebhookEndpointSummary {
  readonly id: string;
  /** null: every repository. */
  readonly namespace: string | null;
  readonly source: 'config' | 'api';
  readonly allowPrivateAddresses: boolean;
}

export interface WebhookRouteDeps {
  readonly endpoints: {
    list(): Promise<readonly WebhookEndpointSummary[]>;
    get(id: string): Promise<WebhookEndpointSummary | undefined>;
    create(namespace: string | null, settings: EndpointInput, createdBy: string | undefined): Promise<WebhookEndpointSummary>;
    update(id: string, change: EndpointChange): Promise<WebhookEndpointSummary>;
    remove(id: string): Promise<void>;
    test(id: string, caller: Caller): Promise<unknown>;
    deliveries(
      id: string,
      options: { state?: 'pending' | 'delivered' | undefined; before?: string | undefined; limit: number },
    ): Promise<readonly { readonly eventId: string }[]>;
  };
  /** Whether the signed-in user (or one of their teams) holds the admin role on the namespace. */
  readonly isNamespaceAdmin: (user: { name: string; teams: readonly string[] }, namespace: string) => Promise<boolean>;
  /** The actions an endpoint's actions filter may name. */
  readonly actions: readonly string[];
}

/** Headers Berth sets itself, or that would break the request: an endpoint may not set them. */
const RESERVED_HEADERS = new Set([
  'content-type',
  'content-length',
  'transfer-encoding',
  'connection',
  'host',
  'x-berth-signature-256',
  'x-berth-event-id',
]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
const ENDPOINT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_PAGE = 500;

const url = z
  .string()
  .max(2048)
  .superRefine((text, ctx) => {
    const problem = urlProblem(text);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

/** Why the text is not a webhook URL, or undefined. */
function urlProblem(text: string): string | undefined {
  if (!URL.canParse(text)) return `expected an http or https URL, got ${JSON.stringify(text)}`;
  const parsed = new URL(text);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `expected an http or https URL, got ${parsed.protocol}`;
  if (parsed.username !== '' || parsed.password !== '') return 'a URL may not carry credentials: put them in headers';
  return undefined;
}

const headers = z
  .record(z.string(), z.union([z.string(), z.array(z.string()).min(1).max(16)]))
  .superRefine((record, ctx) => {
    for (const [name, values] of Object.entries(record)) {
      if (!HEADER_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `not a header name: ${JSON.stringify(name)}` });
      else if (RESERVED_HEADERS.has(name.toLowerCase()))
        ctx.addIssue({ code: 'custom', path: [name], message: `Berth sets ${name} itself` });
      for (const value of typeof values === 'string' ? [values] : values) {
        if (/[\r\n\0]/.test(value) || value.length > 4096) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: 'a header value may not hold line breaks or NUL, nor exceed 4096 characters',
          });
        }
      }
    }
    if (Object.keys(record).length > 32) ctx.addIssue({ code: 'custom', message: 'at most 32 headers' });
  })
  .transform((record) =>
    Object.fromEntries(Object.entries(record).map(([name, values]) => [name, typeof values === 'string' ? [values] : values])),
  );

/** A list of patterns, each checked by `problem`. */
function patterns(problem: (pattern: string) => string | undefined) {
  return z
    .array(z.string())
    .max(50)
    .superRefine((list, ctx) => {
      list.forEach((pattern, index) => {
        const why = problem(pattern);
        if (why !== undefined) ctx.addIssue({ code: 'custom', path: [index], message: why });
      });
    });
}

function settingsSchema(actions: readonly string[]) {
  const known = new Set(actions);
  return z.strictObject({
    name: z.string().regex(ENDPOINT_NAME, 'a name is 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit'),
    url,
    format: z.enum(['distribution-v1', 'distribution-v2', 'cloudevents']).optional(),
    headers: headers.optional(),
    timeoutMs: z.int().min(100).max(60_000).optional(),
    threshold: z.int().min(0).max(100).optional(),
    backoffMs: z.int().min(100).max(3_600_000).optional(),
    maxBackoffMs: z.int().min(1000).max(86_400_000).optional(),
    actions: z
      .array(z.string())
      .min(1, 'actions: give at least one, or null for every action')
      .superRefine((list, ctx) => {
        list.forEach((action, index) => {
          if (!known.has(action))
            ctx.addIssue({
              code: 'custom',
              path: [index],
              message: `unknown action ${JSON.stringify(action)}: one of ${actions.join(', ')}`,
            });
        });
      })
      .nullable()
      .optional(),
    repositories: patterns(repositoryGlobProblem).optional(),
    tags: patterns(tagPatternProblem).optional(),
    ignoredMediaTypes: z.array(z.string().min(1).max(255)).max(50).optional(),
    secret: z.string().min(16, 'a secret has at least 16 characters').max(256).optional(),
    allowPrivateAddresses: z.boolean().optional(),
  });
}

const namespaceField = z
  .string()
  .refine((name) => name === '' || (!name.includes('/') && isValidRepositoryName(name)), {
    message: 'a namespace is one repository path component (lower-case [a-z0-9] joined by ".", "_", "__" or "-")',
  })
  .nullable()
  .optional();

export type EndpointInput = z.output<ReturnType<typeof settingsSchema>>;
/** A change: any of the settings but the namespace, which an endpoint keeps. */
export type EndpointChange = z.output<ReturnType<ReturnType<typeof settingsSchema>['partial']>>;

/**
 * The JSON body checked with the schema; a 400 whose message names the first problem (the field
 * and why), with every problem in its detail.
 */
async function endpointBody<T>(request: FastifyRequest, schema: z.ZodType<T>): Promise<T> {
  const parsed = schema.safeParse(await readJson(request));
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
  const first = issues[0];
  const message =
    first === undefined
      ? 'invalid webhook endpoint'
      : `invalid webhook endpoint: ${first.path === '' ? '' : `${first.path}: `}${first.message}`;
  throw new RegistryError('REQUEST_INVALID', { issues }, { message });
}

export function registerWebhookRoutes(router: AdminRouter, deps: WebhookRouteDeps): void {
  const settings = settingsSchema(deps.actions);
  const createBody = settings.extend({ namespace: namespaceField });
  const changeBody = settings.partial();

  /** The principal, who must be a registry administrator for `namespace` null, else one or an administrator of it (403). */
  const assertMayManage = async (principal: Principal, namespace: string | null): Promise<void> => {
    const user = signedInUser(principal);
    if (user.admin) return;
    if (namespace !== null && (await deps.isNamespaceAdmin(user, namespace))) return;
    throw new RegistryError(
      'DENIED',
      { namespace },
      {
        message:
          namespace === null
            ? 'only registry administrators may manage webhook endpoints for every repository'
            : `only administrators of namespace ${namespace} may manage its webhook endpoints`,
      },
    );
  };

  /** Registry administrators manage every endpoint; a namespace's administrators the stored ones of their namespace. */
  const manages = async (
    user: { admin: boolean; name: string; teams: readonly string[] },
    endpoint: WebhookEndpointSummary,
    adminOf = (namespace: string) => deps.isNamespaceAdmin(user, namespace),
  ): Promise<boolean> => user.admin || (endpoint.source === 'api' && endpoint.namespace !== null && (await adminOf(endpoint.namespace)));

  /** The endpoint, when the caller may manage it; 404 otherwise (whether or not it exists). */
  const managed = async (request: FastifyRequest): Promise<{ endpoint: WebhookEndpointSummary; principal: Principal }> => {
    const id = param(request, 'id');
    const principal = await router.who(request);
    const user = signedInUser(principal);
    const endpoint = await deps.endpoints.get(id);
    if (endpoint === undefined || !(await manages(user, endpoint)))
      throw new RegistryError('RESOURCE_UNKNOWN', { kind: 'webhook endpoint', name: id });
    return { endpoint, principal };
  };

  /** allowPrivateAddresses is the registry administrators' to give. */
  const assertMayAllowPrivate = (principal: Principal, allow: boolean | undefined): void => {
    if (allow === true && !signedInUser(principal).admin) {
      throw new RegistryError(
        'DENIED',
        { field: 'allowPrivateAddresses' },
        { message: 'only registry administrators may let an endpoint reach private addresses' },
      );
    }
  };

  router.route('GET', '/webhooks', async (request, reply) => {
    const filter = queryValue(request, 'namespace');
    const principal = await router.who(request);
    if (filter !== undefined) await assertMayManage(principal, filter);
    const user = signedInUser(principal);
    // One question per namespace, however many endpoints it has.
    const asked = new Map<string, Promise<boolean>>();
    const adminOf = (namespace: string): Promise<boolean> => {
      let answer = asked.get(namespace);
      if (answer === undefined) {
        answer = deps.isNamespaceAdmin(user, namespace);
        asked.set(namespace, answer);
      }
      return answer;
    };
    const shown: WebhookEndpointSummary[] = [];
    for (const endpoint of await deps.endpoints.list()) {
      if (filter !== undefined && endpoint.namespace !== filter) continue;
      if (await manages(user, endpoint, adminOf)) shown.push(endpoint);
    }
    return json(reply, 200, { endpoints: shown });
  });

  router.route('POST', '/webhooks', async (request, reply) => {
    const principal = await router.who(request);
    signedInUser(principal);
    const { namespace, ...rest } = await endpointBody(request, createBody);
    const target = namespace === undefined || namespace === '' ? null : namespace;
    await assertMayManage(principal, target);
    assertMayAllowPrivate(principal, rest.allowPrivateAddresses);
    const created = await deps.endpoints.create(target, rest, principal.kind === 'user' ? principal.name : undefined);
    return json(reply, 201, created);
  });

  router.route('GET', '/webhooks/:id', async (request, reply) => {
    const { endpoint } = await managed(request);
    return json(reply, 200, endpoint);
  });

  router.route('PATCH', '/webhooks/:id', async (request, reply) => {
    const { endpoint, principal } = await managed(request);
    const change = await endpointBody(request, changeBody);
    // A namespace administrator may not change an endpoint an administrator let reach private addresses.
    assertMayAllowPrivate(principal, change.allowPrivateAddresses ?? endpoint.allowPrivateAddresses);
    return json(reply, 200, await deps.endpoints.update(endpoint.id, change));
  });

  router.route('DELETE', '/webhooks/:id', async (request, reply) => {
    const { endpoint } = await managed(request);
    await deps.endpoints.remove(endpoint.id);
    return noContent(reply);
  });

  router.route('POST', '/webhooks/:id/test', async (request, reply) => {
    const { endpoint } = await managed(request);
    const caller: Caller = {
      name: request.berthUser ?? undefined,
      address: request.ip,
      userAgent: request.headers['user-agent'],
      requestId: request.id,
      method: request.method,
      host: request.headers.host,
    };
    return json(reply, 200, await deps.endpoints.test(endpoint.id, caller));
  });

  router.route('GET', '/webhooks/:id/deliveries', async (request, reply) => {
    const { endpoint } = await managed(request);
    const state = queryValue(request, 'state');
    if (state !== undefined && state !== 'pending' && state !== 'delivered') {
      throw new RegistryError(
        'REQUEST_INVALID',
        { field: 'state', reason: 'expected pending or delivered' },
        { message: 'state must be pending or delivered' },
      );
    }
    const limitText = queryValue(request, 'limit');
    const limit = limitText === undefined ? 50 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      throw new RegistryError(
        'REQUEST_INVALID',
        { field: 'limit', reason: `a whole number from 1 to ${MAX_PAGE}` },
        { message: `limit must be a whole number from 1 to ${MAX_PAGE}` },
      );
    }
    const deliveries = await deps.endpoints.deliveries(endpoint.id, { state, before: queryValue(request, 'before'), limit: limit + 1 });
    const page = deliveries.slice(0, limit);
    return json(reply, 200, { deliveries: page, next: deliveries.length > limit ? page.at(-1)?.eventId : undefined });
  });
}
