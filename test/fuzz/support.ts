// Shared machinery of the hostile-input (fuzz) suite: the fast-check seed and run sizes, request
// counters, two HTTP clients (node:http for well-formed requests whose path must stay as
// written, and a bare socket for bytes no HTTP client would send), the response invariants every
// answer must meet (no 5xx, OCI error bodies on 4xx, no body on HEAD), a workspace whose
// surroundings are snapshotted to prove nothing is written outside the data directory, a known
// image pushed first and verified byte-for-byte at the end, and a scan of the server's log.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc, { type IAsyncPropertyWithHooks } from 'fast-check';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

// ---- Seed, run sizes, counters ---------------------------------------------------------------

/** BERTH_FUZZ_SEED reproduces a run; otherwise a random seed, printed at start and on failure. */
export const baseSeed: number = (() => {
  const fromEnv = process.env.BERTH_FUZZ_SEED;
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    const seed = Number(fromEnv);
    if (!Number.isSafeInteger(seed)) throw new Error(`BERTH_FUZZ_SEED must be an integer, got "${fromEnv}"`);
    return seed | 0;
  }
  return randomBytes(4).readInt32LE(0);
})();

/** BERTH_FUZZ_SCALE multiplies every property's number of runs (default 1; 5 for a long soak). */
export const runScale: number = (() => {
  const scale = Number(process.env.BERTH_FUZZ_SCALE ?? '1');
  return Number.isFinite(scale) && scale > 0 ? scale : 1;
})();

/** Each property gets its own seed derived from the base seed and its name, so one reproduces alone. */
export function seedFor(name: string): number {
  let hash = 0x811c9dc5;
  for (const char of name) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193);
  return (baseSeed ^ hash) | 0;
}

/** Requests sent, per generator. */
export class RequestCounter {
  private readonly counts = new Map<string, number>();

  add(label: string, n = 1): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + n);
  }

  get(label: string): number {
    return this.counts.get(label) ?? 0;
  }

  total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }

  report(): string {
    const rows = [...this.counts.entries()].map(([label, n]) => `  ${label.padEnd(10)} ${n}`);
    return [...rows, `  ${'total'.padEnd(10)} ${this.total()}`].join('\n');
  }
}

export const requests = new RequestCounter();

