// The admin API's use cases for webhook endpoints (http/admin/webhook-routes.ts decides who may
// call them): list the file's endpoints (read-only, id config:<name>) and the stored ones, create,
// change and remove stored ones, send a test delivery to any of them, and read an endpoint's
// delivery history. A stored endpoint's secret is write-only: create returns it once, nothing
// returns it afterwards (views say only that the endpoint signs). Header values are not shown
// either (they often carry credentials); only their names. Every change is re-read into the
// endpoint directory at once, so this replica follows it immediately and others within seconds.
import { randomBytes } from 'node:crypto';
import { RegistryError } from '../errors/index.js';
import type { EndpointDeliveryRecord, EventOutboxQueries, WebhookEndpointQueries, WebhookEndpointRecord } from '../metadata/index.js';
import type { Caller } from '../registry/interfaces.js';
import { deliverOnce, type SendWebhook } from './deliverer.js';
import {
  endpointFromRecord,
  type EndpointDirectory,
  type EndpointFormat,
  type StoredEndpointDefinition,
  type WebhookEndpoint,
} from './endpoints.js';
import { uuidv7 } from './ids.js';

/** What the admin API sets on an endpoint; on a change every field is optional. */
export interface EndpointSettings {
  readonly name: string;
  readonly url: string;
  readonly format?: EndpointFormat | undefined;
  readonly headers?: Readonly<Record<string, readonly string[]>> | undefined;
  readonly timeoutMs?: number | undefined;
  readonly threshold?: number | undefined;
  readonly backoffMs?: number | undefined;
  readonly maxBackoffMs?: number | undefined;
  /** Only these actions; null or absent: every action. */
  readonly actions?: readonly string[] | null | undefined;
  readonly repositories?: readonly string[] | undefined;
  readonly tags?: readonly string[] | undefined;
  readonly ignoredMediaTypes?: readonly string[] | undefined;
  /** Given or generated at creation; write-only. */
  readonly secret?: string | undefined;
  readonly allowPrivateAddresses?: boolean | undefined;
}

/** A change of a stored endpoint: the fields given replace the old ones. */
export type EndpointChange = { readonly [K in keyof EndpointSettings]?: EndpointSettings[K] | undefined };

/** An endpoint as the admin API shows it: never its secret nor its header values. */
export interface EndpointView {
  readonly id: string;
  readonly name: string;
  /** The namespace whose repositories' events it gets; null: every repository. */
  readonly namespace: string | null;
  readonly url: string;
  readonly format: EndpointFormat;
  readonly headerNames: readonly string[];
  readonly timeoutMs: number;
  readonly threshold: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  /** null: every action (the file's endpoints: Distribution's push, pull, delete and mount). */
  readonly actions: readonly string[] | null;
  readonly ignoredActions: readonly string[];
  readonly repositories: readonly string[];
  readonly tags: readonly string[];
  readonly ignoredMediaTypes: readonly string[];
  readonly allowPrivateAddresses: boolean;
  /** Whether requests carry X-Berth-Signature-256 (the secret itself is never shown). */
  readonly signed: boolean;
  /** 'config': notifications.endpoints in the file, read-only here. */
  readonly source: 'config' | 'api';
  readonly readOnly: boolean;
  readonly createdAt: string | null;
  readonly createdBy: string | null;
  /** Deliveries waiting (not yet delivered). */
  readonly pending: number;
}

/** What a test delivery came to. */
export interface TestDeliveryResult {
  readonly eventId: string;
  readonly delivered: boolean;
  readonly responseCode: number | null;
  readonly error: string | null;
  readonly durationMs: number;
}

export interface EndpointAdminOptions {
  readonly stored: WebhookEndpointQueries;
  readonly outbox: Pick<EventOutboxQueries, 'pendingByEndpoint'>;
  /** The endpoints in force: the file's (read-only here) and the stored ones as last read. */
  readonly directory: EndpointDirectory;
  /** The sender the deliverer uses (src/client/webhook-sender.ts). */
  readonly send: SendWebhook;
  /** Why the URL may not be used under the SSRF rules (a private address, a name resolving to one), or undefined. */
  readonly addressProblem: (url: string, allowPrivateAddresses: boolean) => Promise<string | undefined>;
  /** This replica, as events name their source. */
  readonly source: { readonly addr: string; readonly instanceID: string };
  /** http.host, when configured (a CloudEvent's source). */
  readonly registryUrl: string | undefined;
}

