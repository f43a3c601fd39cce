// The administrators' pages' calls to the documented admin API (docs/admin-api.md), typed with
// the shapes the server answers. Every call goes through api.ts's request wrapper, which sends
// the session cookie and, on state-changing calls, the CSRF header; nothing here keeps state.
import { getJson, sendJson } from './api';

const API = '/api/v1';

/** A path segment, escaped (names are checked by the server; a slash must not split a path). */
const seg = encodeURIComponent;

/** A query string of the values given (empty ones left out), with a leading "?" when any. */
export function queryString(values: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

// ---- users

export interface User {
  readonly name: string;
  readonly admin: boolean;
  readonly createdAt: string;
}

export const listUsers = async (): Promise<User[]> => (await getJson<{ users: User[] }>(`${API}/users`)).users;
export const createUser = (name: string, password: string, admin: boolean) =>
  sendJson<User>('POST', `${API}/users`, { name, password, admin });
export const setPassword = (name: string, password: string) => sendJson('PUT', `${API}/users/${seg(name)}/password`, { password });
export const setUserAdmin = (name: string, admin: boolean) => sendJson<User>('PATCH', `${API}/users/${seg(name)}`, { admin });
export const deleteUser = (name: string) => sendJson('DELETE', `${API}/users/${seg(name)}`);

// ---- teams

export interface Team {
  readonly name: string;
  readonly createdAt: string;
}

export interface TeamWithMembers extends Team {
  readonly members: string[];
}

export const listTeams = async (): Promise<Team[]> => (await getJson<{ teams: Team[] }>(`${API}/teams`)).teams;
export const getTeam = (name: string) => getJson<TeamWithMembers>(`${API}/teams/${seg(name)}`);
export const createTeam = (name: string) => sendJson<Team>('POST', `${API}/teams`, { name });
export const deleteTeam = (name: string) => sendJson('DELETE', `${API}/teams/${seg(name)}`);
export const addTeamMember = (team: string, user: string) =>
  sendJson<TeamWithMembers>('PUT', `${API}/teams/${seg(team)}/members/${seg(user)}`);
export const removeTeamMember = (team: string, user: string) => sendJson('DELETE', `${API}/teams/${seg(team)}/members/${seg(user)}`);

// ---- namespaces and grants

export type Visibility = 'public' | 'private';
export type Role = 'pull' | 'push' | 'delete' | 'admin';
export const ROLES: readonly Role[] = ['pull', 'push', 'delete', 'admin'];

export interface Namespace {
  readonly name: string;
  readonly visibility: Visibility;
  readonly createdAt: string;
}

export interface Grant {
  readonly kind: 'user' | 'team';
  readonly subject: string;
  readonly role: Role;
}

export const listNamespaces = async (): Promise<Namespace[]> =>
  (await getJson<{ namespaces: Namespace[] }>(`${API}/namespaces`)).namespaces;
export const setNamespaceVisibility = (name: string, visibility: Visibility) =>
  sendJson<Namespace>('PUT', `${API}/namespaces/${seg(name)}`, { visibility });
export const deleteNamespace = (name: string) => sendJson('DELETE', `${API}/namespaces/${seg(name)}`);
export const listGrants = async (namespace: string): Promise<Grant[]> =>
  (await getJson<{ grants: Grant[] }>(`${API}/namespaces/${seg(namespace)}/grants`)).grants;
export const setGrant = (namespace: string, kind: Grant['kind'], subject: string, role: Role) =>
  sendJson<Grant>('PUT', `${API}/namespaces/${seg(namespace)}/grants/${kind}/${seg(subject)}`, { role });
export const revokeGrant = (namespace: string, kind: Grant['kind'], subject: string) =>
  sendJson('DELETE', `${API}/namespaces/${seg(namespace)}/grants/${kind}/${seg(subject)}`);

// ---- API tokens

export type TokenAction = 'pull' | 'push' | 'delete' | '*';

export interface TokenScope {
  readonly repository: string;
  readonly actions: TokenAction[];
}

export interface ApiToken {
  readonly id: string;
  readonly owner: string;
  readonly name: string;
  readonly scopes: TokenScope[];
  readonly expiresAt: string;
  readonly expired: boolean;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
}

export interface NewApiToken extends ApiToken {
  /** The secret, in this answer only. */
  readonly token: string;
}

export interface TokenRequest {
  readonly name: string;
  readonly scopes: TokenScope[];
  readonly expiresIn: string;
  readonly user?: string;
}

export const listAllTokens = async (): Promise<ApiToken[]> => (await getJson<{ tokens: ApiToken[] }>(`${API}/tokens?all=true`)).tokens;
export const createToken = async (input: TokenRequest): Promise<NewApiToken> =>
  (await sendJson<NewApiToken>('POST', `${API}/tokens`, input)) as NewApiToken;
export const revokeToken = (id: string) => sendJson('DELETE', `${API}/tokens/${seg(id)}`);

// ---- pull-through upstreams

export interface UpstreamCache {
  readonly repositories: number;
  readonly items: number;
  readonly bytes: number;
  readonly lastPulledAt: string | null;
}

export interface Upstream {
  readonly name: string;
  readonly url: string;
  readonly namespace: string;
  readonly hosts: string[];
  readonly tagTtlMs: number;
  readonly offline: boolean;
  readonly cache: UpstreamCache;
}

export interface UpstreamList {
  readonly upstreams: Upstream[];
  /** This replica's pull-through counters since it started (hits, misses, fetches, ...). */
  readonly stats: Record<string, number>;
}

export const listUpstreams = () => getJson<UpstreamList>(`${API}/upstreams`);

// ---- quotas and usage

export interface Quota {
  readonly namespace: string;
  readonly size: number;
  readonly repositories?: number;
  readonly warnAt?: number;
  readonly source: 'config' | 'api';
  readonly readOnly: boolean;
}

export interface NamespaceUsage {
  readonly namespace: string;
  readonly bytes: number;
  readonly repositories: number;
  readonly quota: Quota | null;
  readonly warning: boolean;
}

export interface RepositoryUsage {
  readonly repository: string;
  readonly bytes: number;
  readonly blobs: number;
  readonly manifests: number;
  readonly tags: number;
}

export interface QuotaRequest {
  readonly size: string;
  readonly repositories?: number;
  readonly warnAt?: number;
}

export const listQuotas = async (): Promise<Quota[]> => (await getJson<{ quotas: Quota[] }>(`${API}/quotas`)).quotas;
export const setQuota = (namespace: string, quota: QuotaRequest) => sendJson<Quota>('PUT', `${API}/quotas/${seg(namespace)}`, quota);
export const deleteQuota = (namespace: string) => sendJson('DELETE', `${API}/quotas/${seg(namespace)}`);
export const listUsage = async (): Promise<NamespaceUsage[]> =>
  (await getJson<{ namespaces: NamespaceUsage[] }>(`${API}/usage`)).namespaces;
export const namespaceUsage = (namespace: string) =>
  getJson<NamespaceUsage & { repositoryUsage: RepositoryUsage[] }>(`${API}/usage/namespaces/${seg(namespace)}`);

// ---- garbage collection

export interface GcStats {
  readonly repositories: number;
  readonly manifestsDeleted: number;
  readonly blobsDeleted: number;
  readonly bytesFreed: number;
  readonly durationMs: number;
  readonly [other: string]: number;
}

export interface GcReport {
  readonly runId: string;
  readonly dryRun: boolean;
  readonly stats: GcStats;
}

export interface GcRun {
  readonly id: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly trigger: 'schedule' | 'api' | 'cli';
  readonly dryRun: boolean;
  readonly status: 'running' | 'finished' | 'failed';
  readonly error?: string;
  readonly stats: GcStats | null;
}

export interface GcRequest {
  readonly dryRun: boolean;
  readonly deleteUntagged: boolean;
  readonly grace?: string;
}

export const runGc = async (input: GcRequest): Promise<GcReport> => (await sendJson<GcReport>('POST', `${API}/gc/runs`, input)) as GcReport;
export const listGcRuns = (before?: string) =>
  getJson<{ runs: GcRun[]; next?: string }>(`${API}/gc/runs${queryString({ limit: 20, before })}`);

// ---- retention and immutability rules

interface RuleSource {
  readonly id: string;
  readonly source: 'config' | 'api';
  readonly readOnly: boolean;
  readonly createdAt?: string;
  readonly createdBy?: string;
}

export interface RetentionRule extends RuleSource {
  readonly repositories: string;
  readonly keeplast?: number;
  readonly keeptags?: string[];
  readonly olderthan?: string;
  readonly notpulledfor?: string;
  readonly untaggedfor?: string;
}

export type RetentionRequest = Omit<RetentionRule, keyof RuleSource>;

export interface RetentionPlan {
  readonly dryRun: boolean;
  readonly repositories: { repository: string; deleteTags: { tag: string; reasons: string[] }[]; untagged: string[] }[];
  readonly totals: { tags: number; manifests: number };
}

export interface ImmutabilityRule extends RuleSource {
  readonly repositories: string;
  readonly tags: string[];
  readonly except: string[];
}

export type ImmutabilityRequest = Omit<ImmutabilityRule, keyof RuleSource>;

export const listRetentionRules = async (): Promise<RetentionRule[]> =>
  (await getJson<{ rules: RetentionRule[] }>(`${API}/retention/rules`)).rules;
export const createRetentionRule = (rule: RetentionRequest) => sendJson<RetentionRule>('POST', `${API}/retention/rules`, rule);
export const deleteRetentionRule = (id: string) => sendJson('DELETE', `${API}/retention/rules/${seg(id)}`);
export const runRetention = async (dryRun: boolean): Promise<RetentionPlan> =>
  (await sendJson<RetentionPlan>('POST', `${API}/retention/runs`, { dryRun })) as RetentionPlan;
export const listImmutabilityRules = async (): Promise<ImmutabilityRule[]> =>
  (await getJson<{ rules: ImmutabilityRule[] }>(`${API}/immutability/rules`)).rules;
export const createImmutabilityRule = (rule: ImmutabilityRequest) => sendJson<ImmutabilityRule>('POST', `${API}/immutability/rules`, rule);
export const deleteImmutabilityRule = (id: string) => sendJson('DELETE', `${API}/immutability/rules/${seg(id)}`);

// ---- read-only mode

export interface ReadOnlyStatus {
  readonly enabled: boolean;
  readonly config: boolean;
  readonly runtime: boolean;
}

export const getReadOnly = () => getJson<ReadOnlyStatus>(`${API}/maintenance/readonly`);
export const setReadOnly = async (enabled: boolean): Promise<ReadOnlyStatus> =>
  (await sendJson<ReadOnlyStatus>('PUT', `${API}/maintenance/readonly`, { enabled })) as ReadOnlyStatus;

// ---- events, deliveries and the audit log

export interface EventRecord {
  readonly id: string;
  readonly createdAt: string;
  readonly action: string;
  readonly repository?: string;
  readonly digest?: string;
  readonly tag?: string;
  readonly actor?: string;
  /** A pull event's batch (docs/events.md#pull-batches): its deliveries and redelivery are the batch's. */
  readonly batch?: { readonly id: string; readonly size: number };
}

export interface Delivery {
  readonly endpoint: string;
  readonly eventId: string;
  readonly state: 'pending' | 'delivered';
  readonly attempts: number;
  readonly nextAttemptAt?: string;
  readonly responseCode?: number;
  readonly lastError?: string;
  readonly deliveredAt?: string;
  readonly updatedAt: string;
}

export interface EventFilter {
  readonly action?: string;
  readonly repository?: string;
  readonly actor?: string;
  readonly before?: string;
}

export const listEvents = (filter: EventFilter) =>
  getJson<{ events: EventRecord[]; next?: string }>(`${API}/events${queryString({ ...filter, limit: 25 })}`);
export const getEvent = (id: string) => getJson<EventRecord & { deliveries: Delivery[] }>(`${API}/events/${seg(id)}`);
export const redeliver = async (id: string, endpoint?: string): Promise<number> =>
  (
    (await sendJson<{ redelivered: number }>('POST', `${API}/events/${seg(id)}/redeliver`, endpoint === undefined ? {} : { endpoint })) ?? {
      redelivered: 0,
    }
  ).redelivered;

export interface AuditEntry {
  readonly id: string;
  readonly at: string;
  readonly actor?: string;
  readonly address?: string;
  readonly action: string;
  readonly repository?: string;
  readonly outcome: 'success' | 'denied' | 'failed';
  readonly status?: number;
  readonly requestId?: string;
  readonly detail?: Record<string, unknown>;
}

export interface AuditFilter {
  readonly actor?: string;
  readonly repository?: string;
  readonly action?: string;
  readonly outcome?: string;
  readonly since?: string;
  readonly until?: string;
  readonly before?: string;
}

export const listAudit = (filter: AuditFilter) =>
  getJson<{ entries: AuditEntry[]; next?: string }>(`${API}/audit${queryString({ ...filter, limit: 50 })}`);

// ---- webhook endpoints

export type WebhookFormat = 'distribution-v2' | 'distribution-v1' | 'cloudevents';

export interface WebhookEndpoint {
  readonly id: string;
  readonly name: string;
  /** null: every repository. */
  readonly namespace: string | null;
  readonly url: string;
  readonly format: WebhookFormat;
  /** null: every action. */
  readonly actions: string[] | null;
  readonly allowPrivateAddresses: boolean;
  readonly source: 'config' | 'api';
  readonly readOnly: boolean;
  readonly pending: number;
}

export interface NewWebhookEndpoint extends WebhookEndpoint {
  /** The signing secret, in the creation's answer only. */
  readonly secret: string;
}

export interface WebhookRequest {
  readonly name: string;
  readonly url: string;
  readonly namespace?: string;
  readonly format?: WebhookFormat;
  readonly actions?: string[];
  readonly allowPrivateAddresses?: boolean;
}

export interface WebhookTestResult {
  readonly eventId: string;
  readonly delivered: boolean;
  readonly responseCode: number | null;
  readonly error: string | null;
  readonly durationMs: number;
}

export interface EndpointDelivery extends Delivery {
  readonly eventCreatedAt: string;
  readonly action: string;
  readonly repository?: string;
  readonly tag?: string;
  readonly digest?: string;
}

export const listWebhooks = async (): Promise<WebhookEndpoint[]> =>
  (await getJson<{ endpoints: WebhookEndpoint[] }>(`${API}/webhooks`)).endpoints;
export const createWebhook = async (input: WebhookRequest): Promise<NewWebhookEndpoint> =>
  (await sendJson<NewWebhookEndpoint>('POST', `${API}/webhooks`, input)) as NewWebhookEndpoint;
export const deleteWebhook = (id: string) => sendJson('DELETE', `${API}/webhooks/${seg(id)}`);
export const testWebhook = async (id: string): Promise<WebhookTestResult> =>
  (await sendJson<WebhookTestResult>('POST', `${API}/webhooks/${seg(id)}/test`)) as WebhookTestResult;
export const listEndpointDeliveries = (id: string, before?: string) =>
  getJson<{ deliveries: EndpointDelivery[]; next?: string }>(`${API}/webhooks/${seg(id)}/deliveries${queryString({ limit: 25, before })}`);
