// HTTPS for the registry (http.tls): reads the certificate, key and client CAs (start-up errors
// name the key and the file), creates the listening servers Fastify uses (HTTP/2 with an
// HTTP/1.1 fallback chosen by ALPN, or HTTPS/1.1 only when http.http2.disabled), reloads the
// certificate when its files change on disk, and tracks connections so that a shutdown can drain
// HTTP/2 sessions and HTTP/1.1 keep-alive connections, which Node's server.close() leaves open.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { Server as HttpServer } from 'node:http';
import {
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
} from 'node:http2';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { SecureContextOptions, TlsOptions, TLSSocket } from 'node:tls';
import type { FastifyServerFactory, FastifyServerFactoryHandler } from 'fastify';
import type { Logger } from 'pino';
import { ConfigError, type Config } from '../config/index.js';
import { SOCKET_HIGH_WATER_MARK } from '../http/app.js';

type TlsConfig = NonNullable<Config['http']['tls']>;

/** How often the certificate files are checked for changes. */
export const CERTIFICATE_POLL_MS = 3_000;

/** The files of http.tls, read and checked. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Client CA bundles (http.tls.clientcas); empty: no client certificates asked for. */
  readonly ca: readonly Buffer[];
  /** The server's own (first) certificate, for log lines. */
  readonly leaf: X509Certificate;
}

function tlsError(key: string, message: string): ConfigError {
  return new ConfigError([{ kind: 'invalid-value', key, message, source: undefined, suggestion: undefined }]);
}

async function readPem(key: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw tlsError(key, code === 'ENOENT' ? `${file} does not exist` : `cannot read ${file} (${code ?? String(error)})`);
  }
}

