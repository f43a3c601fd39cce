// Shared helpers for the crash-safety tests: a small HTTP client over node:http (one keep-alive
// agent per registry process, so a killed process's sockets are dropped with it), a seeded
// random source, digests, OCI error bodies, and image manifest builders. The tests keep their
// own ledger of what they pushed; nothing here knows Berth's internals.
import { createHash } from 'node:crypto';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { MEDIA } from '../http/support.js';

// The same media types and Accept list as the HTTP suite.
export { ACCEPT_ALL_MANIFESTS, MEDIA } from '../http/support.js';

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A deterministic generator (mulberry32), so a failing run can be replayed with its seed. */
export class Random {
  #state: number;

  constructor(readonly seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface RequestOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer;
  /** Abort (reject) after this long; default 60 s, so a hung server fails the test instead of stalling it. */
  readonly timeoutMs?: number;
}

/** Talks to one registry process; close() drops its sockets. */
export class RegistryClient {
  readonly agent: Agent;

  /** keepAlive false: a new connection per request, so that one stuck connection cannot stall the next request. */
  constructor(
    readonly baseUrl: string,
    { keepAlive = true }: { keepAlive?: boolean } = {},
  ) {
    this.agent = new Agent({ keepAlive, maxSockets: 32 });
  }

  /** path: an absolute path with query ("/v2/..."), or a Location header value. */
  request(method: string, path: string, options: RequestOptions = {}): Promise<HttpResponse> {
    const url = new URL(path, this.baseUrl);
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...options.headers };
      if (options.body !== undefined) headers['content-length'] = String(options.body.length);
      else if (method === 'POST' || method === 'PUT' || method === 'PATCH') headers['content-length'] = '0';
      const req = httpRequest(url, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.setTimeout(options.timeoutMs ?? 60_000, () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      req.end(options.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The path and query of a Location header (absolute or relative), with extra query parameters. */
export function locationWith(baseUrl: string, location: string, params: Readonly<Record<string, string>> = {}): string {
  const url = new URL(location, baseUrl);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return `${url.pathname}${url.search}`;
}

export function header(response: HttpResponse, name: string): string | undefined {
  const value = response.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** The error codes of an OCI error body, or undefined when the body is not one. */
export function ociErrorCodes(response: HttpResponse): string[] | undefined {
  try {
    const body = JSON.parse(response.body.toString('utf8')) as unknown;
    if (typeof body !== 'object' || body === null || !('errors' in body) || !Array.isArray(body.errors)) return undefined;
    const codes: string[] = [];
    for (const entry of body.errors as unknown[]) {
      if (typeof entry !== 'object' || entry === null || !('code' in entry) || typeof entry.code !== 'string') {
        return undefined;
      }
      codes.push(entry.code);
    }
    return codes;
  } catch {
    return undefined;
  }
}

/** "status body" for messages, with the body cut short. */
export function describeResponse(response: HttpResponse): string {
  const text = response.body.toString('utf8');
  return `${response.status} ${text.length > 300 ? `${text.slice(0, 300)}...` : text}`;
}

/**
 * The number of bytes an upload Range header ("0-<last>") reports. "0-0" is ambiguous (Berth and
 * Distribution send it for an empty upload, and it also means one byte), so it is returned as 0
 * and callers handle a 416 by reading the Range of that answer.
 */
export function uploadedBytes(range: string | undefined): number | undefined {
  const match = /^0-(\d+)$/.exec(range ?? '');
  if (!match?.[1]) return undefined;
  const last = Number(match[1]);
  return last === 0 ? 0 : last + 1;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: { readonly architecture: string; readonly os: string };
}

export interface BuiltManifest {
  readonly bytes: Buffer;
  readonly mediaType: string;
  readonly digest: string;
}

export function manifestOf(mediaType: string, content: unknown): BuiltManifest {
  const bytes = Buffer.from(JSON.stringify(content));
  return { bytes, mediaType, digest: sha256(bytes) };
}

export function imageManifest(format: 'oci' | 'docker', config: Descriptor, layers: readonly Descriptor[]): BuiltManifest {
  const mediaType = format === 'oci' ? MEDIA.ociManifest : MEDIA.dockerManifest;
  return manifestOf(mediaType, { schemaVersion: 2, mediaType, config, layers });
}

export function indexManifest(format: 'oci' | 'docker', children: readonly Descriptor[]): BuiltManifest {
  const mediaType = format === 'oci' ? MEDIA.ociIndex : MEDIA.dockerList;
  return manifestOf(mediaType, { schemaVersion: 2, mediaType, manifests: children });
}

/** The digests an image manifest or index references: blobs (config, layers) and child manifests. */
export function referencesOf(bytes: Buffer): { blobs: string[]; manifests: string[] } {
  const document = JSON.parse(bytes.toString('utf8')) as {
    config?: { digest: string };
    layers?: { digest: string }[];
    manifests?: { digest: string }[];
  };
  return {
    blobs: [...(document.config ? [document.config.digest] : []), ...(document.layers ?? []).map((l) => l.digest)],
    manifests: (document.manifests ?? []).map((m) => m.digest),
  };
}

/** Runs task over items with at most `concurrency` at a time. */
export async function inParallel<T>(items: readonly T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const run = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) {
      const item = items[i];
      if (item !== undefined) await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, run));
}

export interface SlowRequest {
  /** The answer, or the error the connection ended with. */
  readonly outcome: Promise<HttpResponse | Error>;
  /** Body bytes handed to the socket so far. */
  sent(): number;
}

/**
 * Sends body in pieces with a pause after each, as a slow client does, on its own connection.
 * Content-Length is declared up front, so a cut-off body is an incomplete request.
 */
export function slowRequest(
  baseUrl: string,
  method: string,
  path: string,
  headers: Readonly<Record<string, string>>,
  body: Buffer,
  pacing: { readonly pieceBytes: number; readonly pauseMs: number },
): SlowRequest {
  let sent = 0;
  const outcome = new Promise<HttpResponse | Error>((resolve) => {
    const req = httpRequest(
      new URL(path, baseUrl),
      { method, headers: { ...headers, 'content-length': String(body.length) }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', resolve);
      },
    );
    let failed = false;
    // A stalled connection fails the request instead of hanging the test.
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: stalled for 30 s`)));
    req.on('error', (error) => {
      failed = true;
      resolve(error);
    });
    void (async () => {
      while (sent < body.length && !failed) {
        const piece = body.subarray(sent, sent + pacing.pieceBytes);
        const flushed = req.write(piece);
        sent += piece.length;
        if (!flushed) {
          await new Promise<void>((r) => {
            const done = (): void => {
              req.off('drain', done).off('close', done);
              r();
            };
            req.on('drain', done).on('close', done);
          });
        }
        await sleep(pacing.pauseMs);
      }
      if (!failed) req.end();
    })();
  });
  return { outcome, sent: () => sent };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
