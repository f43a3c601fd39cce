// Webhook endpoints and which events each wants: the file's notifications.endpoints (read as
// Distribution reads them: name, url, headers, timeout, threshold, backoff, ignoredmediatypes,
// ignore.mediatypes and ignore.actions) and endpoints created through the admin API for a
// namespace, with filters (actions, repository globs, tag patterns), a format and a secret.
// The admin API's endpoints are re-read from the database at most every 2 s, so every replica
// follows a change within seconds; the hot path asks only the list in memory.
import type { WebhookEndpointQueries } from '../metadata/index.js';
import { repositoryMatches, tagMatches } from '../oci/tag-pattern.js';

/** How a delivery's body is written (envelope.ts). */
export type EndpointFormat = 'distribution-v1' | 'distribution-v2' | 'cloudevents';

export interface WebhookEndpoint {
  /** The key of its deliveries: `config:<name>` for the file's, the admin API's id otherwise. */
  readonly id: string;
  readonly name: string;
  readonly url: string;
  /** Extra request headers, each with one or more values (Distribution's headers). */
  readonly headers: Readonly<Record<string, readonly string[]>>;
  readonly timeoutMs: number;
  /** Failures in a row before retries back off (Distribution's threshold). */
  readonly threshold: number;
  /** The first wait once backing off, doubled at each further failure (Distribution's backoff). */
  readonly backoffMs: number;
  /** The longest wait between two attempts. */
  readonly maxBackoffMs: number;
  readonly format: EndpointFormat;
  /** Signs each body (HMAC-SHA256) when set. */
  readonly secret?: string | undefined;
  readonly allowPrivateAddresses: boolean;
  /** Events whose target has one of these media types are not sent (ignoredmediatypes, ignore.mediatypes). */
  readonly ignoredMediaTypes: readonly string[];
  /** Events of these actions are not sent (ignore.actions). */
  readonly ignoredActions: readonly string[];
  /** Only these actions, when given (Berth's). */
  readonly actions?: readonly string[] | undefined;
  /** Only repositories matching one of these globs, when given. */
  readonly repositories?: readonly string[] | undefined;
  /** Only events naming a tag that matches one of these patterns, when given. */
  readonly tags?: readonly string[] | undefined;
  /** Only repositories of this namespace, when given (the admin API's endpoints). */
  readonly namespace?: string | undefined;
  /** Where it came from: 'config' (the file) or 'api'. */
  readonly origin: 'config' | 'api';
}

/** What an endpoint's filters look at. */
export interface EventFacts {
  readonly action: string;
  readonly repository: string | undefined;
  readonly tag: string | undefined;
  readonly mediaType: string | undefined;
}

/** Actions Distribution sends; the file's endpoints get only these unless their actions list names others. */
export const DISTRIBUTION_ACTIONS: ReadonlySet<string> = new Set(['push', 'pull', 'delete', 'mount']);

export function endpointWants(endpoint: WebhookEndpoint, event: EventFacts): boolean {
  if (endpoint.ignoredActions.includes(event.action)) return false;
  if (endpoint.actions !== undefined) {
    if (!endpoint.actions.includes(event.action)) return false;
  } else if (endpoint.origin === 'config' && !DISTRIBUTION_ACTIONS.has(event.action)) {
    return false;
  }
  if (event.mediaType !== undefined && endpoint.ignoredMediaTypes.includes(event.mediaType)) return false;
  const repository = event.repository;
  if (endpoint.namespace !== undefined && endpoint.namespace !== '') {
    if (repository === undefined || !(repository === endpoint.namespace || repository.startsWith(`${endpoint.namespace}/`))) return false;
  }
  if (endpoint.repositories !== undefined && endpoint.repositories.length > 0) {
    if (repository === undefined || !endpoint.repositories.some((glob) => repositoryMatches(glob, repository))) return false;
  }
  if (endpoint.tags !== undefined && endpoint.tags.length > 0) {
    const tag = event.tag;
    if (tag === undefined || !endpoint.tags.some((pattern) => tagMatches(pattern, tag))) return false;
  }
  return true;
}

