// A minimal HTTP/1.1 client connection on a raw keep-alive socket, for the load generator and
// for large downloads. It reads into one reused buffer (net's `onread`, 1 MiB for downloads) and
// parses only the framing (status line, Content-Length or chunked) to count body bytes, so the
// client spends far less CPU per request and per byte than node:http. A caller may also see
// the body bytes as they arrive (to hash them), through the optional onBody of request().
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface RawResponse {
  readonly status: number;
  /** The response head (status line and headers) as latin1 text. */
  readonly head: string;
  readonly bodyBytes: number;
  /** From writing the request to the first body byte (to the head when there is no body). */
  readonly ttfbMs: number;
  readonly totalMs: number;
}

export function buildRequest(method: string, path: string, hostPort: string, headers: Readonly<Record<string, string>> = {}): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${hostPort}`, 'User-Agent: berth-bench'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

const HEAD_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;
const CHUNKED = /\r\ntransfer-encoding:[ \t]*chunked/i;

type Phase = 'idle' | 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-end';

interface Pending {
  readonly head: boolean;
  readonly onBody: ((chunk: Buffer) => void) | undefined;
  readonly resolve: (response: RawResponse) => void;
  readonly reject: (error: Error) => void;
  readonly started: number;
  status: number;
  headText: string;
  bodyBytes: number;
  firstByte: number;
}

export class RawConnection {
  private socket: Socket | undefined;
  private connected: Promise<void> | undefined;
  private readonly buffer: Buffer;
  private phase: Phase = 'idle';
  private remaining = 0;
  /** Bytes of an incomplete head or chunk-size line, copied out of the reused read buffer. */
  private carry: Buffer | undefined;
  private pending: Pending | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
    readBufferBytes = 64 * 1024,
  ) {
    this.buffer = Buffer.allocUnsafe(readBufferBytes);
  }

  /** Connects now (so that a measurement need not include the TCP handshake). */
  async ready(): Promise<void> {
    if (!this.socket) this.open();
    await this.connected;
  }

  /**
   * Sends one request (built by buildRequest) and resolves when its response has been read.
   * `onBody` receives each piece of the body as it arrives (chunked framing removed); the piece
   * views the reused read buffer, so it must be consumed (e.g. hashed) before returning.
   */
  async request(request: Buffer, head = false, onBody?: (chunk: Buffer) => void): Promise<RawResponse> {
    if (this.pending) throw new Error('RawConnection: one request at a time');
    await this.ready();
    const socket = this.socket;
    if (!socket) throw new Error('connection closed');
    return new Promise((resolve, reject) => {
      this.pending = { head, onBody, resolve, reject, started: performance.now(), status: 0, headText: '', bodyBytes: 0, firstByte: NaN };
      this.phase = 'head';
      this.carry = undefined;
      socket.write(request);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private open(): void {
    const socket = connect({
      host: this.host,
      port: this.port,
      noDelay: true,
      onread: {
        buffer: this.buffer,
        callback: (bytes: number, buffer: Uint8Array) => {
          if (socket === this.socket) this.feed(Buffer.from(buffer.buffer, buffer.byteOffset, bytes));
          return true;
        },
      },
    });
    this.socket = socket;
    this.connected = new Promise((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    this.connected.catch(() => undefined);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      if (socket !== this.socket) return;
      this.socket = undefined;
      this.fail(new Error('connection closed before the response ended'));
    });
  }

  private fail(error: Error): void {
    const pending = this.pending;
    this.pending = undefined;
    this.phase = 'idle';
    pending?.reject(error);
  }

  private finish(): void {
    const pending = this.pending;
    this.pending = undefined;
    this.phase = 'idle';
    if (!pending) return;
    const ended = performance.now();
    pending.resolve({
      status: pending.status,
      head: pending.headText,
      bodyBytes: pending.bodyBytes,
      ttfbMs: (Number.isNaN(pending.firstByte) ? ended : pending.firstByte) - pending.started,
      totalMs: ended - pending.started,
    });
  }

  private body(chunk: Buffer): void {
    const pending = this.pending;
    if (!pending || chunk.length === 0) return;
    if (pending.bodyBytes === 0) pending.firstByte = performance.now();
    pending.bodyBytes += chunk.length;
    pending.onBody?.(chunk);
  }

  /** `data` views the reused read buffer: anything kept past this call is copied. */
  private feed(data: Buffer): void {
    if (this.carry) {
      data = Buffer.concat([this.carry, data]);
      this.carry = undefined;
    }
    while (data.length > 0) {
      const pending = this.pending;
      switch (this.phase) {
        case 'idle':
          this.fail(new Error('unexpected bytes from the server'));
          this.close();
          return;
        case 'head': {
          const end = data.indexOf(HEAD_END);
          if (end < 0) {
            this.carry = Buffer.from(data);
            return;
          }
          const head = data.toString('latin1', 0, end);
          data = data.subarray(end + 4);
          const status = Number(head.slice(9, 12));
          if (pending) {
            pending.status = status;
            pending.headText = head;
          }
          if (pending?.head || status === 204 || status === 304 || (status >= 100 && status < 200)) this.remaining = 0;
          else if (CHUNKED.test(head)) {
            this.phase = 'chunk-size';
            continue;
          } else {
            const length = CONTENT_LENGTH.exec(head)?.[1];
            this.remaining = length === undefined ? 0 : Number(length);
          }
          this.phase = 'body';
          if (this.remaining === 0) this.finish();
          continue;
        }
        case 'body': {
          const take = Math.min(this.remaining, data.length);
          this.body(data.subarray(0, take));
          this.remaining -= take;
          data = data.subarray(take);
          if (this.remaining === 0) this.finish();
          continue;
        }
        case 'chunk-size': {
          const end = data.indexOf(CRLF);
          if (end < 0) {
            this.carry = Buffer.from(data);
            return;
          }
          const size = parseInt(data.toString('latin1', 0, end), 16);
          data = data.subarray(end + 2);
          this.phase = size === 0 ? 'chunk-end' : 'chunk-data';
          // Chunk data is followed by CRLF; the last chunk by CRLF too (no trailers expected).
          this.remaining = size === 0 ? 2 : size + 2;
          continue;
        }
        case 'chunk-data':
        case 'chunk-end': {
          const take = Math.min(this.remaining, data.length);
          if (this.phase === 'chunk-data') this.body(data.subarray(0, Math.max(0, Math.min(take, this.remaining - 2))));
          this.remaining -= take;
          data = data.subarray(take);
          if (this.remaining > 0) continue;
          if (this.phase === 'chunk-end') this.finish();
          else this.phase = 'chunk-size';
          continue;
        }
      }
    }
  }
}