/** Runs a property with its derived seed; a failure names the base seed that reproduces it. */
export async function runProperty<Ts extends [unknown, ...unknown[]]>(
  name: string,
  property: IAsyncPropertyWithHooks<Ts>,
  numRuns: number,
): Promise<void> {
  try {
    await fc.assert(property, {
      seed: seedFor(name),
      numRuns: Math.max(1, Math.round(numRuns * runScale)),
      includeErrorInReport: true,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`property "${name}" failed; reproduce with BERTH_FUZZ_SEED=${baseSeed}\n${message}`, {
      cause: error,
    });
  }
}

// ---- The registry under test -----------------------------------------------------------------

/** Where the registry runs: its data directory sits inside a tree the suite owns and watches. */
export interface Workspace {
  /** Owned by the suite; removed at the end. */
  readonly root: string;
  /** The registry's storage root: root/outer/inner/data. */
  readonly dataDir: string;
  /** A sibling of the data directory with files that must never change. */
  readonly sentinelDir: string;
}

export async function createWorkspace(): Promise<Workspace> {
  const root = await mkdtemp(join(tmpdir(), 'berth-fuzz-'));
  const inner = join(root, 'outer', 'inner');
  const dataDir = join(inner, 'data');
  const sentinelDir = join(inner, 'sentinel');
  await mkdir(dataDir, { recursive: true });
  await mkdir(join(sentinelDir, 'blobs', 'sha256'), { recursive: true });
  await mkdir(join(sentinelDir, 'uploads'), { recursive: true });
  await writeFile(join(sentinelDir, 'canary.txt'), 'nothing may touch this file\n');
  await writeFile(join(sentinelDir, 'blobs', 'sha256', 'data'), 'sentinel blob\n');
  await writeFile(join(inner, 'neighbour.txt'), 'a file next to the data directory\n');
  await writeFile(join(root, 'outer', 'grandparent.txt'), 'two levels up\n');
  return { root, dataDir, sentinelDir };
}

export interface Target {
  readonly registry: TestRegistry;
  readonly workspace: Workspace;
  readonly host: string;
  readonly port: number;
  /** Set when the registry process exits (it never should while the suite runs). */
  exitStatus: number | string | undefined;
}

/** Paging limits pinned in the config, so the oracles do not depend on defaults. */
export const PAGINATION_MAX_ENTRIES = 1000;
export const CATALOG_DEFAULT_ENTRIES = 100;
export const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;
export const MAX_TAGS_PER_PUSH = 8;

export async function startTarget(): Promise<Target> {
  // Berth reads every BERTH_* variable as configuration and refuses unknown keys; the harness
  // passes this process's environment on, so the suite's own variables (read above) go first.
  for (const name of Object.keys(process.env)) if (name.startsWith('BERTH_FUZZ_')) delete process.env[name];
  const workspace = await createWorkspace();
  const registry = await startRegistry({
    dataDir: workspace.dataDir,
    extraConfig: [
      'limits:',
      `  manifestmaxbytes: ${MANIFEST_MAX_BYTES}`,
      `  paginationmaxentries: ${PAGINATION_MAX_ENTRIES}`,
      `  catalogdefaultentries: ${CATALOG_DEFAULT_ENTRIES}`,
      `  maxtagsperpush: ${MAX_TAGS_PER_PUSH}`,
    ].join('\n'),
  }).catch(async (error: unknown) => {
    await rm(workspace.root, { recursive: true, force: true });
    throw error;
  });
  const url = new URL(registry.url);
  const target: Target = {
    registry,
    workspace,
    host: url.hostname,
    port: Number(url.port),
    exitStatus: undefined,
  };
  void registry.exited().then((status) => {
    target.exitStatus = status;
  });
  return target;
}

export async function stopTarget(target: Target): Promise<void> {
  await target.registry.stop();
  await rm(target.workspace.root, { recursive: true, force: true });
}

/** True while the registry process runs (checked through the harness and with signal 0). */
export function isAlive(target: Target): boolean {
  if (target.exitStatus !== undefined) return false;
  try {
    process.kill(target.registry.pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Turns a transport error into a clear crash report when the registry has died. */
function crashCheck(target: Target, what: string, error: unknown): Error {
  const reason = error instanceof Error ? error.message : String(error);
  if (!isAlive(target)) {
    return new Error(
      `the registry died (exit ${String(target.exitStatus)}) around ${what}: ${reason}\n${target.registry.output().slice(-4000)}`,
    );
  }
  return error instanceof Error ? error : new Error(reason);
}

// ---- node:http client ------------------------------------------------------------------------

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface SendOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
  readonly timeoutMs?: number;
}

/**
 * One request on a fresh connection (no keep-alive pool, so a connection the server closed after
 * an error never poisons the next request). The path is sent exactly as given.
 */
export function send(target: Target, label: string, method: string, path: string, options: SendOptions = {}): Promise<HttpResponse> {
  requests.add(label);
  const what = `${method} ${path.slice(0, 200)}`;
  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    let answered: (() => void) | undefined;
    const fail = (error: unknown): void => {
      if (settled) return;
      // The server may answer early (413) and close while the body is still going out: the
      // write then fails with EPIPE, but the answer is what counts.
      if (answered) {
        answered();
        return;
      }
      settled = true;
      reject(crashCheck(target, what, error));
    };
    const req = httpRequest(
      { host: target.host, port: target.port, method, path, headers: { ...options.headers }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        answered = () => {
          if (settled) return;
          settled = true;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        };
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', answered);
        res.on('error', fail);
      },
    );
    req.setTimeout(options.timeoutMs ?? 20_000, () => req.destroy(new Error(`timeout: ${what}`)));
    req.on('error', fail);
    req.end(options.body);
  });
}

// ---- Bare-socket client ----------------------------------------------------------------------

export interface WireResponse {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** False when the connection ended before the declared body was complete. */
  readonly complete: boolean;
}

export type WireOutcome =
  | {
      readonly kind: 'response';
      readonly response: WireResponse;
      /** Bytes after the first response (a HEAD answer must leave none). */
      readonly rest: Buffer;
      readonly ended: 'closed' | 'timeout';
    }
  | { readonly kind: 'no-response'; readonly received: Buffer; readonly ended: 'closed' | 'timeout' | 'reset' };

export interface WireOptions {
  /** Destroy the connection after this long (default 20 s). */
  readonly timeoutMs?: number;
  /** Half-close the connection after writing (the server sees end-of-stream). */
  readonly endAfterWrite?: boolean;
  /** The method, to know that a HEAD response has no body. */
  readonly method?: string;
  /** Stop as soon as one complete response has arrived (for kept-alive connections). */
  readonly untilFirstResponse?: boolean;
}

/** Writes raw bytes on a fresh connection and collects everything until the server closes. */
export function sendWire(target: Target, label: string, bytes: Uint8Array | string, options: WireOptions = {}): Promise<WireOutcome> {
  requests.add(label);
  return new Promise<WireOutcome>((resolve) => {
    const socket = connect(target.port, target.host);
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (ended: 'closed' | 'timeout' | 'reset'): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const received = Buffer.concat(chunks);
      const parsed = parseWireResponse(received, options.method ?? 'GET');
      if (parsed && ended !== 'reset') resolve({ kind: 'response', ...parsed, ended });
      else if (parsed) resolve({ kind: 'response', ...parsed, ended: 'closed' });
      else resolve({ kind: 'no-response', received, ended });
    };
    const timer = setTimeout(() => finish('timeout'), options.timeoutMs ?? 20_000);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (options.untilFirstResponse && parseWireResponse(Buffer.concat(chunks), options.method ?? 'GET')?.response.complete) {
        finish('closed');
      }
    });
    socket.on('end', () => finish('closed'));
    socket.on('close', () => finish('closed'));
    socket.on('error', () => finish('reset'));
    socket.on('connect', () => {
      socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes, (error) => {
        if (!error && options.endAfterWrite) socket.end();
      });
    });
  });
}