/** The endpoints in force: the file's, and the admin API's as last read. */
export class EndpointDirectory {
  private fromApi: readonly WebhookEndpoint[] = [];
  private all: readonly WebhookEndpoint[];
  private readAt = 0;
  private refreshing: Promise<void> | undefined;

  constructor(
    /** The file's endpoints (notifications.endpoints), fixed for the process's life. */
    readonly fromFile: readonly WebhookEndpoint[],
    private readonly stored: WebhookEndpointQueries | undefined,
    private readonly refreshMs = 2000,
  ) {
    this.all = fromFile;
  }

  /** The endpoints as last read; starts a re-read in the background when the list is older than refreshMs. */
  current(): readonly WebhookEndpoint[] {
    if (this.stored !== undefined && Date.now() - this.readAt >= this.refreshMs && this.refreshing === undefined) {
      this.refreshing = this.refresh()
        .catch(() => undefined)
        .finally(() => {
          this.refreshing = undefined;
        });
    }
    return this.all;
  }

  /** Re-reads the admin API's endpoints now. */
  async refresh(): Promise<void> {
    if (this.stored === undefined) return;
    const records = await this.stored.list();
    this.fromApi = records.flatMap((record) => {
      const endpoint = endpointFromRecord(record.id, record.name, record.namespace, record.definition);
      return endpoint === undefined ? [] : [endpoint];
    });
    this.all = [...this.fromFile, ...this.fromApi];
    this.readAt = Date.now();
  }

  find(id: string): WebhookEndpoint | undefined {
    return this.all.find((endpoint) => endpoint.id === id);
  }

  /** The ids of the endpoints that want the event. */
  wanting(event: EventFacts): string[] {
    const ids: string[] = [];
    for (const endpoint of this.current()) if (endpointWants(endpoint, event)) ids.push(endpoint.id);
    return ids;
  }
}

/** What the admin API stores for an endpoint (its definition JSON). */
export interface StoredEndpointDefinition {
  readonly url: string;
  readonly headers?: Record<string, readonly string[]>;
  readonly timeoutMs?: number;
  readonly threshold?: number;
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly format?: EndpointFormat;
  readonly secret?: string;
  readonly allowPrivateAddresses?: boolean;
  readonly actions?: readonly string[];
  readonly repositories?: readonly string[];
  readonly tags?: readonly string[];
  readonly ignoredMediaTypes?: readonly string[];
}

/** The settings a stored endpoint has when its definition does not say. */
export const API_ENDPOINT_DEFAULTS = {
  format: 'distribution-v2',
  timeoutMs: 5000,
  threshold: 3,
  backoffMs: 1000,
  maxBackoffMs: 300_000,
} as const satisfies Partial<WebhookEndpoint>;

/** A stored endpoint (the admin API's) as the directory holds it; undefined when its definition has no URL. */
export function endpointFromRecord(
  id: string,
  name: string,
  namespace: string,
  definition: Readonly<Record<string, unknown>>,
): WebhookEndpoint | undefined {
  const stored = definition as unknown as StoredEndpointDefinition;
  if (typeof stored.url !== 'string') return undefined;
  return {
    id,
    name,
    url: stored.url,
    headers: stored.headers ?? {},
    timeoutMs: stored.timeoutMs ?? API_ENDPOINT_DEFAULTS.timeoutMs,
    threshold: stored.threshold ?? API_ENDPOINT_DEFAULTS.threshold,
    backoffMs: stored.backoffMs ?? API_ENDPOINT_DEFAULTS.backoffMs,
    maxBackoffMs: stored.maxBackoffMs ?? API_ENDPOINT_DEFAULTS.maxBackoffMs,
    format: stored.format ?? API_ENDPOINT_DEFAULTS.format,
    secret: stored.secret,
    allowPrivateAddresses: stored.allowPrivateAddresses ?? false,
    ignoredMediaTypes: stored.ignoredMediaTypes ?? [],
    ignoredActions: [],
    // The admin API's endpoints take Berth's own actions too unless their actions list says otherwise.
    actions: stored.actions,
    repositories: stored.repositories,
    tags: stored.tags,
    namespace,
    origin: 'api',
  };
}
