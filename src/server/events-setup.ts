// Assembles events for buildApp: the endpoints (the file's notifications.endpoints and the admin
// API's), the recorder the registry decorator uses, the deliverer (started by serve(), on every
// replica), the audit log, Berth's own events (berth-events.ts), and their metrics
// (berth_webhook_queue_depth, berth_webhook_deliveries_total{result},
// berth_audit_entries_total{action,outcome}).
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { WebhookSender } from '../client/webhook-sender.js';
import type { Config, NotificationEndpointConfig } from '../config/index.js';
import {
  AuditLog,
  BerthEvents,
  Deliverer,
  EndpointAdmin,
  EndpointDirectory,
  EventRecorder,
  type WebhookEndpoint,
} from '../events/index.js';
import type { MetadataStore } from '../metadata/index.js';
import type { BerthMetrics } from './metrics.js';
import { ScrapedCounter } from './scraped-metrics.js';

export interface EventsRuntime {
  readonly endpoints: EndpointDirectory;
  readonly recorder: EventRecorder;
  readonly deliverer: Deliverer;
  readonly sender: WebhookSender;
  /** The admin API's use cases for webhook endpoints (create, change, test, history). */
  readonly endpointAdmin: EndpointAdmin;
  /** Undefined when audit.enabled is false. */
  readonly audit: AuditLog | undefined;
  /** Berth's own events (refusals, quota warnings, GC runs, failed sign-ins, permission changes). */
  readonly own: BerthEvents;
  /** Starts delivering (serve()); buildApp alone records but does not send. */
  start(): void;
  stop(): Promise<void>;
}

/** A file endpoint as the events layer sees it: its deliveries are keyed config:<name>. */
export function endpointFromConfig(entry: NotificationEndpointConfig): WebhookEndpoint {
  return {
    id: `config:${entry.name}`,
    name: entry.name,
    url: entry.url,
    headers: entry.headers,
    timeoutMs: entry.timeoutMs,
    threshold: entry.threshold,
    backoffMs: entry.backoffMs,
    maxBackoffMs: entry.maxBackoffMs,
    format: entry.format,
    secret: entry.secret,
    allowPrivateAddresses: entry.allowPrivateAddresses,
    ignoredMediaTypes: entry.ignoredMediaTypes,
    ignoredActions: entry.ignoredActions,
    actions: entry.actions,
    origin: 'config',
  };
}

export async function openEvents(config: Config, metadata: MetadataStore, metrics: BerthMetrics, logger: Logger): Promise<EventsRuntime> {
  const warn = (error: unknown, message: string): void => logger.warn({ err: error }, message);
  const endpoints = new EndpointDirectory(config.notifications.endpoints.map(endpointFromConfig), metadata.webhookEndpoints);
  await endpoints.refresh();
  const instanceID = randomUUID();
  const sender = new WebhookSender();
  const deliverer = new Deliverer(metadata.events, endpoints, (request) => sender.send(request), {
    owner: instanceID,
    pollMs: 1000,
    batch: 50,
    retentionMs: config.notifications.retentionMs,
    registryUrl: config.http.host,
    warn,
  });
  const source = { addr: `${hostname()}:${config.http.addr.port}`, instanceID };
  const recorder = new EventRecorder(endpoints, metadata.events, {
    source,
    externalUrl: config.http.host,
    blobPulls: config.notifications.blobPulls,
    onRecorded: () => deliverer.nudge(),
    warn,
  });
  const endpointAdmin = new EndpointAdmin({
    stored: metadata.webhookEndpoints,
    outbox: metadata.events,
    directory: endpoints,
    send: (request) => sender.send(request),
    addressProblem: (url, allowPrivateAddresses) => sender.addressProblem(url, allowPrivateAddresses),
    source,
    registryUrl: config.http.host,
  });
  const audit = config.audit.enabled
    ? new AuditLog(metadata.audit, { pullSampling: config.audit.pullSampling, retentionMs: config.audit.retentionMs, warn })
    : undefined;
  metrics.gaugeFrom('berth_webhook_queue_depth', 'Events waiting for delivery, all endpoints.', async () => {
    let total = 0;
    for (const count of (await metadata.events.pendingByEndpoint()).values()) total += count;
    return total;
  });
  const own = new BerthEvents(recorder, audit, (error) => warn(error, 'could not record an event'));
  if (audit !== undefined) {
    // Bounded labels: actions are the route table's names with a method and Berth's own actions.
    new ScrapedCounter(
      {
        name: 'berth_audit_entries_total',
        help: 'Audit log entries recorded by this process, by action and outcome.',
        labelNames: ['action', 'outcome'],
        registers: [metrics.registry],
      },
      () => [...audit.counts.values()].map(({ action, outcome, count }) => ({ labels: { action, outcome }, value: count })),
    );
  }
  metrics.labelledCounterFrom('berth_webhook_deliveries_total', 'Webhook delivery attempts by this process.', 'result', () => ({
    delivered: deliverer.counts.delivered,
    failed: deliverer.counts.failed,
  }));
  return {
    endpoints,
    recorder,
    deliverer,
    sender,
    endpointAdmin,
    audit,
    own,
    start: () => deliverer.start(),
    async stop() {
      await recorder.flush();
      await deliverer.stop();
      await audit?.close();
      sender.close();
    },
  };
}