/** A request as bytes: request line, Host, Connection (close by default), the given headers, the body. */
export function wireRequest(
  target: Target,
  method: string,
  path: string | Buffer,
  headers: readonly (readonly [string, string])[] = [],
  body?: Uint8Array,
  options: { readonly contentLength?: boolean; readonly version?: string; readonly connection?: 'close' | 'keep-alive' } = {},
): Buffer {
  const lines: string[] = [`Host: ${target.host}:${target.port}`, `Connection: ${options.connection ?? 'close'}`];
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  if (body !== undefined && options.contentLength !== false) lines.push(`Content-Length: ${body.length}`);
  const pathBytes = typeof path === 'string' ? Buffer.from(path, 'latin1') : path;
  return Buffer.concat([
    Buffer.from(`${method} `, 'latin1'),
    pathBytes,
    Buffer.from(` ${options.version ?? 'HTTP/1.1'}\r\n${lines.join('\r\n')}\r\n\r\n`, 'latin1'),
    body ?? Buffer.alloc(0),
  ]);
}

/** Parses the first HTTP/1.x response in `data`; undefined when there is no complete header block. */
export function parseWireResponse(data: Buffer, method: string): { response: WireResponse; rest: Buffer } | undefined {
  let offset = 0;
  for (;;) {
    const split = data.indexOf('\r\n\r\n', offset);
    if (split < 0) return undefined;
    const lines = data.subarray(offset, split).toString('latin1').split('\r\n');
    const statusLine = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
    if (!statusLine) return undefined;
    const status = Number(statusLine[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const start = split + 4;
    // Interim responses (100 Continue) come before the real one.
    if (status >= 100 && status < 200) {
      offset = start;
      continue;
    }
    if (method === 'HEAD' || status === 204 || status === 304) {
      return { response: { status, headers, body: Buffer.alloc(0), complete: true }, rest: data.subarray(start) };
    }
    if ((headers['transfer-encoding'] ?? '').toLowerCase().includes('chunked')) {
      return decodeChunked(data, start, status, headers);
    }
    const length = headers['content-length'];
    if (length !== undefined && /^\d+$/.test(length)) {
      const end = start + Number(length);
      return {
        response: { status, headers, body: data.subarray(start, end), complete: data.length >= end },
        rest: data.subarray(Math.min(end, data.length)),
      };
    }
    return { response: { status, headers, body: data.subarray(start), complete: true }, rest: Buffer.alloc(0) };
  }
}

function decodeChunked(
  data: Buffer,
  start: number,
  status: number,
  headers: Record<string, string>,
): { response: WireResponse; rest: Buffer } {
  const parts: Buffer[] = [];
  let at = start;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size)) break;
    if (size === 0) {
      const trailerEnd = data.indexOf('\r\n\r\n', lineEnd);
      const end = trailerEnd < 0 ? data.length : trailerEnd + 4;
      return { response: { status, headers, body: Buffer.concat(parts), complete: true }, rest: data.subarray(end) };
    }
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return { response: { status, headers, body: Buffer.concat(parts), complete: false }, rest: Buffer.alloc(0) };
}

