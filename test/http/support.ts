// Shared helpers for the HTTP-level conformance suite (OCI Distribution v1.1 and Docker Registry
// HTTP API V2): digests, random blobs, blob pushes, manifests of each type, raw HTTP requests
// that bypass fetch's URL normalisation, and the OCI error body assertion.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';

export const MEDIA = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
} as const;

/** The OCI empty descriptor's content ("{}") and digest. */
export const EMPTY_JSON = Buffer.from('{}');

/** An Accept header listing every manifest type, as docker, containerd and skopeo send. */
export const ACCEPT_ALL_MANIFESTS = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');
export const EMPTY_JSON_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';
/** sha256 of zero bytes. */
export const EMPTY_BLOB_DIGEST = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function sha512(data: Uint8Array | string): string {
  return `sha512:${createHash('sha512').update(data).digest('hex')}`;
}

export function randomBlob(size = 1024): Buffer {
  return randomBytes(size);
}

/** A repository name unique to this run, lower-case, optionally with a fixed prefix path. */
export function uniqueRepo(prefix = 'test'): string {
  return `${prefix}/r${randomBytes(6).toString('hex')}`;
}

/** Resolves a Location header (absolute or relative) against the registry URL. */
export function resolveLocation(baseUrl: string, location: string | null): URL {
  assert.ok(location, 'expected a Location header');
  return new URL(location, baseUrl);
}

/** A copy of url with query parameters set, keeping the ones already there (upload state). */
export function withQuery(url: URL, params: Readonly<Record<string, string>>): URL {
  const copy = new URL(url);
  for (const [key, value] of Object.entries(params)) copy.searchParams.set(key, value);
  return copy;
}

export interface OciErrorBody {
  errors: { code: string; message?: string; detail?: unknown }[];
}

/**
 * Asserts an OCI error response: the status, a JSON content type and a body
 * {"errors":[{"code", "message"?, "detail"?}]} with code among the errors (one of several when
 * given a list, any when undefined). Takes a Response (and consumes its body) or a response
 * whose body was already read, with its text.
 */
export async function assertOciError(
  result: Response | { readonly response: Response; readonly text: string },
  status: number,
  code: string | readonly string[] | undefined,
): Promise<OciErrorBody> {
  const { response, text } = result instanceof Response ? { response: result, text: await result.text() } : result;
  assert.equal(response.status, status, `expected ${status} ${String(code)}, got ${response.status}: ${text}`);
  const contentType = response.headers.get('content-type') ?? '';
  assert.match(contentType, /^application\/json\b/, `error content type was ${contentType}`);
  const body = JSON.parse(text) as unknown;
  assert.ok(isOciErrorBody(body), `not an OCI error body: ${text}`);
  assert.ok(body.errors.length > 0, 'errors array is empty');
  for (const error of body.errors) {
    assert.equal(typeof error.code, 'string');
    if (error.message !== undefined) assert.equal(typeof error.message, 'string');
  }
  if (code !== undefined) {
    const wanted: readonly string[] = typeof code === 'string' ? [code] : code;
    assert.ok(
      body.errors.some((error) => wanted.includes(error.code)),
      `expected code ${wanted.join(' or ')} in ${text}`,
    );
  }
  return body;
}

function isOciErrorBody(value: unknown): value is OciErrorBody {
  if (typeof value !== 'object' || value === null || !('errors' in value)) return false;
  const errors = (value as { errors: unknown }).errors;
  return Array.isArray(errors) && errors.every((e: unknown) => typeof e === 'object' && e !== null && 'code' in e);
}

/** Starts an upload session; returns the upload URL (Location resolved). */
export async function startUpload(baseUrl: string, repo: string): Promise<URL> {
  const response = await fetch(`${baseUrl}/v2/${repo}/blobs/uploads/`, {
    method: 'POST',
    headers: { 'content-length': '0' },
  });
  await response.arrayBuffer();
  assert.equal(response.status, 202, `POST upload for ${repo}`);
  return resolveLocation(baseUrl, response.headers.get('location'));
}

/** Pushes a blob monolithically (POST, then PUT ?digest= with the bytes); returns its digest. */
export async function pushBlob(baseUrl: string, repo: string, data: Uint8Array, digest: string = sha256(data)): Promise<string> {
  const upload = await startUpload(baseUrl, repo);
  const response = await fetch(withQuery(upload, { digest }), {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: data,
  });
  const text = await response.text();
  assert.equal(response.status, 201, `PUT blob ${digest} to ${repo}: ${text}`);
  return digest;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  artifactType?: string;
}

