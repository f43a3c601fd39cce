// Admin API for events and the audit log (docs/admin-api.md), administrators only, shaped for
// the web UI: lists newest first with filters and a cursor (`next`: pass it back as `before`),
// stable ids (UUIDv7). /api/v1/events (the outbox: what was recorded and to whom it goes),
// /api/v1/events/:id with its deliveries, POST /api/v1/events/:id/redeliver, /api/v1/audit.
// Pull events are stored and delivered in batches (docs/events.md#pull-batches): each is listed
// and found by its own id, and names its batch, whose deliveries it shows and whose redelivery
// sends the whole batch again.
// The composition root hands in the queries; http does not know the events layer.
import { z } from 'zod';
import { RegistryError } from '../../errors/index.js';
import type { AuditFilter, AuditRecord, DeliveryRecord, EventFilter, EventRecord } from '../../registry/index.js';
import { body, json, param, queryValue, type AdminRouter } from '../admin-json.js';

export interface EventRouteDeps {
  listEvents(filter: EventFilter): Promise<EventRecord[]>;
  findEvent(id: string): Promise<EventRecord | undefined>;
  listDeliveries(options: {
    eventId?: string | undefined;
    endpoint?: string | undefined;
    state?: 'pending' | 'delivered' | undefined;
    limit: number;
  }): Promise<DeliveryRecord[]>;
  /** Marks the event's deliveries (a pull event's: its batch's) due again; returns how many. */
  redeliver(eventId: string, endpoint?: string): Promise<number>;
  listAudit(filter: AuditFilter): Promise<AuditRecord[]>;
  /** Writes audit entries still queued, so a list right after a change shows it. */
  flushAudit(): Promise<void>;
}

const MAX_PAGE = 500;

function limitOf(request: Parameters<typeof queryValue>[0]): number {
  const text = queryValue(request, 'limit');
  const limit = text === undefined ? 50 : Number(text);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new RegistryError('REQUEST_INVALID', { reason: `limit must be a whole number from 1 to ${MAX_PAGE}` });
  }
  return limit;
}

/** An ISO-8601 time from the query, or undefined. */
function timeOf(request: Parameters<typeof queryValue>[0], name: string): string | undefined {
  const text = queryValue(request, name);
  if (text === undefined) return undefined;
  const at = new Date(text);
  if (Number.isNaN(at.getTime())) throw new RegistryError('REQUEST_INVALID', { field: name, reason: 'expected an ISO-8601 time' });
  return at.toISOString();
}

const redeliverBody = z.strictObject({ endpoint: z.string().min(1).optional() });

export function registerEventRoutes(router: AdminRouter, deps: EventRouteDeps): void {
  router.route('GET', '/events', async (request, reply) => {
    await router.admin(request);
    const limit = limitOf(request);
    const events = await deps.listEvents({
      action: queryValue(request, 'action'),
      repository: queryValue(request, 'repository'),
      actor: queryValue(request, 'actor'),
      since: timeOf(request, 'since'),
      until: timeOf(request, 'until'),
      before: queryValue(request, 'before'),
      limit: limit + 1,
    });
    const page = events.slice(0, limit);
    return json(reply, 200, { events: page, next: events.length > limit ? page.at(-1)?.id : undefined });
  });

  router.route('GET', '/events/:id', async (request, reply) => {
    await router.admin(request);
    const id = param(request, 'id');
    const event = await deps.findEvent(id);
    if (!event) throw new RegistryError('RESOURCE_UNKNOWN', { kind: 'event', name: id });
    const deliveries = await deps.listDeliveries({ eventId: event.batch?.id ?? id, limit: 1000 });
    return json(reply, 200, { ...event, deliveries });
  });

  router.route('POST', '/events/:id/redeliver', async (request, reply) => {
    await router.admin(request);
    const id = param(request, 'id');
    const input = await body(request, redeliverBody);
    const count = await deps.redeliver(id, input.endpoint);
    if (count === 0) throw new RegistryError('RESOURCE_UNKNOWN', { kind: 'event delivery', name: id });
    return json(reply, 202, { redelivered: count });
  });

  router.route('GET', '/events/deliveries', async (request, reply) => {
    await router.admin(request);
    const state = queryValue(request, 'state');
    if (state !== undefined && state !== 'pending' && state !== 'delivered') {
      throw new RegistryError('REQUEST_INVALID', { field: 'state', reason: 'expected pending or delivered' });
    }
    const deliveries = await deps.listDeliveries({ endpoint: queryValue(request, 'endpoint'), state, limit: limitOf(request) });
    return json(reply, 200, { deliveries });
  });

  router.route('GET', '/audit', async (request, reply) => {
    await router.admin(request);
    await deps.flushAudit();
    const limit = limitOf(request);
    const entries = await deps.listAudit({
      actor: queryValue(request, 'actor'),
      repository: queryValue(request, 'repository'),
      action: queryValue(request, 'action'),
      outcome: queryValue(request, 'outcome'),
      since: timeOf(request, 'since'),
      until: timeOf(request, 'until'),
      before: queryValue(request, 'before'),
      limit: limit + 1,
    });
    const page = entries.slice(0, limit);
    return json(reply, 200, { entries: page, next: entries.length > limit ? page.at(-1)?.id : undefined });
  });
}
