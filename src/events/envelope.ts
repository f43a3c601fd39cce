// What a delivery sends: Distribution's envelope ({"events": [...]}, the same body for both of
// its media types: registry:2 sends application/vnd.docker.distribution.events.v1+json,
// Distribution 3 ...v2+json) carrying one or several events, or a CloudEvents 1.0 structured
// event (cloudevents.ts), always one per request; the endpoint's own headers; and, with a
// secret, an HMAC-SHA256 signature of the exact body bytes. The events come as the outbox holds
// them (EventRun): one event's JSON, or a batch of pull events' (the inside of its stored
// array), spliced into the envelope as they are, never parsed again.
import { createHmac } from 'node:crypto';
import type { WebhookEndpoint } from './endpoints.js';
import { toCloudEvent } from './cloudevents.js';

export const ENVELOPE_V1 = 'application/vnd.docker.distribution.events.v1+json';
export const ENVELOPE_V2 = 'application/vnd.docker.distribution.events.v2+json';

/** The header that carries the signature: `sha256=<hex of HMAC-SHA256(secret, body)>`. */
export const SIGNATURE_HEADER = 'X-Berth-Signature-256';
/**
 * The ids of the events in the body, in order, comma-separated (one id for a single event), so a
 * receiver can drop repeats (delivery is at least once) without reading the body.
 */
export const EVENT_ID_HEADER = 'X-Berth-Event-Id';

export interface FormattedDelivery {
  readonly headers: Record<string, string | readonly string[]>;
  readonly body: Buffer;
}

/**
 * Events in a row, as the outbox stores them: their ids, in order, and their JSON objects
 * separated by commas (one event's JSON, or the inside of a batch's array).
 */
export interface EventRun {
  readonly ids: readonly string[];
  readonly json: string;
}

/**
 * The request carrying these events (at least one) to one endpoint: all of them in one
 * envelope, or, for a CloudEvents endpoint, the only one given (several are refused: the
 * deliverer sends those one at a time). `registryUrl` (http.host, when configured) is a
 * CloudEvent's source.
 */
export function formatDelivery(endpoint: WebhookEndpoint, runs: readonly EventRun[], registryUrl?: string): FormattedDelivery {
  const ids = runs.length === 1 ? (runs[0] as EventRun).ids : runs.flatMap((run) => run.ids);
  const first = runs[0];
  if (first === undefined || ids.length === 0) throw new Error('a delivery carries at least one event');
  let body: Buffer;
  let contentType: string;
  if (endpoint.format === 'cloudevents') {
    if (ids.length > 1) throw new Error('a CloudEvents delivery carries one event');
    const structured = toCloudEvent(first.json, registryUrl);
    body = Buffer.from(structured.body);
    contentType = structured.contentType;
  } else {
    // The stored JSON goes in as it is: what was recorded is what is sent.
    body = Buffer.from(`{"events":[${runs.length === 1 ? first.json : runs.map((run) => run.json).join(',')}]}`);
    contentType = endpoint.format === 'distribution-v2' ? ENVELOPE_V2 : ENVELOPE_V1;
  }
  const headers: Record<string, string | readonly string[]> = {};
  for (const [name, values] of Object.entries(endpoint.headers)) headers[name] = values;
  headers['content-type'] = contentType;
  headers[EVENT_ID_HEADER] = ids.join(',');
  if (endpoint.secret !== undefined && endpoint.secret !== '') headers[SIGNATURE_HEADER] = signature(endpoint.secret, body);
  return { headers, body };
}

/** Events sent in one request to the endpoint: up to the deliverer's batch in its envelope, one CloudEvent. */
export function eventsPerRequest(endpoint: Pick<WebhookEndpoint, 'format'>, batch: number): number {
  return endpoint.format === 'cloudevents' ? 1 : Math.max(1, batch);
}

/** `sha256=` and the hex HMAC-SHA256 of the body with the endpoint's secret. */
export function signature(secret: string, body: Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