export interface BuiltManifest {
  /** The exact bytes to push. */
  readonly bytes: Buffer;
  readonly mediaType: string;
  readonly digest: string;
}

export function manifestOf(mediaType: string, content: unknown, indent?: number): BuiltManifest {
  const bytes = Buffer.from(JSON.stringify(content, null, indent));
  return { bytes, mediaType, digest: sha256(bytes) };
}

export function descriptorOf(manifest: BuiltManifest, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length, ...extra };
}

/** Pushes a random config blob and layers; returns their descriptors. */
export async function pushImageBlobs(
  baseUrl: string,
  repo: string,
  kind: 'docker' | 'oci',
  layerCount = 1,
): Promise<{ config: Descriptor; layers: Descriptor[] }> {
  const configBytes = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [] },
      nonce: randomBytes(8).toString('hex'),
    }),
  );
  const config: Descriptor = {
    mediaType: kind === 'docker' ? MEDIA.dockerConfig : MEDIA.ociConfig,
    digest: await pushBlob(baseUrl, repo, configBytes),
    size: configBytes.length,
  };
  const layers: Descriptor[] = [];
  for (let i = 0; i < layerCount; i++) {
    const layer = randomBlob(512 + i);
    layers.push({
      mediaType: kind === 'docker' ? MEDIA.dockerLayer : MEDIA.ociLayer,
      digest: await pushBlob(baseUrl, repo, layer),
      size: layer.length,
    });
  }
  return { config, layers };
}

export function dockerManifest(config: Descriptor, layers: Descriptor[]): BuiltManifest {
  return manifestOf(MEDIA.dockerManifest, {
    schemaVersion: 2,
    mediaType: MEDIA.dockerManifest,
    config,
    layers,
  });
}

export function ociManifest(config: Descriptor, layers: Descriptor[], extra: Readonly<Record<string, unknown>> = {}): BuiltManifest {
  return manifestOf(MEDIA.ociManifest, {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config,
    layers,
    ...extra,
  });
}

export function dockerManifestList(children: BuiltManifest[]): BuiltManifest {
  return manifestOf(MEDIA.dockerList, {
    schemaVersion: 2,
    mediaType: MEDIA.dockerList,
    manifests: children.map((child, i) =>
      descriptorOf(child, { platform: { architecture: i % 2 === 0 ? 'amd64' : 'arm64', os: 'linux' } }),
    ),
  });
}

export function ociIndex(children: BuiltManifest[]): BuiltManifest {
  return manifestOf(MEDIA.ociIndex, {
    schemaVersion: 2,
    mediaType: MEDIA.ociIndex,
    manifests: children.map((child, i) =>
      descriptorOf(child, { platform: { architecture: i % 2 === 0 ? 'amd64' : 'arm64', os: 'linux' } }),
    ),
  });
}

/** The empty config descriptor OCI artifacts use. */
export const EMPTY_CONFIG: Descriptor = {
  mediaType: MEDIA.ociEmpty,
  digest: EMPTY_JSON_DIGEST,
  size: 2,
};

/** An OCI artifact manifest: artifactType set, the empty config, no layers. */
export function ociArtifactManifest(artifactType = 'application/vnd.example.berth.test+json'): BuiltManifest {
  return manifestOf(MEDIA.ociManifest, {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    artifactType,
    config: EMPTY_CONFIG,
    layers: [],
    annotations: { 'org.example.nonce': randomBytes(8).toString('hex') },
  });
}

