// The composition root: the one place that names concrete implementations. buildApp(config)
// opens storage and metadata, assembles the registry and the HTTP app, and returns them with a
// close() that releases everything. Tests call it and use inject() or listen on port 0.
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { Config } from '../config/index.js';
import { createHttpApp } from '../http/app.js';
import { MetadataStore, openSqlite } from '../metadata/index.js';
import { Registry } from '../registry/index.js';
import { FilesystemDriver } from '../storage/filesystem/filesystem-driver.js';

export interface BerthApp {
  readonly http: FastifyInstance;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Closes the HTTP server (letting in-flight requests finish) and the database. */
  close(): Promise<void>;
}

export function createLogger(config: Config): Logger {
  return pino({ level: config.log.level, base: { service: 'berth' } });
}

export async function buildApp(config: Config, logger: Logger = createLogger(config)): Promise<BerthApp> {
  const storage = new FilesystemDriver({ rootDirectory: config.storage.filesystem.rootdirectory });
  const metadata = new MetadataStore(openSqlite(config.metadata.sqlite.path));
  await metadata.migrate();
  const registry = new Registry(storage, metadata, { deleteEnabled: config.storage.delete.enabled });
  const http = createHttpApp(registry, {
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
  });
  return {
    http,
    registry,
    logger,
    async close() {
      await http.close();
      await metadata.close();
    },
  };
}
