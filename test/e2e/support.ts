// Shared assertions and small helpers for the end-to-end suites: byte comparisons that print
// digests instead of megabytes, OCI image layouts read back from disk, registry-side checks over
// plain HTTP, and the request lines of a client's --debug log.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { digestHex, parseImageIndex, parseImageManifest, sha256Digest, type ImageFile, type ImageManifest } from '../helpers/clients.js';
import type { TestRegistry } from '../helpers/registry.js';

/** Compares bytes by digest and length, so a mismatch of a 1 MiB file prints two lines. */
export function assertSameBytes(actual: Buffer | undefined, expected: Buffer, label: string): void {
  assert.ok(actual, `${label}: missing`);
  assert.equal(
    `${sha256Digest(actual)} (${actual.length} bytes)`,
    `${sha256Digest(expected)} (${expected.length} bytes)`,
    `${label}: content differs`,
  );
}

/** Every file the build added arrived with the same bytes. */
export function assertFiles(actual: ReadonlyMap<string, Buffer>, expected: readonly ImageFile[]): void {
  for (const file of expected) assertSameBytes(actual.get(file.path), file.content, file.path);
}

export function filePaths(files: readonly ImageFile[]): string[] {
  return files.map((file) => file.path);
}

export interface OciLayoutImage {
  readonly manifestDigest: string;
  readonly manifestBytes: Buffer;
  readonly manifest: ImageManifest;
  /** Blob bytes by digest (config and layers). */
  readonly blobs: ReadonlyMap<string, Buffer>;
}

/** Reads the image tagged `tag` from an OCI image layout directory. */
export async function readOciLayout(path: string, tag: string): Promise<OciLayoutImage> {
  const index = parseImageIndex(await readFile(join(path, 'index.json')));
  const descriptor = index.manifests.find((entry) => entry.annotations?.['org.opencontainers.image.ref.name'] === tag);
  assert.ok(descriptor, `tag ${tag} not in ${path}/index.json`);
  const blob = (digest: string): Promise<Buffer> => readFile(join(path, 'blobs', 'sha256', digestHex(digest)));
  const manifestBytes = await blob(descriptor.digest);
  const manifest = parseImageManifest(manifestBytes);
  const blobs = new Map<string, Buffer>();
  for (const entry of [manifest.config, ...manifest.layers]) blobs.set(entry.digest, await blob(entry.digest));
  return { manifestDigest: descriptor.digest, manifestBytes, manifest, blobs };
}

/** HEAD /v2/<repo>/blobs/<digest> status, straight at the registry. */
export async function blobStatus(baseUrl: string, repo: string, digest: string): Promise<number> {
  const response = await fetch(`${baseUrl}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
  await response.arrayBuffer();
  return response.status;
}

/** "METHOD URL" for every HTTP request in a containers/image --debug log. */
export function requestLines(debugOutput: string): string[] {
  const lines: string[] = [];
  for (const match of debugOutput.matchAll(/msg="(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+)"/g)) {
    lines.push(`${match[1] ?? ''} ${match[2] ?? ''}`);
  }
  return lines;
}

/** Requests in a debug log that start or continue a blob upload (a mount is a POST with ?mount=). */
export function uploadRequests(debugOutput: string): string[] {
  return requestLines(debugOutput).filter((line) => /\/blobs\/uploads\//.test(line) && !/[?&]mount=/.test(line));
}

/**
 * Stops a suite's registry. With BERTH_E2E_REGISTRY_LOG=1 it first prints everything the
 * registry logged, which is the quickest way to see why a client's request failed.
 */
export async function stopRegistry(registry: TestRegistry | undefined): Promise<void> {
  if (!registry) return;
  if (process.env.BERTH_E2E_REGISTRY_LOG === '1') {
    process.stderr.write(`--- ${registry.target} registry log (${registry.url}) ---\n${registry.output()}\n`);
  }
  await registry.stop();
}
