// A webhook receiver for event tests: an HTTP server on a loopback port that keeps every request
// it gets (headers and body) and answers with the status the test sets. close() frees the port
// (the receiver is "down": connections are refused) and listen() takes the same port again.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RegistryEvent } from '../../src/events/index.js';

export interface ReceivedRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The status the receiver answered with. */
  readonly status: number;
}

/** One event inside Distribution's envelope, as Berth writes it. */
export type ReceivedEvent = RegistryEvent;

export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** The status the next requests get. */
  status = 200;
  private server: Server | undefined;
  private portNumber = 0;
  private waiters: (() => void)[] = [];

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    await receiver.listen();
    return receiver;
  }

  get port(): number {
    return this.portNumber;
  }

  get url(): string {
    return `http://127.0.0.1:${this.portNumber}/events`;
  }

  /** Listens again, on the same port as before (a random one the first time). */
  async listen(): Promise<void> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const status = this.status;
        this.requests.push({ path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks), status });
        response.writeHead(status, { 'content-length': 0 }).end();
        for (const wake of this.waiters.splice(0)) wake();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.portNumber, '127.0.0.1', () => resolve());
    });
    this.portNumber = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening and drops open connections: the endpoint is down. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The events of the requests answered 2xx, in the order they came. */
  delivered(): ReceivedEvent[] {
    return this.requests
      .filter((r) => r.status < 300)
      .flatMap((r) => (JSON.parse(r.body.toString()) as { events: ReceivedEvent[] }).events);
  }

  /** Waits until `done()` holds, re-checked after each request; fails after the deadline. */
  async waitFor(done: () => boolean, what: string, deadlineMs = 30_000): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; received ${this.requests.length} requests`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 500));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
