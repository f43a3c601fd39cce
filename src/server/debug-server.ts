// The debug server on http.debug.addr, as Distribution's: a plain HTTP listener apart from the
// registry API that serves the Prometheus metrics at http.debug.prometheus.path (without
// authentication: it is meant for loopback or a private network) and 404 for everything else.
// Metrics only, so it is a bare node:http server rather than a second Fastify app.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

export interface DebugServer {
  /** Starts listening; resolves with the URL it answers on. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export interface DebugServerOptions {
  readonly host: string;
  readonly port: number;
  /** Where the metrics are served, e.g. "/metrics". */
  readonly metricsPath: string;
  readonly metrics: { readonly contentType: string; metrics(): Promise<string> };
  readonly logger: Logger;
}

export function createDebugServer(options: DebugServerOptions): DebugServer {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?', 1)[0];
    if (path !== options.metricsPath) {
      response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    options.metrics.metrics().then(
      (text) => {
        response.writeHead(200, { 'Content-Type': options.metrics.contentType, 'Cache-Control': 'no-store' });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        options.logger.error({ err: error }, 'metrics failed');
        response.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('metrics failed\n');
      },
    );
  });
  // Slow or idle scrapers never hold a connection for long.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  return {
    listen: () =>
      new Promise<string>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve(`http://${host}:${address.port}${options.metricsPath}`);
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) {
          resolve();
          return;
        }
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