// ---- Response invariants ---------------------------------------------------------------------

export interface OciError {
  readonly code: string;
  readonly message: string;
}

function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * The invariants of every answer: not a 5xx; a 4xx carries an OCI error body
 * {"errors":[{"code","message"}]} with an application/json type, except on HEAD, whose answer has
 * no body at all. Returns the error codes of a 4xx (empty otherwise). `context` describes the
 * request for the failure message.
 */
export function checkAnswer(
  response: { readonly status: number; readonly headers: Readonly<Record<string, string | string[] | undefined>>; readonly body: Buffer },
  method: string,
  context: string,
  rest: Buffer = Buffer.alloc(0),
): string[] {
  const text = response.body.subarray(0, 600).toString('utf8');
  assert.ok(response.status >= 100 && response.status < 500, `5xx (or no status): ${context} -> ${response.status} ${text}`);
  if (response.status < 400) return [];
  if (method === 'HEAD') {
    assert.equal(response.body.length, 0, `HEAD answered with a body: ${context} -> ${response.status} ${text}`);
    assert.equal(rest.length, 0, `HEAD answered with bytes after the header block: ${context}`);
    return [];
  }
  const contentType = headerString(response.headers['content-type']) ?? '';
  assert.match(
    contentType,
    /^application\/json\b/,
    `4xx without application/json: ${context} -> ${response.status} ${contentType} ${text}`,
  );
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body.toString('utf8'));
  } catch {
    assert.fail(`4xx body is not JSON: ${context} -> ${response.status} ${text}`);
  }
  const errors = (parsed as { errors?: unknown }).errors;
  assert.ok(Array.isArray(errors) && errors.length > 0, `4xx body has no errors array: ${context} -> ${text}`);
  const codes: string[] = [];
  for (const entry of errors as unknown[]) {
    const { code, message } = (entry ?? {}) as Partial<Record<'code' | 'message', unknown>>;
    assert.equal(typeof code, 'string', `error without a string code: ${context} -> ${text}`);
    assert.equal(typeof message, 'string', `error without a string message: ${context} -> ${text}`);
    codes.push(code as string);
  }
  return codes;
}

/** checkAnswer for a bare-socket outcome: a complete response must have arrived. */
export function checkWireAnswer(
  outcome: WireOutcome,
  method: string,
  context: string,
): { status: number; codes: string[]; response: WireResponse } {
  assert.equal(outcome.kind, 'response', `no response: ${context} (${outcome.kind === 'no-response' ? outcome.ended : ''})`);
  if (outcome.kind !== 'response') throw new Error('unreachable');
  assert.ok(outcome.response.complete, `truncated response: ${context} -> ${outcome.response.status}`);
  return {
    status: outcome.response.status,
    codes: checkAnswer(outcome.response, method, context, outcome.rest),
    response: outcome.response,
  };
}

/** Asserts a 4xx with one of the given codes. */
export function expectCodes(codes: readonly string[], status: number, allowed: readonly string[], context: string): void {
  assert.ok(
    codes.some((code) => allowed.includes(code)),
    `expected ${allowed.join(' or ')}, got ${status} ${codes.join(',')}: ${context}`,
  );
}

// ---- Content helpers -------------------------------------------------------------------------

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function sha512(data: Uint8Array | string): string {
  return `sha512:${createHash('sha512').update(data).digest('hex')}`;
}

export const EMPTY_SHA256 = sha256('');

/** The digest grammar the registry accepts (sha256 and sha512, lower-case hex of full length). */
export function isAcceptedDigest(value: string): boolean {
  return /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/.test(value);
}

/** The OCI repository name grammar, at most 255 characters. */
export function isValidName(value: string): boolean {
  return (
    value.length > 0 &&
    value.length <= 255 &&
    /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/.test(value)
  );
}

export function isValidTag(value: string): boolean {
  return /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/.test(value);
}

export const MEDIA = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

export const MANIFEST_TYPES: readonly string[] = [MEDIA.ociManifest, MEDIA.ociIndex, MEDIA.dockerManifest, MEDIA.dockerList];

