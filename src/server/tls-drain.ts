// Draining the HTTPS servers' connections at shutdown. Node's server.close() stops accepting but
// leaves HTTP/2 sessions and HTTP/1.1 keep-alive connections open (and an HTTP/2 server has no
// closeAllConnections()), so the connections are tracked here: on a drain, HTTP/2 sessions get
// GOAWAY and end with their last stream, idle HTTP/1.1 connections close at once and busy ones
// after their last response; closeAll() ends whatever is left when the drain times out.
import type { ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

export class ConnectionDrain {
  private readonly sockets = new Set<TLSSocket>();
  /** Open HTTP/2 sessions and the streams open on each. */
  private readonly sessions = new Map<ServerHttp2Session, number>();
  /** Each HTTP/2 session's socket, as "remote address:port" (see endSession()). */
  private readonly sessionSockets = new WeakMap<ServerHttp2Session, string>();
  /** HTTP/1.1 requests in flight per connection: only idle connections are closed at once. */
  private readonly busy = new Map<Socket, number>();
  private drainingNow = false;

  /** True once beginDrain() was called. */
  get draining(): boolean {
    return this.drainingNow;
  }

  /** Tracks a connection from its TLS handshake until it closes. */
  trackSocket(socket: TLSSocket): void {
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.busy.delete(socket);
    });
  }

  trackSession(session: ServerHttp2Session, keepAliveMs: number): void {
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
        if (left === 0 && this.drainingNow) this.endSession(session);
      });
    });
    // An idle session is closed like an idle HTTP/1.1 keep-alive connection.
    session.setTimeout(keepAliveMs, () => session.close());
    if (this.drainingNow) session.close();
  }

  /** Counts HTTP/1.1 requests per connection (HTTP/2 streams end with their session). */
  trackRequest(versionMajor: number, socket: Socket, response: NodeJS.EventEmitter): void {
    if (versionMajor >= 2) return;
    this.busy.set(socket, (this.busy.get(socket) ?? 0) + 1);
    const done = (): void => {
      const left = (this.busy.get(socket) ?? 1) - 1;
      this.busy.set(socket, left);
      // During a drain an HTTP/1.1 connection is closed once its last response has gone out.
      if (left === 0 && this.drainingNow) socket.end();
    };
    // The response closes once, whether it finished or the client went away.
    response.once('close', done);
  }

  /**
   * Starts a graceful shutdown: HTTP/2 sessions get GOAWAY (their open streams finish, no new
   * ones start) and idle HTTP/1.1 connections are closed; busy ones close after their response.
   */
  beginDrain(): void {
    this.drainingNow = true;
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
}
