// Pushing and checking small images over the registry API, as the garbage-collection tests need:
// blobs pushed monolithically or in chunks (the two ways bytes reach their address), mounts,
// image manifests and indexes, and a pull that checks every byte against its digest.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface Target {
  readonly url: string;
}

export interface Blob {
  readonly bytes: Buffer;
  readonly digest: string;
}

export const sha256 = (data: Uint8Array | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export function blobOf(bytes: Buffer): Blob {
  return { bytes, digest: sha256(bytes) };
}

export function randomBlob(size = 256 + Math.floor(Math.random() * 2048)): Blob {
  return blobOf(randomBytes(size));
}

function headers(authorization: string | undefined, extra: Record<string, string> = {}): Record<string, string> {
  return { ...(authorization === undefined ? {} : { authorization }), ...extra };
}

/** Uploads a blob: one POST with the body (monolithic), or POST + PATCH + PUT (chunked, moved into place). */
export async function pushBlob(
  target: Target,
  repository: string,
  blob: Blob,
  how: 'monolithic' | 'chunked',
  authorization?: string,
): Promise<number> {
  if (how === 'monolithic') {
    const response = await fetch(new URL(`/v2/${repository}/blobs/uploads/?digest=${blob.digest}`, target.url), {
      method: 'POST',
      headers: headers(authorization, { 'content-type': 'application/octet-stream' }),
      body: blob.bytes,
    });
    await response.arrayBuffer();
    return response.status;
  }
  const started = await fetch(new URL(`/v2/${repository}/blobs/uploads/`, target.url), { method: 'POST', headers: headers(authorization) });
  await started.arrayBuffer();
  if (started.status !== 202) return started.status;
  const location = new URL(started.headers.get('location') ?? '', target.url);
  const patched = await fetch(location, {
    method: 'PATCH',
    headers: headers(authorization, { 'content-type': 'application/octet-stream' }),
    body: blob.bytes,
  });
  await patched.arrayBuffer();
  if (patched.status !== 202) return patched.status;
  const done = new URL(patched.headers.get('location') ?? '', target.url);
  done.searchParams.set('digest', blob.digest);
  const put = await fetch(done, { method: 'PUT', headers: headers(authorization) });
  await put.arrayBuffer();
  return put.status;
}

/** Whether the repository has the blob (HEAD), as a client checks before uploading. */
export async function hasBlob(target: Target, repository: string, digest: string, authorization?: string): Promise<boolean> {
  const response = await fetch(new URL(`/v2/${repository}/blobs/${digest}`, target.url), {
    method: 'HEAD',
    headers: headers(authorization),
  });
  return response.status === 200;
}

/** A cross-repository mount; true when mounted (201), false when the registry started an upload instead. */
export async function mountBlob(
  target: Target,
  repository: string,
  from: string,
  digest: string,
  authorization?: string,
): Promise<boolean> {
  const response = await fetch(new URL(`/v2/${repository}/blobs/uploads/?mount=${digest}&from=${from}`, target.url), {
    method: 'POST',
    headers: headers(authorization),
  });
  await response.arrayBuffer();
  if (response.status === 202) {
    // Not mounted: give the upload back.
    const location = response.headers.get('location');
    if (location)
      await fetch(new URL(location, target.url), { method: 'DELETE', headers: headers(authorization) }).then((r) => r.arrayBuffer());
  }
  return response.status === 201;
}

export function imageManifest(config: Blob, layers: readonly Blob[], subject?: { digest: string; size: number }): Blob {
  return blobOf(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.bytes.length },
        layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l.digest, size: l.bytes.length })),
        ...(subject ? { subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...subject } } : {}),
      }),
    ),
  );
}

export function imageIndex(children: readonly Blob[]): Blob {
  return blobOf(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: children.map((c, i) => ({
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: c.digest,
          size: c.bytes.length,
          platform: { os: 'linux', architecture: ['amd64', 'arm64', 's390x', 'ppc64le'][i % 4] },
        })),
      }),
    ),
  );
}