export class EndpointAdmin {
  constructor(private readonly options: EndpointAdminOptions) {}

  /** Every endpoint: the file's first, then the stored ones, oldest first. */
  async list(): Promise<EndpointView[]> {
    const pending = await this.options.outbox.pendingByEndpoint();
    const fromFile = this.options.directory.fromFile.map((endpoint) => viewOf(endpoint, undefined, pending.get(endpoint.id) ?? 0));
    const stored = (await this.options.stored.list()).flatMap((record) => {
      const endpoint = endpointOf(record);
      return endpoint === undefined ? [] : [viewOf(endpoint, record, pending.get(record.id) ?? 0)];
    });
    return [...fromFile, ...stored];
  }

  async get(id: string): Promise<EndpointView | undefined> {
    const found = await this.find(id);
    if (found === undefined) return undefined;
    const pending = (await this.options.outbox.pendingByEndpoint()).get(id) ?? 0;
    return viewOf(found.endpoint, found.record, pending);
  }

  /** Stores a new endpoint; the answer carries its secret, the only time it is shown. */
  async create(
    namespace: string | null,
    settings: EndpointSettings,
    createdBy: string | undefined,
  ): Promise<EndpointView & { secret: string }> {
    await this.assertUsable(namespace ?? '', undefined, settings.name, settings.url, settings.allowPrivateAddresses ?? false);
    const secret = settings.secret ?? randomBytes(32).toString('hex');
    const record: WebhookEndpointRecord = {
      id: uuidv7(),
      namespace: namespace ?? '',
      name: settings.name,
      definition: definitionOf({ ...settings, secret }),
      createdAt: new Date().toISOString(),
      createdBy,
    };
    await this.options.stored.add(record);
    await this.options.directory.refresh();
    const endpoint = endpointOf(record);
    if (endpoint === undefined) throw new Error('a stored endpoint could not be read back');
    return { ...viewOf(endpoint, record, 0), secret };
  }

  /** Changes a stored endpoint: the given fields replace the old ones (headers as a whole). */
  async update(id: string, change: EndpointChange): Promise<EndpointView> {
    const found = await this.findStored(id);
    const old = found.record.definition as unknown as StoredEndpointDefinition;
    const settings = { ...old, name: found.record.name, ...withoutUndefined(change) } as EndpointSettings;
    await this.assertUsable(found.record.namespace, id, settings.name, settings.url, settings.allowPrivateAddresses ?? false);
    const definition = definitionOf(settings);
    await this.options.stored.update(id, { name: settings.name, definition });
    await this.options.directory.refresh();
    const view = await this.get(id);
    if (view === undefined) throw new RegistryError('RESOURCE_UNKNOWN', { kind: 'webhook endpoint', name: id });
    return view;
  }

  /** Removes a stored endpoint with its delivery history. */
  async remove(id: string): Promise<void> {
    await this.findStored(id);
    if (!(await this.options.stored.remove(id))) throw new RegistryError('RESOURCE_UNKNOWN', { kind: 'webhook endpoint', name: id });
    await this.options.directory.refresh();
  }

  /**
   * Sends one synthetic event (action `test`) to the endpoint now, in its format, signed, under
   * the same SSRF rules as deliveries, whatever its filters say; it is not recorded in the outbox.
   */
  async test(id: string, caller: Caller): Promise<TestDeliveryResult> {
    const found = await this.find(id);
    if (found === undefined) throw new RegistryError('RESOURCE_UNKNOWN', { kind: 'webhook endpoint', name: id });
    const at = Date.now();
    const eventId = uuidv7(at);
    const namespace = found.endpoint.namespace;
    const event = {
      id: eventId,
      timestamp: new Date(at).toISOString(),
      action: 'test',
      target: namespace === undefined || namespace === '' ? {} : { repository: namespace },
      request: { id: caller.requestId, addr: caller.address, host: caller.host, method: caller.method, useragent: caller.userAgent },
      actor: caller.name === undefined ? {} : { name: caller.name },
      source: this.options.source,
    };
    const outcome = await deliverOnce(this.options.send, found.endpoint, eventId, JSON.stringify(event), this.options.registryUrl);
    return {
      eventId,
      delivered: outcome.ok,
      responseCode: outcome.status ?? null,
      error: outcome.ok ? null : outcome.error,
      durationMs: outcome.durationMs,
    };
  }

