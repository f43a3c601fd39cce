// Runs the registry as a server process: listen (plain HTTP, or HTTPS with HTTP/2 when http.tls
// is set), start the background jobs (purging abandoned uploads, reloading a renewed TLS
// certificate: background-jobs.ts), and graceful shutdown on SIGTERM/SIGINT (stop accepting,
// let in-flight requests and job runs finish up to http.draintimeout, close the database).
import type { Config } from '../config/index.js';
import { buildApp, createLogger } from './build-app.js';

export interface RunningServer {
  /** The URL the server answers on, e.g. http://127.0.0.1:5000 (https:// with http.tls). */
  readonly url: string;
  stop(): Promise<void>;
}

export async function serve(config: Config, { handleSignals = true } = {}): Promise<RunningServer> {
  const logger = createLogger(config);
  for (const warning of config.warnings) logger.warn(warning);
  const app = await buildApp(config, logger);
  await app.http.listen({
    host: config.http.addr.host,
    port: config.http.addr.port,
    // Fastify names the scheme from its own https option, which a server factory bypasses.
    listenTextResolver: (address) => `Server listening at ${app.tls ? address.replace(/^http:/, 'https:') : address}`,
  });

  const address = app.http.server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.addr.port;
  const host = ['0.0.0.0', '::', ''].includes(config.http.addr.host) ? 'localhost' : config.http.addr.host;
  const scheme = app.tls ? 'https' : 'http';
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  // The metrics on http.debug.addr, when asked for; close() stops that server too.
  let debugUrl: string | undefined;
  try {
    debugUrl = await app.debug?.listen();
  } catch (error) {
    await app.close();
    throw error;
  }
  // Background work (upload purge, certificate reloads) on the app's scheduler; close() stops it.
  app.jobs.start();
  // Webhook delivery from the outbox, on every replica (claims keep them from sending one event twice).
  app.events.start();
  logger.info(
    {
      url,
      ...(app.tls ? { tls: app.tls.describe() } : {}),
      storage: config.storage.s3 ? `s3://${config.storage.s3.bucket}` : config.storage.filesystem.rootdirectory,
      metadata: config.metadata.postgres ? 'postgres' : config.metadata.sqlite.path,
      ...(debugUrl === undefined ? {} : { debugMetrics: debugUrl }),
    },
    'listening',
  );

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ draintimeoutMs: config.http.draintimeoutMs }, 'shutting down');
      const drained = app.close().then(() => 'drained' as const);
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), config.http.draintimeoutMs).unref());
      if ((await Promise.race([drained, timeout])) === 'timeout') {
        logger.warn('drain timeout reached; closing remaining connections');
        // An HTTP/2 server has no closeAllConnections(); TlsServers tracks its connections itself.
        if (app.tls) app.tls.closeAll();
        else app.http.server.closeAllConnections();
        await drained;
      }
      logger.info('stopped');
    })();
    return stopping;
  };

  if (handleSignals) {
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'signal received');
      stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  return { url, stop };
}
