// A lean HTTP/1.1 client on node:http with a keep-alive agent, for the workloads that send
// bytes or walk an API (blob pushes, image push, listings, seeding). Request bodies stream with
// backpressure; responses (all small here) are collected. Downloads use raw-http.ts instead.
import http from 'node:http';

export interface Response {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export type RequestHeaders = Readonly<Record<string, string | number>>;

export class HttpClient {
  readonly agent: http.Agent;
  readonly host: string;
  readonly port: number;

  /** `defaultHeaders` go with every request (e.g. Authorization); a request's own headers win. */
  constructor(
    readonly baseUrl: string,
    maxSockets = 64,
    private readonly defaultHeaders: RequestHeaders = {},
  ) {
    const url = new URL(baseUrl);
    this.host = url.hostname;
    this.port = Number(url.port);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  close(): void {
    this.agent.destroy();
  }

  /** A path with query for a Location header, which may be absolute or relative. */
  resolve(location: string): string {
    const url = new URL(location, this.baseUrl);
    return url.pathname + url.search;
  }

  /** Sends a request with an optional buffered body and collects the response body. */
  request(method: string, path: string, headers: RequestHeaders = {}, body?: Buffer): Promise<Response> {
    return new Promise((resolve, reject) => {
      const req = this.open(method, path, body === undefined ? headers : { ...headers, 'content-length': body.length });
      req.once('error', reject);
      req.once('response', (res) => {
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.once('error', reject);
        res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      });
      req.end(body);
    });
  }

  /** Streams a body of known length from an iterable of chunks, honouring backpressure. */
  upload(method: string, path: string, headers: RequestHeaders, chunks: Iterable<Buffer>, length: number): Promise<Response> {
    return new Promise((resolve, reject) => {
      const req = this.open(method, path, { ...headers, 'content-length': length });
      let answered = false;
      req.once('error', reject);
      req.once('response', (res) => {
        answered = true;
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.once('error', reject);
        res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      });
      const iterator = chunks[Symbol.iterator]();
      const pump = (): void => {
        // An early answer (an error) ends the upload; the socket is then not reused.
        while (!answered && !req.destroyed) {
          const next = iterator.next();
          if (next.done) {
            req.end();
            return;
          }
          if (!req.write(next.value)) {
            req.once('drain', pump);
            return;
          }
        }
        if (answered && !req.writableEnded) req.destroy();
      };
      pump();
    });
  }

  private open(method: string, path: string, headers: RequestHeaders): http.ClientRequest {
    const plain: Record<string, string | number> = { 'user-agent': 'berth-bench', ...this.defaultHeaders, ...headers };
    return http.request({ host: this.host, port: this.port, method, path, headers: plain, agent: this.agent });
  }
}

/** Throws unless the response has the expected status, with the body for diagnosis. */
export function expectStatus(response: { status: number; body?: Buffer }, expected: number, what: string): void {
  if (response.status !== expected) {
    const body = response.body ? response.body.toString('utf8', 0, 500) : '';
    throw new Error(`${what}: expected HTTP ${expected}, got ${response.status} ${body}`);
  }
}

/** The header's value as one string ('' when absent). */
export function header(headers: http.IncomingHttpHeaders, name: string): string {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

/** Runs tasks with at most `concurrency` in flight; rejects on the first failure. */
export async function runPool<T>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) await task(items[i] as T, i);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
