// What a delivery sends: Distribution's envelope ({"events": [...]}, the same body for both of
// its media types: registry:2 sends application/vnd.docker.distribution.events.v1+json,
// Distribution 3 ...v2+json), or a CloudEvents 1.0 structured event (cloudevents.ts); the
// endpoint's own headers; and, with a secret, an HMAC-SHA256 signature of the exact body bytes.
import { createHmac } from 'node:crypto';
import type { WebhookEndpoint } from './endpoints.js';
import { toCloudEvent } from './cloudevents.js';

export const ENVELOPE_V1 = 'application/vnd.docker.distribution.events.v1+json';
export const ENVELOPE_V2 = 'application/vnd.docker.distribution.events.v2+json';

/** The header that carries the signature: `sha256=<hex of HMAC-SHA256(secret, body)>`. */
export const SIGNATURE_HEADER = 'X-Berth-Signature-256';
/** The id of the (first) event in the body, so a receiver can drop a repeat (delivery is at least once). */
export const EVENT_ID_HEADER = 'X-Berth-Event-Id';

export interface FormattedDelivery {
  readonly headers: Record<string, string | readonly string[]>;
  readonly body: Buffer;
}

/**
 * The request for one event (its stored JSON) to one endpoint. `registryUrl` (http.host, when
 * configured) is a CloudEvent's source.
 */
export function formatDelivery(endpoint: WebhookEndpoint, eventId: string, eventJson: string, registryUrl?: string): FormattedDelivery {
  let body: Buffer;
  let contentType: string;
  if (endpoint.format === 'cloudevents') {
    const structured = toCloudEvent(eventJson, registryUrl);
    body = Buffer.from(structured.body);
    contentType = structured.contentType;
  } else {
    // The stored JSON goes in as it is: what was recorded is what is sent.
    body = Buffer.from(`{"events":[${eventJson}]}`);
    contentType = endpoint.format === 'distribution-v2' ? ENVELOPE_V2 : ENVELOPE_V1;
  }
  const headers: Record<string, string | readonly string[]> = {};
  for (const [name, values] of Object.entries(endpoint.headers)) headers[name] = values;
  headers['content-type'] = contentType;
  headers[EVENT_ID_HEADER] = eventId;
  if (endpoint.secret !== undefined && endpoint.secret !== '') headers[SIGNATURE_HEADER] = signature(endpoint.secret, body);
  return { headers, body };
}

/** `sha256=` and the hex HMAC-SHA256 of the body with the endpoint's secret. */
export function signature(secret: string, body: Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
