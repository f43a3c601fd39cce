// HTTPS for the registry (http.tls): creates the listening servers Fastify uses (HTTP/2 with an
// HTTP/1.1 fallback chosen by ALPN, or HTTPS/1.1 only when http.http2.disabled) from the loaded
// files (tls-material.ts), hands them a renewed certificate (tls-reload.ts), and has their
// connections tracked so that a shutdown can drain them (tls-drain.ts).
import type { Server as HttpServer } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { TlsOptions, TLSSocket } from 'node:tls';
import type { FastifyServerFactory, FastifyServerFactoryHandler } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { SOCKET_HIGH_WATER_MARK } from '../http/app.js';
import { HTTP2_MAX_HEADER_PAIRS } from '../http/server-guards.js';
import { ConnectionDrain } from './tls-drain.js';
import { contextOptions, describeCertificate, type TlsConfig } from './tls-material.js';
import { CertificateReloader } from './tls-reload.js';

export { readTlsMaterial, type TlsMaterial } from './tls-material.js';
export { CERTIFICATE_POLL_MS } from './tls-reload.js';

type AnyServer = Http2SecureServer | HttpsServer;

/**
 * The HTTPS servers of one app (one per listening address: "localhost" binds 127.0.0.1 and
 * ::1), with the connection bookkeeping a graceful shutdown needs and the certificate reloader.
 */
export class TlsServers {
  /** True when HTTP/2 is offered through ALPN (http.http2.disabled is false). */
  readonly http2: boolean;
  private readonly servers: AnyServer[] = [];
  private readonly drain = new ConnectionDrain();
  private readonly reloader: CertificateReloader;

  constructor(
    private readonly tls: TlsConfig,
    private readonly options: {
      http2: boolean;
      idleTimeoutMs: number;
      logger: Logger;
      /** auth.clientcertificates: a certificate is asked for but not required (the registry judges it). */
      optionalClientCertificates: boolean;
    },
    loaded: Awaited<ReturnType<typeof CertificateReloader.load>>,
  ) {
    this.http2 = options.http2;
    this.reloader = new CertificateReloader(
      tls,
      loaded.material,
      loaded.stamps,
      (context) => {
        for (const server of this.servers) server.setSecureContext(context);
      },
      options.logger,
    );
  }

  /** Fastify's serverFactory: called once per listening address. */
  readonly serverFactory: FastifyServerFactory = (handler) => this.createServer(handler);

  private createServer(handler: FastifyServerFactoryHandler): HttpServer {
    const material = this.reloader.current;
    const mutual = material.ca.length > 0;
    const base: TlsOptions = {
      ...contextOptions(material, this.tls),
      // With client CAs, a certificate is required, as in Distribution (tls.RequireAndVerifyClientCert),
      // unless certificates are sign-ins (auth.clientcertificates): then clients without one, or
      // with one that does not verify, connect as anonymous and may sign in with a password.
      requestCert: mutual,
      rejectUnauthorized: mutual && !this.options.optionalClientCertificates,
    };
    // As Fastify sets for the plain HTTP server it makes itself (this factory replaces that).
    const keepAliveMs = Math.min(72_000, this.options.idleTimeoutMs || 72_000);
    let server: AnyServer;
    if (this.http2) {
      // Enough header entries that a request only too large gets its 431 (server-guards.ts), not a stream reset.
      const h2 = createSecureServer({ ...base, allowHTTP1: true, maxHeaderListPairs: HTTP2_MAX_HEADER_PAIRS });
      // The app and its handlers are typed for HTTP/1 (IncomingMessage, ServerResponse); Node's
      // HTTP/2 compatibility API gives them objects with the same surface, and what Berth uses of
      // it is exercised over both protocols by test/http/tls.test.ts. This is where the types meet.
      h2.on('request', handler as unknown as (request: Http2ServerRequest, response: Http2ServerResponse) => void);
      h2.on('session', (session) => this.drain.trackSession(session, keepAliveMs));
      h2.on('request', (request, response) => this.drain.trackRequest(request.httpVersionMajor, request.socket, response));
      server = h2;
    } else {
      // Named explicitly, so a client offering h2 learns at once that this server speaks HTTP/1.1.
      const https = createHttpsServer({ ...base, ALPNProtocols: ['http/1.1'], highWaterMark: SOCKET_HIGH_WATER_MARK }, handler);
      https.on('request', (request, response) => this.drain.trackRequest(request.httpVersionMajor, request.socket, response));
      server = https;
    }
    // Inactivity, not duration: Node's 5-minute request timeout would cut off a large upload
    // over HTTP/1.1. (Assigned: the HTTP/2 server's typings lack its HTTP/1.1 fallback's fields.)
    Object.assign(server, { requestTimeout: 0, keepAliveTimeout: keepAliveMs });
    server.setTimeout(this.options.idleTimeoutMs);
    server.on('secureConnection', (socket: TLSSocket) => this.drain.trackSocket(socket));
    server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
      // Untrusted or missing client certificates, clients that do not trust ours, port scans.
      this.options.logger.debug({ err: error.message, remote: socket.remoteAddress }, 'TLS handshake failed');
    });
    this.servers.push(server);
    return server as unknown as HttpServer;
  }

  /**
   * Starts a graceful shutdown: HTTP/2 sessions get GOAWAY (their open streams finish, no new
   * ones start) and idle HTTP/1.1 connections are closed; busy ones close after their response.
   * Certificates are no longer reloaded.
   */
  beginDrain(): void {
    this.drain.beginDrain();
  }

  /** Ends the drain: every connection is closed now, requests in flight or not. */
  closeAll(): void {
    this.drain.closeAll();
  }

  /**
   * Loads the certificate, key and client CAs again if any changed since the last load; true
   * when a new certificate took effect. Run every CERTIFICATE_POLL_MS on the server's job
   * scheduler (background-jobs.ts).
   */
  async reloadIfChanged(): Promise<boolean> {
    if (this.drain.draining) return false;
    return this.reloader.reloadIfChanged();
  }

  /** Log fields describing the certificate in use. */
  describe(): Record<string, string | boolean | undefined> {
    const material = this.reloader.current;
    return {
      ...describeCertificate(material.leaf),
      http2: this.http2,
      clientCertificates: material.ca.length > 0,
      minimumTls: this.tls.minimumtls,
    };
  }
}

/** The HTTPS servers for config.http.tls, or undefined when the registry serves plain HTTP. */
export async function openTls(config: Config, logger: Logger): Promise<TlsServers | undefined> {
  const tls = config.http.tls;
  if (!tls) return undefined;
  const loaded = await CertificateReloader.load(tls);
  if (Date.parse(loaded.material.leaf.validTo) < Date.now()) {
    logger.warn(describeCertificate(loaded.material.leaf), 'the TLS certificate has expired; clients will refuse it');
  }
  const optionalClientCertificates = config.auth.clientCertificates !== undefined;
  return new TlsServers(
    tls,
    { http2: !config.http.http2.disabled, idleTimeoutMs: config.limits.idleTimeoutMs, logger, optionalClientCertificates },
    loaded,
  );
}
