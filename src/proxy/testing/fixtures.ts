// Test fixtures for the pull-through cache: images pushed to a real upstream over HTTP, upstream
// entries as the server would build them, a hand-made upstream for answers no registry gives,
// and helpers to read streams and count upstream requests in an access log. The local Registry
// comes from src/registry/testing.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { RegistryClient } from '../../client/index.js';
import { Digest, MediaType, parseRepositoryName, type RepositoryName } from '../../oci/index.js';
import type { ProxyLogger, Upstream, UpstreamOptions } from '../index.js';

export function upstream(url: string, overrides: Partial<UpstreamOptions> = {}): Upstream {
  const config: UpstreamOptions = {
    name: 'up',
    url,
    namespace: '',
    hosts: [new URL(url).host],
    tagTtlMs: 60_000,
    offline: true,
    ...overrides,
  };
  return { config, client: new RegistryClient({ name: config.name, url: config.url, allowPrivateAddresses: true }) };
}

/** A logger that keeps what it was told, for assertions on the stale-serve line. */
export function memoryLogger(): ProxyLogger & { readonly lines: { level: string; msg: string; obj: object }[] } {
  const lines: { level: string; msg: string; obj: object }[] = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', msg, obj }),
    warn: (obj, msg) => lines.push({ level: 'warn', msg, obj }),
  };
}

export const sha256 = (bytes: Uint8Array): string => Digest.of(bytes).toString();

export function name(value: string): RepositoryName {
  return parseRepositoryName(value);
}

export interface PushedImage {
  readonly manifest: Buffer;
  readonly digest: Digest;
  readonly config: Buffer;
  readonly layers: readonly Buffer[];
}

export function imageManifest(config: Buffer, layers: readonly Buffer[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: sha256(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(l), size: l.length })),
    }),
  );
}

export async function pushBlob(baseUrl: string, repository: string, bytes: Buffer): Promise<void> {
  const response = await fetch(`${baseUrl}/v2/${repository}/blobs/uploads/?digest=${sha256(bytes)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  await response.arrayBuffer();
  if (response.status !== 201) throw new Error(`blob push to ${repository} answered ${response.status}`);
}

export async function pushManifest(
  baseUrl: string,
  repository: string,
  reference: string,
  bytes: Buffer,
  mediaType: string = MediaType.ociManifest,
): Promise<Digest> {
  const response = await fetch(`${baseUrl}/v2/${repository}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'content-type': mediaType },
    body: bytes,
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`manifest push to ${repository}:${reference} answered ${response.status}: ${text}`);
  return Digest.of(bytes);
}

/** Pushes a small random image (config and the given layers, or one random layer) under a tag. */
export async function pushImage(baseUrl: string, repository: string, tag: string, layers?: readonly Buffer[]): Promise<PushedImage> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', seed: randomBytes(8).toString('hex') }));
  const allLayers = layers ?? [randomBytes(64 * 1024 + 7)];
  for (const blob of [config, ...allLayers]) await pushBlob(baseUrl, repository, blob);
  const manifest = imageManifest(config, allLayers);
  const digest = await pushManifest(baseUrl, repository, tag, manifest);
  return { manifest, digest, config, layers: allLayers };
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Access-log lines of a Berth process (one JSON object per request) with this method and URL path. */
export function countRequests(output: string, method: string, path: string): number {
  let count = 0;
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; method?: string; url?: string };
      if (entry.msg === 'request' && entry.method === method && entry.url?.split('?')[0] === path) count++;
    } catch {
      // not a log line
    }
  }
  return count;
}

export interface TestUpstream {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** Cuts open connections and stops listening. */
  close(): Promise<void>;
}

/**
 * A registry on loopback that answers what the test wants, for answers no real registry gives
 * (tampered bytes, a body held back or cut off): /v2/ answers 200, `route` answers the rest by
 * path (without the query) and returns false for a 404.
 */
export async function testUpstream(
  route: (path: string, request: IncomingMessage, response: ServerResponse) => boolean,
): Promise<TestUpstream> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0] ?? '';
    if (path === '/v2/' || path === '/v2') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    if (route(path, request, response)) return;
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"NOT_FOUND","message":"no"}]}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