export async function putManifest(
  target: Target,
  repository: string,
  reference: string,
  manifest: Blob,
  authorization?: string,
): Promise<number> {
  const mediaType = (JSON.parse(manifest.bytes.toString()) as { mediaType: string }).mediaType;
  const response = await fetch(new URL(`/v2/${repository}/manifests/${reference}`, target.url), {
    method: 'PUT',
    headers: headers(authorization, { 'content-type': mediaType }),
    body: manifest.bytes,
  });
  await response.arrayBuffer();
  return response.status;
}

export async function deleteReference(target: Target, repository: string, reference: string, authorization?: string): Promise<number> {
  const response = await fetch(new URL(`/v2/${repository}/manifests/${reference}`, target.url), {
    method: 'DELETE',
    headers: headers(authorization),
  });
  await response.arrayBuffer();
  return response.status;
}

/** Pushes config, layers and the manifest under a tag; returns the manifest PUT's status. */
export async function pushImage(
  target: Target,
  repository: string,
  tag: string,
  image: { config: Blob; layers: readonly Blob[]; manifest: Blob },
  authorization?: string,
): Promise<number> {
  for (const blob of [image.config, ...image.layers]) {
    if (await hasBlob(target, repository, blob.digest, authorization)) continue;
    const status = await pushBlob(target, repository, blob, blob.bytes.length % 2 === 0 ? 'monolithic' : 'chunked', authorization);
    if (status !== 201) return status;
  }
  return putManifest(target, repository, tag, image.manifest, authorization);
}

export function newImage(layers: readonly Blob[] = [randomBlob(), randomBlob()]): {
  config: Blob;
  layers: readonly Blob[];
  manifest: Blob;
} {
  const config = blobOf(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: randomBytes(8).toString('hex') })));
  return { config, layers, manifest: imageManifest(config, layers) };
}

/** GETs a manifest by reference and returns its digest, or undefined when the registry has none. */
export async function manifestDigest(
  target: Target,
  repository: string,
  reference: string,
  authorization?: string,
): Promise<string | undefined> {
  const response = await fetch(new URL(`/v2/${repository}/manifests/${reference}`, target.url), {
    headers: headers(authorization, {
      accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json',
    }),
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  if (response.status === 404) return undefined;
  assert.equal(response.status, 200, `GET manifest ${repository}:${reference}: ${bytes.toString()}`);
  return sha256(bytes);
}

/**
 * Pulls an image by reference as a client would: the manifest (and, for an index, every child),
 * then every blob, each checked against its digest. Throws on any missing or damaged byte.
 */
export async function pullAndVerify(target: Target, repository: string, reference: string, authorization?: string): Promise<void> {
  const response = await fetch(new URL(`/v2/${repository}/manifests/${reference}`, target.url), {
    headers: headers(authorization, {
      accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json',
    }),
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  assert.equal(response.status, 200, `GET manifest ${repository}:${reference}: ${bytes.toString()}`);
  if (reference.startsWith('sha256:')) assert.equal(sha256(bytes), reference, 'manifest bytes match their digest');
  const manifest = JSON.parse(bytes.toString()) as {
    manifests?: { digest: string }[];
    config?: { digest: string };
    layers?: { digest: string }[];
  };
  for (const child of manifest.manifests ?? []) await pullAndVerify(target, repository, child.digest, authorization);
  for (const blob of [...(manifest.config ? [manifest.config] : []), ...(manifest.layers ?? [])]) {
    const got = await fetch(new URL(`/v2/${repository}/blobs/${blob.digest}`, target.url), { headers: headers(authorization) });
    const content = Buffer.from(await got.arrayBuffer());
    assert.equal(got.status, 200, `GET blob ${repository}@${blob.digest}: ${content.toString().slice(0, 200)}`);
    assert.equal(sha256(content), blob.digest, `blob ${repository}@${blob.digest} bytes match their digest`);
  }
}

/** Every file below blobs/ of a filesystem store (the bytes GC must account for). */
export async function storedBlobFiles(root: string): Promise<string[]> {
  const files: string[] = [];
  async function walk(dir: string): Promise<void> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else files.push(path);
    }
  }
  await walk(join(root, 'blobs'));
  return files.sort();
}