  /** The endpoint's deliveries, newest event first (see WebhookEndpointQueries.deliveries). */
  deliveries(
    id: string,
    options: { state?: 'pending' | 'delivered' | undefined; before?: string | undefined; limit: number },
  ): Promise<EndpointDeliveryRecord[]> {
    return this.options.stored.deliveries(id, options);
  }

  private async find(id: string): Promise<{ endpoint: WebhookEndpoint; record: WebhookEndpointRecord | undefined } | undefined> {
    const fromFile = this.options.directory.fromFile.find((endpoint) => endpoint.id === id);
    if (fromFile !== undefined) return { endpoint: fromFile, record: undefined };
    const record = await this.options.stored.find(id);
    const endpoint = record === undefined ? undefined : endpointOf(record);
    return endpoint === undefined ? undefined : { endpoint, record };
  }

  /** A stored endpoint, or 404; the file's endpoints are changed in the file (409). */
  private async findStored(id: string): Promise<{ endpoint: WebhookEndpoint; record: WebhookEndpointRecord }> {
    const found = await this.find(id);
    if (found === undefined) throw new RegistryError('RESOURCE_UNKNOWN', { kind: 'webhook endpoint', name: id });
    if (found.record === undefined) {
      throw new RegistryError(
        'RESOURCE_EXISTS',
        { id },
        { message: `webhook endpoint ${id} is set in the configuration file (notifications.endpoints): change it there` },
      );
    }
    return { endpoint: found.endpoint, record: found.record };
  }

  /** Refuses a name already used in the namespace (409) and a URL the SSRF rules refuse (400). */
  private async assertUsable(namespace: string, id: string | undefined, name: string, url: string, allowPrivate: boolean): Promise<void> {
    const taken = (await this.options.stored.list()).some(
      (other) => other.namespace === namespace && other.name === name && other.id !== id,
    );
    if (taken) {
      throw new RegistryError(
        'RESOURCE_EXISTS',
        { name },
        { message: `a webhook endpoint named ${name} exists ${namespace === '' ? 'for every repository' : `in namespace ${namespace}`}` },
      );
    }
    const problem = await this.options.addressProblem(url, allowPrivate);
    if (problem !== undefined) {
      throw new RegistryError('REQUEST_INVALID', { field: 'url', reason: problem }, { message: `invalid url: ${problem}` });
    }
  }
}

function endpointOf(record: WebhookEndpointRecord): WebhookEndpoint | undefined {
  return endpointFromRecord(record.id, record.name, record.namespace, record.definition);
}

/**
 * The stored JSON of an endpoint's settings: the fields given (the name and namespace are
 * columns of their own; actions null, every action, is no actions list). endpointFromRecord
 * applies the defaults when it reads them.
 */
function definitionOf(settings: EndpointSettings): Record<string, unknown> {
  const { name: _name, actions, ...rest } = settings;
  return withoutUndefined({ ...rest, ...(actions === null || actions === undefined ? {} : { actions }) });
}

function viewOf(endpoint: WebhookEndpoint, record: WebhookEndpointRecord | undefined, pending: number): EndpointView {
  return {
    id: endpoint.id,
    name: endpoint.name,
    namespace: endpoint.namespace === undefined || endpoint.namespace === '' ? null : endpoint.namespace,
    url: endpoint.url,
    format: endpoint.format,
    headerNames: Object.keys(endpoint.headers),
    timeoutMs: endpoint.timeoutMs,
    threshold: endpoint.threshold,
    backoffMs: endpoint.backoffMs,
    maxBackoffMs: endpoint.maxBackoffMs,
    actions: endpoint.actions ?? null,
    ignoredActions: endpoint.ignoredActions,
    repositories: endpoint.repositories ?? [],
    tags: endpoint.tags ?? [],
    ignoredMediaTypes: endpoint.ignoredMediaTypes,
    allowPrivateAddresses: endpoint.allowPrivateAddresses,
    signed: endpoint.secret !== undefined && endpoint.secret !== '',
    source: endpoint.origin,
    readOnly: endpoint.origin === 'config',
    createdAt: record?.createdAt ?? null,
    createdBy: record?.createdBy ?? null,
    pending,
  };
}

/** The fields of a change that were given (an absent field keeps its old value). */
function withoutUndefined<T extends object>(change: T): Partial<T> {
  return Object.fromEntries(Object.entries(change).filter(([, value]) => value !== undefined)) as Partial<T>;
}
