// CloudEvents 1.0 as an alternative delivery format (an endpoint's format: cloudevents): each
// event becomes one structured-mode CloudEvent over HTTP (application/cloudevents+json), built
// and serialised by the cloudevents package so the attributes follow the specification exactly.
// The mapping (docs/events.md#cloudevents):
// - id: the event's id (a UUIDv7), so a receiver drops a repeat as with the envelope;
// - type: io.berth.<kind>.<action> for Distribution's actions, where the kind is what the target
//   is (manifest, tag or blob): io.berth.manifest.push, io.berth.tag.delete, io.berth.blob.mount;
//   io.berth.<action> for any other action (io.berth.test for a test delivery);
// - source: the registry's external URL (http.host), else //<host:port> of the replica;
// - subject: repository, or repository:tag when the event names a tag;
// - time: the event's timestamp; data: the Distribution event object, as the envelope carries it.
import { CloudEvent, HTTP } from 'cloudevents';
import { DISTRIBUTION_ACTIONS } from './endpoints.js';

/** The fields of a stored event (registry-events.ts's RegistryEvent) the mapping reads. */
interface StoredEvent {
  readonly id: string;
  readonly timestamp: string;
  readonly action: string;
  readonly target?: { readonly mediaType?: string; readonly repository?: string; readonly tag?: string; readonly digest?: string };
  readonly source?: { readonly addr?: string };
}

/** Distribution's media type for blob targets. */
const BLOB_MEDIA_TYPE = 'application/octet-stream';

/** The CloudEvents type of an event (see the header). */
export function cloudEventType(event: Pick<StoredEvent, 'action' | 'target'>): string {
  if (!DISTRIBUTION_ACTIONS.has(event.action)) return `io.berth.${event.action}`;
  const target = event.target ?? {};
  let kind: 'manifest' | 'tag' | 'blob';
  if (event.action === 'mount' || target.mediaType === BLOB_MEDIA_TYPE) kind = 'blob';
  else if (event.action === 'delete' && target.tag !== undefined && target.mediaType === undefined) kind = 'tag';
  else kind = 'manifest';
  return `io.berth.${kind}.${event.action}`;
}

/**
 * The structured-mode request body and content type for one stored event (its JSON as the
 * outbox holds it). `registryUrl` is http.host when configured.
 */
export function toCloudEvent(eventJson: string, registryUrl: string | undefined): { body: string; contentType: string } {
  const data = JSON.parse(eventJson) as Record<string, unknown>;
  const event = data as unknown as StoredEvent;
  const repository = event.target?.repository;
  const tag = event.target?.tag;
  const cloudEvent = new CloudEvent({
    specversion: '1.0',
    id: event.id,
    type: cloudEventType(event),
    source: registryUrl?.replace(/\/+$/, '') ?? `//${event.source?.addr ?? 'berth'}`,
    ...(repository === undefined ? {} : { subject: tag === undefined ? repository : `${repository}:${tag}` }),
    time: event.timestamp,
    datacontenttype: 'application/json',
    data,
  });
  const message = HTTP.structured(cloudEvent);
  const contentType = message.headers['content-type'];
  return { body: String(message.body), contentType: typeof contentType === 'string' ? contentType : 'application/cloudevents+json' };
}
