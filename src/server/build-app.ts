// The composition root: the one place that names concrete implementations. buildApp(config)
// opens storage and metadata, assembles the registry and the HTTP app, and returns them with a
// close() that releases everything. Tests call it and use inject() or listen on port 0.
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { ConfigError, type Config } from '../config/index.js';
import { createHttpApp } from '../http/app.js';
import { createJobScheduler } from './background-jobs.js';
import { BerthMetrics } from './metrics.js';
import { openEvents, type EventsRuntime } from './events-setup.js';
import { BERTH_ACTIONS, DISTRIBUTION_ACTIONS, withEvents } from '../events/index.js';
import { registerEventRoutes } from '../http/admin/event-routes.js';
import { registerWebhookRoutes } from '../http/admin/webhook-routes.js';
import { createDebugServer, type DebugServer } from './debug-server.js';
import type { AccessLogOptions } from '../http/access-log.js';
import { countUploadSessions } from '../metadata/upload-count.js';
import { GcRunTotalsReader } from '../metadata/gc-run-totals.js';
import { InstrumentedDriver } from '../storage/instrumented-driver.js';
import { openRateLimits } from './rate-limits.js';
import { RegistryClient } from '../client/index.js';
import { PullThroughCache } from '../proxy/index.js';
import { MetadataStore, openSqlite } from '../metadata/index.js';
import type { JobScheduler } from '../jobs/index.js';
import { PullThroughLedgerService, Registry } from '../registry/index.js';
import { ImmutabilityRules } from '../registry/immutability.js';
import { withTagImmutability } from '../registry/immutable-manifests.js';
import { registerImmutabilityRoutes } from '../http/admin/immutability-routes.js';
import { ReadOnlyMode } from '../registry/read-only-mode.js';
import { registerMaintenanceRoutes } from '../http/admin/maintenance-routes.js';
import { registerGcRoutes } from '../http/admin/gc-routes.js';
import { registerRetentionRoutes } from '../http/admin/retention-routes.js';
import { createRetention } from './retention-setup.js';
import { cacheEvictionPolicies } from './cache-eviction-setup.js';
import { QuotaService, withQuotas } from '../registry/quotas.js';
import { registerQuotaRoutes } from '../http/admin/quota-routes.js';
import { registerUpstreamRoutes } from '../http/admin/upstream-routes.js';
import { upstreamCacheUsage } from '../metadata/upstream-cache-usage.js';
import type { StorageDriver } from '../storage/driver.js';
import { MemoryBudget } from '../storage/memory-budget.js';
import { FilesystemDriver, removeStaleTempFiles } from '../storage/filesystem/filesystem-driver.js';
import { checkOpenAccess, checkStartup, databaseLabel } from './startup-checks.js';
import { openTls, type TlsServers } from './tls.js';
import type { UiAssets } from '../http/ui/ui-routes.js';
import type { UiApiOptions } from '../http/ui/ui-api.js';
import { RepositorySummaries } from '../metadata/repository-summaries.js';
import { loadUiAssets } from './ui-assets.js';

export interface BerthApp {
  readonly http: FastifyInstance;
  readonly registry: Registry;
  readonly logger: Logger;
  /** The HTTPS servers when http.tls is set (certificate reloads, connection draining). */
  readonly tls: TlsServers | undefined;
  /** The background jobs (upload purge, certificate reloads): serve() starts them, close() stops them. */
  readonly jobs: JobScheduler;
  /** The tag immutability rules (the file's and the database's), which retention asks too. */
  readonly immutability: ImmutabilityRules;
  /** Read-only mode (the file's setting and the runtime switch), polled until close(). */
  readonly readOnly: ReadOnlyMode;
  /** The metrics of this process; parts assembled later register theirs here (gaugeFrom, counterFrom). */
  readonly metrics: BerthMetrics;
  /** The server on http.debug.addr when metrics are served there: serve() starts it, close() stops it. */
  readonly debug: DebugServer | undefined;
  /** Webhook endpoints, the outbox's deliverer (serve() starts it) and the audit log. */
  readonly events: EventsRuntime;
  /** Closes the HTTP server (letting in-flight requests finish), stops the jobs (letting runs finish) and closes the database. */
  close(): Promise<void>;
}

export function createLogger(config: Config): Logger {
  return pino({ level: config.log.level, base: { service: 'berth' } });
}

/**
 * The blob store: S3 when storage.s3 is configured, else the filesystem. The AWS SDK and pg
 * are imported only when configured: they cost tens of MiB of memory a single node never uses.
 */
