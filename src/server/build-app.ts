// The composition root: the one place that names concrete implementations. buildApp(config)
// opens storage and metadata, assembles the registry and the HTTP app, and returns them with a
// close() that releases everything. Tests call it and use inject() or listen on port 0.
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { ConfigError, type Config } from '../config/index.js';
import { createHttpApp } from '../http/app.js';
import { createAuth } from './auth-setup.js';
import { createJobScheduler } from './background-jobs.js';
import { createMetrics } from './metrics.js';
import { RegistryClient } from '../client/index.js';
import { PullThroughCache } from '../proxy/index.js';
import { MetadataStore, openSqlite } from '../metadata/index.js';
import type { JobScheduler } from '../jobs/index.js';
import { PullThroughLedgerService, Registry } from '../registry/index.js';
import type { StorageDriver } from '../storage/driver.js';
import { MemoryBudget } from '../storage/memory-budget.js';
import { FilesystemDriver, removeStaleTempFiles } from '../storage/filesystem/filesystem-driver.js';
import { checkOpenAccess, checkStartup, databaseLabel } from './startup-checks.js';
import { openTls, type TlsServers } from './tls.js';

export interface BerthApp {
  readonly http: FastifyInstance;
  readonly registry: Registry;
  readonly logger: Logger;
  /** The HTTPS servers when http.tls is set (certificate reloads, connection draining). */
  readonly tls: TlsServers | undefined;
  /** The background jobs (upload purge, certificate reloads): serve() starts them, close() stops them. */
  readonly jobs: JobScheduler;
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
function openSqliteAt(file: string): ReturnType<typeof openSqlite> {
  try {
    return openSqlite(file);
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

export async function buildApp(config: Config, logger: Logger = createLogger(config)): Promise<BerthApp> {
  // First, what `berth config check` checks too: files, certificates, writable directories.
  // A problem stops start-up before anything is opened.
  for (const warning of await checkStartup(config, { create: true })) logger.warn(warning);
  const tls = await openTls(config, logger);
  // One budget for the bytes requests hold in memory, shared by the HTTP layer and the storage writers.
  const memory = new MemoryBudget(config.limits.bodyMemoryBytes);
  const storage = await openStorage(config, memory);
  const postgres = config.metadata.postgres;
  const metadata = new MetadataStore(
    postgres
      ? (await import('../metadata/postgres.js')).openPostgres(postgres.url, {
          max: postgres.maxConnections,
          statementTimeoutMs: postgres.statementTimeoutMs,
        })
      : openSqliteAt(config.metadata.sqlite.path),
  );
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
  });
  const auth = await createAuth(config, metadata, logger);
  const proxy = openPullThroughCache(config, registry, logger);
  // Handlers call the cache when there is one, else the registry: they cannot tell which.
  const http = createHttpApp(proxy ?? registry, {
    auth,
    upstreamNamespaces: proxy !== undefined,
    metrics: createMetrics(proxy, memory),
    logger,
    accessLog: !config.log.accesslog.disabled,
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
  });
  const jobs = createJobScheduler(config, registry, metadata, tls, logger);
  return {
    http,
    registry,
    logger,
    tls,
    jobs,
    async close() {
      // Node's server.close() waits for HTTP/2 sessions without closing them.
      tls?.beginDrain();
      await Promise.all([http.close(), jobs.stop()]);
      await proxy?.close();
      await metadata.close();
    },
  };
}
