// Events: what the registry's use cases did, recorded in the outbox in the transaction of the
// change (registry-events.ts), delivered to webhook endpoints (deliverer.ts, envelope.ts,
// endpoints.ts), Berth's own events (berth-events.ts), and the audit log (audit-log.ts); both
// the audit log and pull events are written in batches (write-batch.ts). docs/events.md and docs/audit.md.
export { AuditLog, type AuditLogOptions, type NewAuditEntry } from './audit-log.js';
export { BERTH_ACTIONS, BerthEvents, type BerthEvent } from './berth-events.js';
export { Deliverer, retryDelay, type DelivererOptions, type DeliveryCounts, type SendWebhook } from './deliverer.js';
export {
  EndpointAdmin,
  type EndpointAdminOptions,
  type EndpointSettings,
  type EndpointView,
  type TestDeliveryResult,
} from './endpoint-admin.js';
export {
  DISTRIBUTION_ACTIONS,
  EndpointDirectory,
  endpointWants,
  type EndpointFormat,
  type EventFacts,
  type StoredEndpointDefinition,
  type WebhookEndpoint,
} from './endpoints.js';
export { ENVELOPE_V1, ENVELOPE_V2, EVENT_ID_HEADER, formatDelivery, signature, SIGNATURE_HEADER } from './envelope.js';
export { uuidv7 } from './ids.js';
export { EventRecorder, withEvents, type EventRecorderOptions, type RegistryEvent } from './registry-events.js';