/** Reads http.tls's files and checks that they parse and that the key belongs to the certificate. */
export async function readTlsMaterial(tls: TlsConfig): Promise<TlsMaterial> {
  const [cert, key, ca] = await Promise.all([
    readPem('http.tls.certificate', tls.certificate),
    readPem('http.tls.key', tls.key),
    Promise.all(tls.clientcas.map((file) => readPem('http.tls.clientcas', file))),
  ]);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    throw tlsError('http.tls.certificate', `${tls.certificate} holds no PEM certificate`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw tlsError('http.tls.key', `${tls.key} holds no PEM private key (keys protected by a passphrase are not supported)`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw tlsError(
      'http.tls.key',
      `${tls.key} is not the private key of the certificate in ${tls.certificate} (http.tls.certificate)`,
    );
  }
  ca.forEach((bundle, index) => {
    if (!holdsCertificate(bundle)) {
      throw tlsError('http.tls.clientcas', `${tls.clientcas[index] ?? ''} holds no PEM certificate`);
    }
  });
  return { cert, key, ca, leaf };
}

function holdsCertificate(pem: Buffer): boolean {
  try {
    return new X509Certificate(pem).subject.length > 0;
  } catch {
    return false;
  }
}

/** What a secure context is built from: also what a certificate reload replaces. */
function contextOptions(material: TlsMaterial, tls: TlsConfig): SecureContextOptions {
  return {
    cert: material.cert,
    key: material.key,
    minVersion: tls.minimumtls,
    ...(material.ca.length > 0 ? { ca: [...material.ca] } : {}),
  };
}

function describeCertificate(leaf: X509Certificate): Record<string, string | undefined> {
  return { subject: leaf.subject.replace(/\n/g, ', '), subjectAltName: leaf.subjectAltName, validTo: leaf.validTo };
}

/** "mtime:size:inode" of every watched file; a file that cannot be stat'ed counts as a change. */
async function fileStamps(files: readonly string[]): Promise<string> {
  const stamps = await Promise.all(
    files.map((file) =>
      stat(file).then(
        (s) => `${s.mtimeMs}:${s.size}:${s.ino}`,
        () => 'missing',
      ),
    ),
  );
  return stamps.join('|');
}

type AnyServer = Http2SecureServer | HttpsServer;

/**
 * The HTTPS servers of one app (one per listening address: "localhost" binds 127.0.0.1 and
 * ::1), with the connection bookkeeping a graceful shutdown needs and the certificate watcher.
 */
export class TlsServers {
  /** True when HTTP/2 is offered through ALPN (http.http2.disabled is false). */
  readonly http2: boolean;
  private material: TlsMaterial;
  private readonly servers: AnyServer[] = [];
  private readonly sockets = new Set<TLSSocket>();
  /** Open HTTP/2 sessions and the streams open on each. */
  private readonly sessions = new Map<ServerHttp2Session, number>();
  /** Each HTTP/2 session's socket, as "remote address:port" (see endSession()). */
  private readonly sessionSockets = new WeakMap<ServerHttp2Session, string>();
  /** HTTP/1.1 requests in flight per connection: only idle connections are closed at once. */
  private readonly busy = new Map<Socket, number>();
  private draining = false;
  private watcher: NodeJS.Timeout | undefined;
  private stamps = '';
  /** Stamps of files that failed to load, so a broken renewal is reported once, not every poll. */
  private failedStamps = '';

  constructor(
    private readonly tls: TlsConfig,
    private readonly options: { http2: boolean; idleTimeoutMs: number; logger: Logger },
    material: TlsMaterial,
  ) {
    this.http2 = options.http2;
    this.material = material;
  }

  private get watchedFiles(): string[] {
    return [this.tls.certificate, this.tls.key, ...this.tls.clientcas];
  }

  /** Fastify's serverFactory: called once per listening address. */
  readonly serverFactory: FastifyServerFactory = (handler) => this.createServer(handler);

  private createServer(handler: FastifyServerFactoryHandler): HttpServer {
    const mutual = this.material.ca.length > 0;
    const base: TlsOptions = {
      ...contextOptions(this.material, this.tls),
      // With client CAs, a certificate is required, as in Distribution (tls.RequireAndVerifyClientCert).
      requestCert: mutual,
      rejectUnauthorized: mutual,
    };
    // As Fastify sets for the plain HTTP server it makes itself (this factory replaces that).
    const keepAliveMs = Math.min(72_000, this.options.idleTimeoutMs || 72_000);
    let server: AnyServer;
    if (this.http2) {
      const h2 = createSecureServer({ ...base, allowHTTP1: true });
      // The app and its handlers are typed for HTTP/1 (IncomingMessage, ServerResponse); Node's
      // HTTP/2 compatibility API gives them objects with the same surface, and what Berth uses of
      // it is exercised over both protocols by test/http/tls.test.ts. This is where the types meet.
      h2.on('request', handler as unknown as (request: Http2ServerRequest, response: Http2ServerResponse) => void);
      h2.on('session', (session) => this.trackSession(session, keepAliveMs));
      h2.on('request', (request, response) => this.trackRequest(request.httpVersionMajor, request.socket, response));
      server = h2;
    } else {
      // Named explicitly, so a client offering h2 learns at once that this server speaks HTTP/1.1.
      const https = createHttpsServer({ ...base, ALPNProtocols: ['http/1.1'], highWaterMark: SOCKET_HIGH_WATER_MARK }, handler);
      https.on('request', (request, response) => this.trackRequest(request.httpVersionMajor, request.socket, response));
      server = https;
    }
    // Inactivity, not duration: Node's 5-minute request timeout would cut off a large upload
    // over HTTP/1.1. (Assigned: the HTTP/2 server's typings lack its HTTP/1.1 fallback's fields.)
    Object.assign(server, { requestTimeout: 0, keepAliveTimeout: keepAliveMs });
    server.setTimeout(this.options.idleTimeoutMs);
    server.on('secureConnection', (socket: TLSSocket) => {
      this.sockets.add(socket);
      socket.once('close', () => {
        this.sockets.delete(socket);
        this.busy.delete(socket);
      });
    });
    server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
      // Untrusted or missing client certificates, clients that do not trust ours, port scans.
      this.options.logger.debug({ err: error.message, remote: socket.remoteAddress }, 'TLS handshake failed');
    });
    this.servers.push(server);
    return server as unknown as HttpServer;
  }

  private trackSession(session: ServerHttp2Session, keepAliveMs: number): void {
    this.sessions.set(session, 0);
    // Which TLS socket carries the session (its proxy socket cannot be destroyed directly).
    this.sessionSockets.set(session, `${session.socket.remoteAddress}:${session.socket.remotePort}`);
    session.once('close', () => this.sessions.delete(session));
    // Streams are counted so that a draining session is ended as soon as its last stream is:
    // GOAWAY alone leaves the closing to the client, which may keep an idle session open.
    session.on('stream', (stream) => {
      this.sessions.set(session, (this.sessions.get(session) ?? 0) + 1);
      stream.once('close', () => {
        const left = (this.sessions.get(session) ?? 1) - 1;
        this.sessions.set(session, left);
        if (left === 0 && this.draining) this.endSession(session);
      });
    });
    // An idle session is closed like an idle HTTP/1.1 keep-alive connection.
    session.setTimeout(keepAliveMs, () => session.close());
    if (this.draining) session.close();
  }

  /** Counts HTTP/1.1 requests per connection (HTTP/2 streams end with their session). */
  private trackRequest(versionMajor: number, socket: Socket, response: NodeJS.EventEmitter): void {
    if (versionMajor >= 2) return;
    this.busy.set(socket, (this.busy.get(socket) ?? 0) + 1);
    const done = (): void => {
      const left = (this.busy.get(socket) ?? 1) - 1;
      this.busy.set(socket, left);
      // During a drain an HTTP/1.1 connection is closed once its last response has gone out.
      if (left === 0 && this.draining) socket.end();
    };
    // The response closes once, whether it finished or the client went away.
    response.once('close', done);
  }

  /**
   * Starts a graceful shutdown: HTTP/2 sessions get GOAWAY (their open streams finish, no new
   * ones start) and idle HTTP/1.1 connections are closed; busy ones close after their response.
   */
  beginDrain(): void {
    this.draining = true;
    this.stopWatching();
    for (const [session, streams] of this.sessions) {
      session.close();
      if (streams === 0) this.endSession(session);
    }
    for (const socket of this.sockets) {
      if (socket.alpnProtocol !== 'h2' && (this.busy.get(socket) ?? 0) === 0) socket.end();
    }
  }

  /**
   * Destroys a draining session that has no streams left, and its socket: a destroyed session
   * only half-closes the socket and emits 'close' once the client closes its side, which a
   * client keeping its connection (it got GOAWAY, but may never act on it) does not do, and
   * Node's server.close() waits for every session to close.
   */
  private endSession(session: ServerHttp2Session): void {
    const key = this.sessionSockets.get(session);
    session.destroy();
    for (const socket of this.sockets) {
      if (`${socket.remoteAddress}:${socket.remotePort}` !== key) continue;
      // After what the session wrote has gone out (destroy() would drop it).
      if (socket.writableFinished) socket.destroy();
      else {
        socket.once('finish', () => socket.destroy());
        if (!socket.writableEnded) socket.end();
      }
    }
  }

  /** Ends the drain: every connection is closed now, requests in flight or not. */
  closeAll(): void {
    for (const session of this.sessions.keys()) session.destroy();
    for (const socket of this.sockets) socket.destroy();
  }

  /** Polls the certificate, key and client CA files and loads them when they change. */
  watchCertificates(intervalMs = CERTIFICATE_POLL_MS): void {
    if (this.watcher || this.draining) return;
    void fileStamps(this.watchedFiles).then((stamps) => {
      this.stamps = stamps;
    });
    let checking = false;
    this.watcher = setInterval(() => {
      if (checking) return;
      checking = true;
      this.reloadIfChanged().finally(() => {
        checking = false;
      });
    }, intervalMs);
    this.watcher.unref();
  }

  stopWatching(): void {
    if (this.watcher) clearInterval(this.watcher);
    this.watcher = undefined;
  }

  /** Loads the files again if any changed since the last load; true when a new certificate took effect. */
  async reloadIfChanged(): Promise<boolean> {
    const stamps = await fileStamps(this.watchedFiles);
    if (stamps === this.stamps || stamps === this.failedStamps) return false;
    let material: TlsMaterial;
    try {
      material = await readTlsMaterial(this.tls);
    } catch (error) {
      // Often a renewal caught between writing the certificate and writing its key: the next
      // change of either file is tried again. The old certificate stays in use meanwhile.
      this.failedStamps = stamps;
      this.options.logger.warn(
        { reason: error instanceof Error ? error.message : String(error) },
        'TLS files changed but cannot be loaded; still serving the previous certificate',
      );
      return false;
    }
    for (const server of this.servers) server.setSecureContext(contextOptions(material, this.tls));
    this.material = material;
    this.stamps = stamps;
    this.failedStamps = '';
    this.options.logger.info(describeCertificate(material.leaf), 'TLS certificate reloaded');
    return true;
  }

  /** Log fields describing the certificate in use. */
  describe(): Record<string, string | boolean | undefined> {
    return {
      ...describeCertificate(this.material.leaf),
      http2: this.http2,
      clientCertificates: this.material.ca.length > 0,
      minimumTls: this.tls.minimumtls,
    };
  }
}

/** The HTTPS servers for config.http.tls, or undefined when the registry serves plain HTTP. */
export async function openTls(config: Config, logger: Logger): Promise<TlsServers | undefined> {
  const tls = config.http.tls;
  if (!tls) return undefined;
  const material = await readTlsMaterial(tls);
  if (Date.parse(material.leaf.validTo) < Date.now()) {
    logger.warn(describeCertificate(material.leaf), 'the TLS certificate has expired; clients will refuse it');
  }
  return new TlsServers(
    tls,
    { http2: !config.http.http2.disabled, idleTimeoutMs: config.limits.idleTimeoutMs, logger },
    material,
  );
}