/** Uploads a blob monolithically (POST, then PUT ?digest= with the bytes); asserts 201. */
export async function pushBlob(target: Target, label: string, repo: string, data: Uint8Array): Promise<string> {
  const digest = sha256(data);
  const start = await send(target, label, 'POST', `/v2/${repo}/blobs/uploads/`, { headers: { 'content-length': '0' } });
  assert.equal(start.status, 202, `POST upload to ${repo}: ${start.body.toString()}`);
  const location = headerString(start.headers.location);
  assert.ok(location, 'upload Location');
  const url = new URL(location, `http://${target.host}:${target.port}`);
  url.searchParams.set('digest', digest);
  const put = await send(target, label, 'PUT', `${url.pathname}${url.search}`, {
    headers: { 'content-type': 'application/octet-stream' },
    body: data,
  });
  assert.equal(put.status, 201, `PUT blob to ${repo}: ${put.body.toString()}`);
  return digest;
}

// ---- The known image -------------------------------------------------------------------------

export interface KnownBlob {
  readonly digest: string;
  readonly bytes: Buffer;
  readonly mediaType: string;
}

export interface KnownImage {
  readonly repo: string;
  readonly tag: string;
  readonly config: KnownBlob;
  readonly layers: readonly KnownBlob[];
  readonly manifest: { readonly digest: string; readonly bytes: Buffer; readonly mediaType: string };
}

export function blobsOf(image: KnownImage): readonly KnownBlob[] {
  return [image.config, ...image.layers];
}

/** Pushes a config, two layers and an OCI manifest, and tags it. */
export async function pushKnownImage(target: Target, repo: string, tag: string): Promise<KnownImage> {
  const configBytes = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: randomBytes(8).toString('hex') }),
  );
  const config: KnownBlob = { digest: await pushBlob(target, 'setup', repo, configBytes), bytes: configBytes, mediaType: MEDIA.ociConfig };
  const layers: KnownBlob[] = [];
  for (const size of [4099, 517]) {
    const bytes = randomBytes(size);
    layers.push({ digest: await pushBlob(target, 'setup', repo, bytes), bytes, mediaType: MEDIA.ociLayer });
  }
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: config.mediaType, digest: config.digest, size: config.bytes.length },
      layers: layers.map((layer) => ({ mediaType: layer.mediaType, digest: layer.digest, size: layer.bytes.length })),
      annotations: { 'org.example.fuzz': 'known image' },
    }),
  );
  const put = await send(target, 'setup', 'PUT', `/v2/${repo}/manifests/${tag}`, {
    headers: { 'content-type': MEDIA.ociManifest },
    body: manifestBytes,
  });
  assert.equal(put.status, 201, `PUT known manifest: ${put.body.toString()}`);
  return {
    repo,
    tag,
    config,
    layers,
    manifest: { digest: sha256(manifestBytes), bytes: manifestBytes, mediaType: MEDIA.ociManifest },
  };
}

/** GETs the manifest by tag and by digest and every blob; compares bytes, digests and types. */
export async function verifyKnownImage(target: Target, image: KnownImage): Promise<void> {
  for (const reference of [image.tag, image.manifest.digest]) {
    const response = await send(target, 'verify', 'GET', `/v2/${image.repo}/manifests/${reference}`, {
      headers: { accept: MANIFEST_TYPES.join(', ') },
    });
    assert.equal(response.status, 200, `GET known manifest by ${reference}: ${response.body.toString()}`);
    assert.ok(response.body.equals(image.manifest.bytes), `known manifest by ${reference}: bytes differ`);
    assert.equal(sha256(response.body), image.manifest.digest);
    assert.equal(response.headers['docker-content-digest'], image.manifest.digest);
    assert.equal(response.headers['content-type'], image.manifest.mediaType);
  }
  for (const blob of blobsOf(image)) {
    const response = await send(target, 'verify', 'GET', `/v2/${image.repo}/blobs/${blob.digest}`);
    assert.equal(response.status, 200, `GET known blob ${blob.digest}: ${response.body.toString()}`);
    assert.ok(response.body.equals(blob.bytes), `known blob ${blob.digest}: bytes differ`);
    assert.equal(sha256(response.body), blob.digest);
    assert.equal(response.headers['docker-content-digest'], blob.digest);
    const head = await send(target, 'verify', 'HEAD', `/v2/${image.repo}/blobs/${blob.digest}`);
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(blob.bytes.length));
  }
  const tags = await send(target, 'verify', 'GET', `/v2/${image.repo}/tags/list`);
  assert.equal(tags.status, 200);
  assert.deepEqual((JSON.parse(tags.body.toString()) as { tags: unknown }).tags, [image.tag]);
}

