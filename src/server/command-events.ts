// Berth's own events for a one-off command (`berth gc`): the configuration's endpoints and the
// database's, the outbox and the audit log, as the server records them, so that a run started
// from the command line is reported like a scheduled one. The command sends nothing itself: the
// server's deliverers, on any replica, send what it wrote to the outbox.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '../config/index.js';
import { AuditLog, BerthEvents, EndpointDirectory, EventRecorder } from '../events/index.js';
import type { MetadataStore } from '../metadata/index.js';
import { endpointFromConfig } from './events-setup.js';

export interface CommandEvents {
  readonly own: BerthEvents;
  /** Writes what is still being written; call before the database closes. */
  close(): Promise<void>;
}

export async function openCommandEvents(config: Config, store: MetadataStore, warn: (message: string) => void): Promise<CommandEvents> {
  const failed = (error: unknown, message: string): void => warn(`${message}: ${error instanceof Error ? error.message : String(error)}`);
  const endpoints = new EndpointDirectory(config.notifications.endpoints.map(endpointFromConfig), store.webhookEndpoints);
  await endpoints.refresh();
  const recorder = new EventRecorder(endpoints, store.events, {
    source: { addr: `${hostname()}:berth-cli`, instanceID: randomUUID() },
    externalUrl: config.http.host,
    blobPulls: false,
    warn: failed,
  });
  const audit = config.audit.enabled
    ? new AuditLog(store.audit, { pullSampling: 0, retentionMs: config.audit.retentionMs, warn: failed })
    : undefined;
  const own = new BerthEvents(recorder, audit, (error) => failed(error, 'could not record an event'));
  return { own, close: () => own.flush() };
}