export async function openStorage(config: Config, memory?: MemoryBudget): Promise<StorageDriver> {
  const s3 = config.storage.s3;
  if (!s3) return new FilesystemDriver({ rootDirectory: config.storage.filesystem.rootdirectory, memory });
  const { S3Driver } = await import('../storage/s3/s3-driver.js');
  return new S3Driver({
    bucket: s3.bucket,
    region: s3.region,
    ...(s3.regionendpoint !== undefined ? { endpoint: s3.regionendpoint } : {}),
    forcePathStyle: s3.forcepathstyle,
    ...(s3.accesskey !== undefined ? { accessKeyId: s3.accesskey } : {}),
    ...(s3.secretkey !== undefined ? { secretAccessKey: s3.secretkey } : {}),
    ...(s3.rootdirectory !== undefined ? { rootDirectory: s3.rootdirectory } : {}),
    chunkSize: s3.chunksize,
    encrypt: s3.encrypt,
    redirect: !config.storage.redirect.disable,
    memory,
  });
}

/** The pull-through cache decorating the registry, over the configured upstreams; undefined when there are none. */
function openPullThroughCache(config: Config, registry: Registry, logger: Logger): PullThroughCache | undefined {
  if (config.proxy.upstreams.length === 0) return undefined;
  const upstreams = config.proxy.upstreams.map((upstream) => ({
    config: {
      name: upstream.name,
      url: upstream.url,
      namespace: upstream.namespace,
      hosts: upstream.hosts,
      tagTtlMs: upstream.tagTtlMs,
      offline: upstream.offline,
    },
    client: new RegistryClient({
      name: upstream.name,
      url: upstream.url,
      username: upstream.username,
      password: upstream.password,
      allowPrivateAddresses: upstream.allowPrivateAddresses,
    }),
  }));
  logger.info({ upstreams: config.proxy.upstreams.map(({ name, url, namespace }) => ({ name, url, namespace })) }, 'pull-through cache');
  return new PullThroughCache(registry, new PullThroughLedgerService(registry.storage, registry.metadata), upstreams, logger);
}

/** The SQLite database, with open errors (SQLite's own say no path) naming the file. */
function openSqliteAt(file: string, log: Parameters<typeof openSqlite>[1]): ReturnType<typeof openSqlite> {
  try {
    return openSqlite(file, log);
  } catch (error) {
    throw new ConfigError([
      {
        kind: 'invalid-value',
        key: 'metadata.sqlite.path',
        message: `cannot open the SQLite database ${file}: ${error instanceof Error ? error.message : String(error)}`,
        source: undefined,
        suggestion: undefined,
      },
    ]);
  }
}

/** The access log as log.accesslog asks: JSON lines through the logger, or combined lines on standard output. */
function accessLogOptions(config: Config): AccessLogOptions | undefined {
  if (config.log.accesslog.disabled) return undefined;
  if (config.log.accesslog.format === 'json') return { format: 'json' };
  return { format: 'combined', write: (line) => process.stdout.write(line) };
}

/** http.metrics.access other than open needs someone to sign in. */
function checkMetricsAccess(config: Config): void {
  const access = config.http.metrics.access;
  if (config.auth.mode !== 'none' || (access !== 'signed-in' && access !== 'admin')) return;
  throw new ConfigError([
    {
      kind: 'invalid-value',
      key: 'http.metrics.access',
      message: `http.metrics.access: ${access} needs authentication (auth.htpasswd, auth.token or auth.tokenserver); use "disabled" and http.debug to keep metrics private without it`,
      source: undefined,
      suggestion: undefined,
    },
  ]);
}

/** The debug server when http.debug.addr and http.debug.prometheus.enabled are set. */
function openDebugServer(config: Config, metrics: BerthMetrics, logger: Logger): DebugServer | undefined {
  const debug = config.http.debug;
  if (debug === undefined) return undefined;
  if (debug.prometheus === undefined) {
    logger.warn('http.debug.addr is set but http.debug.prometheus.enabled is not: Berth serves only metrics there, so nothing is served');
    return undefined;
  }
  return createDebugServer({
    host: debug.addr.host,
    port: debug.addr.port,
    metricsPath: debug.prometheus.path,
    metrics: metrics.registry,
    logger,
  });
}

/** Read-only mode as the file and the settings row say now, polled from here on (stop() in close()). */
async function openReadOnlyMode(config: Config, metadata: MetadataStore, logger: Logger): Promise<ReadOnlyMode> {
  const fromFile = config.storage.maintenance.readonly.enabled;
  const readOnly = new ReadOnlyMode(metadata.accounts, fromFile, {
    onChange: (status) => {
      if (status.enabled) logger.warn({ readOnly: status }, 'read-only mode on: writes to /v2/ are refused');
      else logger.info({ readOnly: status }, 'read-only mode off');
    },
    onError: (error) => logger.warn({ err: error }, 'could not read the read-only switch; keeping the last value'),
  });
  if (fromFile) logger.warn('read-only mode on (storage.maintenance.readonly.enabled): writes to /v2/ are refused');
  await readOnly.refresh();
  readOnly.start();
  return readOnly;
}