/** PUT a manifest (Content-Type = its media type); returns the response with its body read. */
export async function putManifest(
  baseUrl: string,
  repo: string,
  reference: string,
  manifest: BuiltManifest,
  contentType: string = manifest.mediaType,
): Promise<{ response: Response; text: string }> {
  const response = await fetch(`${baseUrl}/v2/${repo}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'content-type': contentType },
    body: manifest.bytes,
  });
  return { response, text: await response.text() };
}

/** PUT a manifest and assert 201. */
export async function pushManifest(baseUrl: string, repo: string, reference: string, manifest: BuiltManifest): Promise<void> {
  const { response, text } = await putManifest(baseUrl, repo, reference, manifest);
  assert.equal(response.status, 201, `PUT manifest ${repo}:${reference}: ${text}`);
}

/** Pushes blobs and an image manifest (Docker schema2 or OCI) and tags it. */
export async function pushImage(baseUrl: string, repo: string, tag: string, kind: 'docker' | 'oci' = 'oci'): Promise<BuiltManifest> {
  const { config, layers } = await pushImageBlobs(baseUrl, repo, kind);
  const manifest = kind === 'docker' ? dockerManifest(config, layers) : ociManifest(config, layers);
  await pushManifest(baseUrl, repo, tag, manifest);
  return manifest;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

/** A request through node:http with the path sent exactly as given (fetch normalises "..", "//"). */
export function rawRequest(
  baseUrl: string,
  method: string,
  rawPath: string,
  headers: Readonly<Record<string, string>> = {},
  body?: Uint8Array,
): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port: Number(port), method, path: rawPath, headers: { ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Parses a raw OCI error body from a RawResponse and asserts its code. */
export function assertRawOciError(response: RawResponse, status: number, code: string): void {
  const text = response.body.toString();
  assert.equal(response.status, status, `expected ${status} ${code}, got ${response.status}: ${text}`);
  const contentType = response.headers['content-type'];
  assert.ok(typeof contentType === 'string' && /^application\/json\b/.test(contentType));
  const body = JSON.parse(text) as unknown;
  assert.ok(isOciErrorBody(body), `not an OCI error body: ${text}`);
  assert.ok(
    body.errors.some((error) => error.code === code),
    `expected code ${code} in ${text}`,
  );
}

/**
 * Sends one HEAD request over a bare socket with Connection: close and returns every byte the
 * server wrote after the header block, so a test can see a body that an HTTP client would hide.
 */
export function headWireBytes(
  baseUrl: string,
  path: string,
  headers: Readonly<Record<string, string>> = {},
): Promise<{ head: string; after: Buffer }> {
  const { hostname, port, host } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      if (split < 0) {
        reject(new Error(`no header block in ${all.toString()}`));
        return;
      }
      resolve({ head: all.subarray(0, split).toString(), after: all.subarray(split + 4) });
    });
    // Some servers keep the socket open after answering; give them time to write, then close.
    socket.setTimeout(2000, () => socket.end());
    const extra = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.write(`HEAD ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`);
  });
}

/** Parses a Link header of the form `<url>; rel="next"`; returns the URL or undefined. */
export function nextLink(header: string | null): string | undefined {
  if (header === null) return undefined;
  const match = /^<([^>]+)>;\s*rel="next"$/.exec(header.trim());
  assert.ok(match, `Link header not of the form <...>; rel="next": ${header}`);
  return match[1];
}

/** GET a JSON document, asserting 200. */
export async function getJson<T>(url: string | URL): Promise<{ response: Response; body: T }> {
  const response = await fetch(url);
  const text = await response.text();
  assert.equal(response.status, 200, `GET ${url.toString()}: ${text}`);
  return { response, body: JSON.parse(text) as T };
}

/** GET a manifest with every manifest type accepted; returns status, bytes and digest header. */
export async function fetchManifest(
  baseUrl: string,
  repo: string,
  reference: string,
): Promise<{ status: number; body: Buffer; digest: string | null; contentType: string | null }> {
  const response = await fetch(`${baseUrl}/v2/${repo}/manifests/${reference}`, {
    headers: { accept: ACCEPT_ALL_MANIFESTS },
  });
  const body = Buffer.from(await response.arrayBuffer());
  return {
    status: response.status,
    body,
    digest: response.headers.get('docker-content-digest'),
    contentType: response.headers.get('content-type'),
  };
}

/** The tags of a repository (GET tags/list, asserting 200); a null or missing list is empty. */
export async function listTagsOf(baseUrl: string, repo: string): Promise<string[]> {
  const { body } = await getJson<{ tags?: string[] | null }>(`${baseUrl}/v2/${repo}/tags/list`);
  return body.tags ?? [];
}

/** GET a blob and assert 200 and its exact bytes. */
export async function assertBlobReads(baseUrl: string, repo: string, data: Uint8Array): Promise<void> {
  const digest = sha256(data);
  const response = await fetch(`${baseUrl}/v2/${repo}/blobs/${digest}`);
  const body = Buffer.from(await response.arrayBuffer());
  assert.equal(response.status, 200, `GET blob ${digest} in ${repo}: ${body.subarray(0, 200).toString()}`);
  assert.equal(body.length, data.length, `length of ${digest} in ${repo}`);
  assert.ok(body.equals(data), `bytes of ${digest} in ${repo}`);
}
