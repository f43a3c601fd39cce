// Helpers for the tests of lifecycle switches (immutability rules, read-only mode) against real
// servers with authentication: an htpasswd file with an administrator and a developer, small OCI
// artifacts pushed over HTTP with credentials (each one a distinct manifest), and polling a status
// until it changes (with a deadline, never asserting how long it took).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { callRegistry, type RegistryAnswer } from './call.js';
import { basicAuthorization } from './credentials.js';

export const ROOT = basicAuthorization('root', 'root-password');
export const DEV = basicAuthorization('dev', 'dev-password');

/** Writes an htpasswd file with root (an administrator in authConfig) and dev; returns its path. */
export async function writeUsers(dir: string): Promise<string> {
  const file = join(dir, 'htpasswd');
  await writeFile(file, `root:${bcrypt.hashSync('root-password', 4)}\ndev:${bcrypt.hashSync('dev-password', 4)}\n`);
  return file;
}

/** The auth section: Basic against the file, root an administrator, every signed-in user may push. */
export function authConfig(htpasswd: string): string {
  return ['auth:', `  htpasswd: {path: ${JSON.stringify(htpasswd)}}`, '  bcryptcost: 4', '  access:', '    admins: [root]'].join('\n');
}

const EMPTY_JSON = Buffer.from('{}');
const sha256 = (data: Uint8Array | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** An OCI artifact manifest on the empty config; each call a different one (a random annotation). */
export function artifact(): { bytes: Buffer; digest: string } {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.example.berth.test+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(EMPTY_JSON), size: 2 },
      layers: [],
      annotations: { 'org.example.nonce': randomBytes(8).toString('hex') },
    }),
  );
  return { bytes, digest: sha256(bytes) };
}

/** Pushes the empty config blob into the repository (a monolithic POST), which artifact() needs. */
export async function pushEmptyConfig(registry: { url: string }, repository: string, authorization = DEV): Promise<void> {
  const answer = await callRegistry(registry, 'POST', `/v2/${repository}/blobs/uploads/?digest=${sha256(EMPTY_JSON)}`, authorization, {
    body: EMPTY_JSON,
    headers: { 'content-type': 'application/octet-stream' },
  });
  assert.equal(answer.status, 201, answer.text);
}

/** PUTs a manifest by tag. */
export function putManifest(
  registry: { url: string },
  repository: string,
  tag: string,
  manifest: { bytes: Buffer },
  authorization = DEV,
): Promise<RegistryAnswer> {
  return callRegistry(registry, 'PUT', `/v2/${repository}/manifests/${tag}`, authorization, {
    body: manifest.bytes,
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
  });
}

/** The digest a tag names (HEAD), or undefined when it names nothing. */
export async function tagDigest(
  registry: { url: string },
  repository: string,
  tag: string,
  authorization = DEV,
): Promise<string | undefined> {
  const answer = await callRegistry(registry, 'HEAD', `/v2/${repository}/manifests/${tag}`, authorization, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  return answer.status === 200 ? (answer.headers.get('docker-content-digest') ?? undefined) : undefined;
}

/** The code and message of the first error of an OCI error body. */
export function firstError(answer: RegistryAnswer): { code: string; message: string } {
  const body = JSON.parse(answer.text) as { errors: { code: string; message: string }[] };
  const [error] = body.errors;
  assert.ok(error, answer.text);
  return { code: error.code, message: error.message };
}

/** Polls until `status()` answers `expected`; fails after the deadline. Returns the milliseconds it took. */
export async function waitForStatus(expected: number, status: () => Promise<number>, deadlineMs = 15_000): Promise<number> {
  const started = Date.now();
  let last = 0;
  while (Date.now() - started < deadlineMs) {
    last = await status();
    if (last === expected) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`still ${last} after ${deadlineMs} ms, expected ${expected}`);
}