/** The web UI when ui.enabled: its API, and its built files (missing, with a warning, when dist/web was not built). */
async function openUi(
  config: Config,
  logger: Logger,
  api: Omit<UiApiOptions, 'auth' | 'externalUrl' | 'deleteEnabled'>,
): Promise<{ path: string; assets: UiAssets | undefined; api: Omit<UiApiOptions, 'auth' | 'externalUrl'> } | undefined> {
  if (!config.ui.enabled) return undefined;
  const assets = await loadUiAssets();
  if (assets === undefined) {
    logger.warn('the web UI is not built (no dist/web/index.html): run npm run build, or set ui.enabled: false');
  }
  return { path: config.ui.path, assets, api: { ...api, deleteEnabled: config.storage.delete.enabled } };
}

export async function buildApp(config: Config, logger: Logger = createLogger(config)): Promise<BerthApp> {
  // First, what `berth config check` checks too: files, certificates, writable directories.
  // A problem stops start-up before anything is opened.
  checkMetricsAccess(config);
  for (const warning of await checkStartup(config, { create: true })) logger.warn(warning);
  const tls = await openTls(config, logger);
  // One budget for the bytes requests hold in memory, shared by the HTTP layer and the storage writers.
  const memory = new MemoryBudget(config.limits.bodyMemoryBytes);
  const metrics = new BerthMetrics();
  metrics.watchMemory(memory);
  // Every blob-store call and database query is timed for the metrics.
  const storage = new InstrumentedDriver(await openStorage(config, memory), metrics.storage);
  const postgres = config.metadata.postgres;
  const { log } = metrics.database(postgres ? 'postgres' : 'sqlite');
  const database = postgres
    ? (await import('../metadata/postgres.js')).openPostgres(postgres.url, {
        max: postgres.maxConnections,
        statementTimeoutMs: postgres.statementTimeoutMs,
        log,
      })
    : openSqliteAt(config.metadata.sqlite.path, { log });
  metrics.watchUploads(() => countUploadSessions(database));
  const gcRuns = new GcRunTotalsReader(database);
  metrics.watchGcRuns(() => gcRuns.read());
  const metadata = new MetadataStore(database);
  try {
    await metadata.migrate();
    // A database set up for authentication is not served with authentication off (unless asked).
    await checkOpenAccess(config, () => metadata.accounts.accessControlCounts(), databaseLabel(config));
  } catch (error) {
    await metadata.close().catch(() => undefined);
    throw error;
  }
  if (!config.storage.s3) {
    // Temp files of writes cut short by a crash; an hour old means nobody is finishing them.
    // In the background: on a large store the walk takes a while and must not delay start-up.
    void removeStaleTempFiles(config.storage.filesystem.rootdirectory).then(
      (removed) => removed > 0 && logger.info({ removed }, 'removed stale temporary files'),
      (error: unknown) => logger.warn({ err: error }, 'could not remove stale temporary files'),
    );
  }
  const purging = config.storage.maintenance.uploadpurging;
  const registry = new Registry(storage, metadata, {
    deleteEnabled: config.storage.delete.enabled,
    uploadPurgeAgeMs: purging.enabled ? purging.ageMs : undefined,
    indexChildren: config.validation.manifests.indexes,
    cacheEviction: cacheEvictionPolicies(config),
    warn: (error, message) => logger.warn({ err: error }, message),
  });
  // Authentication's code (bcrypt, JWTs, LDAP, OpenID Connect) is loaded only when it is on.
  const auth =
    config.auth.mode === 'none' ? undefined : await (await import('./auth-setup.js')).createAuth(config, metadata, logger, metrics.auth);
  const proxy = openPullThroughCache(config, registry, logger);
  if (proxy) metrics.watchProxy(proxy);
  // Replicas share their counts only through PostgreSQL (SQLite has one replica).
  const rateLimits = openRateLimits(config, postgres ? database : undefined, logger);
  const immutability = new ImmutabilityRules(metadata.immutability, config.immutability);
  const readOnly = await openReadOnlyMode(config, metadata, logger);
  // Handlers call the cache when there is one, else the registry: they cannot tell which. Tag
  // immutability decorates whichever it is.
  // Retention policies of the file and the admin API (registry/retention.ts); immutability rules protect tags from it.
  const retention = createRetention(config, metadata, { protection: immutability });
  // Quotas from the file and the admin API; pushes over one are refused by the decorator below.
  const quotas = new QuotaService(metadata, config.quotas);
  const isNamespaceAdmin = async (user: { name: string; teams: readonly string[] }, namespace: string): Promise<boolean> =>
    (await metadata.accounts.rolesIn(namespace, user.name, user.teams)).includes('admin');
  // The list's sizes are the usage report's bytes per repository; the tags are marked by the same
  // immutability rules and retention policies the writers and the retention job follow.
  const ui = await openUi(config, logger, {
    summaries: new RepositorySummaries(database),
    sizes: metadata.usage,
    tagRules: { immutability, retention },
  });
  // Events outermost: each write hands the index a recorder whose events it writes in the
  // write's transaction (src/events); the decorators inside pass it on.
  const events = await openEvents(config, metadata, metrics, logger);
  quotas.onWarning((warning) => events.own.quotaWarning(warning));
  registry.gc.onRunEnded((run) => events.own.gcRun(run));
  const services = withTagImmutability(withQuotas(proxy ?? registry, quotas), immutability, metadata.immutability);
  const http = createHttpApp(withEvents(services, events.recorder, events.own), {
    auditor: events.own.requestAuditor(),
    readOnly,
    ui,
    adminRoutes: [
      (router) => registerImmutabilityRoutes(router, immutability),
      (router) => registerMaintenanceRoutes(router, readOnly),
      (router) =>
        registerGcRoutes(router, registry.gc, {
          graceMs: config.gc.graceMs,
          deleteUntagged: config.gc.deleteUntagged,
          uploadMaxIdleMs: purging.enabled ? purging.ageMs : undefined,
        }),
      (router) => registerQuotaRoutes(router, { quotas, isNamespaceAdmin }),
      (router) => registerRetentionRoutes(router, retention),
      (router) =>
        registerUpstreamRoutes(router, {
          upstreams: config.proxy.upstreams,
          cacheUsage: () => upstreamCacheUsage(database),
          stats: () => proxy?.stats ?? {},
        }),
      (router) =>
        registerWebhookRoutes(router, {
          endpoints: events.endpointAdmin,
          isNamespaceAdmin,
          actions: [...DISTRIBUTION_ACTIONS, ...Object.values(BERTH_ACTIONS)],
        }),
      (router) =>
        registerEventRoutes(router, {
          listEvents: (filter) => metadata.events.listEvents(filter),
          findEvent: (id) => metadata.events.findEvent(id),
          listDeliveries: (options) => metadata.events.listDeliveries(options),
          redeliver: async (id, endpoint) => {
            const count = await metadata.events.redeliver(id, endpoint);
            events.deliverer.nudge();
            return count;
          },
          listAudit: (filter) => metadata.audit.list(filter),
          flushAudit: async () => events.audit?.flush(),
        }),
    ],
    auth,
    upstreamNamespaces: proxy !== undefined,
    metrics: metrics.registry,
    metricsAccess: config.http.metrics.access,
    observer: metrics.requests,
    logger,
    accessLog: accessLogOptions(config),
    externalUrl: config.http.host,
    manifestMaxBytes: config.limits.manifestMaxBytes,
    paginationMaxEntries: config.limits.paginationMaxEntries,
    catalogDefaultEntries: config.limits.catalogDefaultEntries,
    maxTagsPerPush: config.limits.maxTagsPerPush,
    maxConcurrentRequests: config.limits.maxConcurrentRequests,
    idleTimeoutMs: config.limits.idleTimeoutMs,
    headersTimeoutMs: config.limits.headersTimeoutMs,
    bodyLimits: { memory, timeoutMs: config.limits.bodyTimeoutMs, minBytesPerSecond: config.limits.bodyMinRate },
    serverFactory: tls?.serverFactory,
    rateLimits: rateLimits?.http,
  });
  const jobs = createJobScheduler(config, registry, metadata, tls, logger, retention);
  const debug = openDebugServer(config, metrics, logger);
  return {
    http,
    registry,
    logger,
    tls,
    jobs,
    immutability,
    readOnly,
    metrics,
    debug,
    events,
    async close() {
      readOnly.stop();
      // Node's server.close() waits for HTTP/2 sessions without closing them.
      tls?.beginDrain();
      await Promise.all([http.close(), jobs.stop(), debug?.close()]);
      // After the server: requests in flight may still record events and audit entries.
      await events.stop();
      await proxy?.close();
      await auth?.close();
      await rateLimits?.stop();
      // Pull records still queued (a few, bounded) are written before the database closes.
      await registry.pulls.flush();
      await metadata.close();
    },
  };
}