// ---- File-system confinement -----------------------------------------------------------------

/** Every entry under dir (relative path -> description), symbolic links not followed. */
async function tree(dir: string, skip: ReadonlySet<string> = new Set(), prefix = ''): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (skip.has(full)) continue;
    const info = await lstat(full);
    if (info.isSymbolicLink()) result.set(rel, `link -> ${await readlink(full)}`);
    else if (info.isDirectory()) {
      result.set(rel, `dir ${info.mode.toString(8)}`);
      for (const [childRel, description] of await tree(full, skip, rel)) result.set(childRel, description);
    } else if (info.isFile()) {
      result.set(rel, `file ${info.mode.toString(8)} ${info.size} ${info.mtimeMs} ${sha256(await readFile(full))}`);
    } else result.set(rel, `special ${info.mode.toString(8)}`);
  }
  return result;
}

/** The whole workspace except the data directory: sentinel, neighbours, parents. */
export function snapshotOutsideData(workspace: Workspace): Promise<Map<string, string>> {
  return tree(workspace.root, new Set([workspace.dataDir]));
}

/**
 * Asserts that the data directory holds only what the registry may write: blobs/ (each at the
 * content address of its bytes), uploads/<uuid>/, the SQLite files and the harness's config,
 * with no '..' anywhere and no links or special files.
 */
export async function checkDataDirectory(workspace: Workspace): Promise<{ files: number; blobs: number }> {
  const entries = await tree(workspace.dataDir);
  let files = 0;
  let blobs = 0;
  for (const [rel, description] of entries) {
    assert.ok(!rel.includes('..'), `path with '..' in the data directory: ${rel}`);
    assert.ok(description.startsWith('dir') || description.startsWith('file'), `unexpected ${description}: ${rel}`);
    if (!description.startsWith('file')) {
      assert.ok(/^(?:blobs|uploads)(?:\/|$)/.test(rel), `unexpected directory in the data directory: ${rel}`);
      continue;
    }
    files++;
    if (rel === 'berth-test-config.yml' || /^berth\.db(?:-wal|-shm|-journal)?$/.test(rel)) continue;
    const upload = /^uploads\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/data$/.test(rel);
    const blob = /^blobs\/(sha256|sha512)\/([0-9a-f]{2})\/([0-9a-f]+)\/data$/.exec(rel);
    assert.ok(upload || blob, `unexpected file in the data directory: ${rel}`);
    if (blob) {
      const [, algorithm = '', fanOut = '', hex = ''] = blob;
      assert.ok(hex.startsWith(fanOut), `blob in the wrong fan-out directory: ${rel}`);
      const bytes = await readFile(join(workspace.dataDir, rel));
      const actual = algorithm === 'sha256' ? sha256(bytes) : sha512(bytes);
      assert.equal(actual, `${algorithm}:${hex}`, `blob bytes do not match their address: ${rel}`);
      blobs++;
    }
  }
  return { files, blobs };
}

// ---- The server's own account ----------------------------------------------------------------

export interface LogReview {
  /** Error-level lines: each one is a server failure, whether or not a client saw it. */
  readonly errors: readonly string[];
  /** Requests the client abandoned mid-way, which the server logs at info level. */
  readonly clientDisconnects: number;
  /** Access-log lines with a 5xx status. */
  readonly serverErrorResponses: readonly string[];
}

/** Reads the registry's structured log for failures the client could not see. */
export function reviewServerLog(output: string): LogReview {
  const errors: string[] = [];
  const serverErrorResponses: string[] = [];
  let clientDisconnects = 0;
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: { level?: unknown; status?: unknown; msg?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if (entry.msg === 'request' && typeof entry.status === 'number' && entry.status >= 500) {
      serverErrorResponses.push(line.slice(0, 800));
    }
    if (entry.msg === 'client disconnected') clientDisconnects++;
    if (typeof entry.level === 'number' && entry.level >= 50) errors.push(line.slice(0, 1500));
  }
  return { errors, clientDisconnects, serverErrorResponses };
}
