// Registry API steps the workloads share (blob uploads, mounts, manifest puts, paginated
// walks) and the small test image every target is seeded with. Each step checks the status
// the Distribution spec gives, so a broken server fails the run instead of looking fast.
import { blobBytes, sha256 } from './blob-data.js';
import { expectStatus, header, type HttpClient } from './http-client.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const MANIFEST_ACCEPT = [
  OCI_MANIFEST,
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export interface Blob {
  readonly bytes: Buffer;
  readonly digest: string;
}

export interface Image {
  readonly config: Blob;
  readonly layers: readonly Blob[];
  readonly manifest: Buffer;
  readonly manifestDigest: string;
}

export function blob(bytes: Buffer): Blob {
  return { bytes, digest: sha256(bytes) };
}

/** An OCI image manifest (and config) over the given layers. */
export function makeImage(layers: readonly Blob[], label: string): Image {
  const config = blob(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Labels: { 'org.opencontainers.image.title': label } },
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      }),
    ),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.bytes.length },
      layers: layers.map((l) => ({ mediaType: OCI_LAYER, digest: l.digest, size: l.bytes.length })),
    }),
  );
  return { config, layers, manifest, manifestDigest: sha256(manifest) };
}

/** The image behind the small-request workloads: three 4 KiB layers. */
export const smallImage = makeImage(
  [1, 2, 3].map((seed) => blob(blobBytes(seed, 4096))),
  'small',
);
/** A one-layer image (sharing the small image's first layer) for seeding many repositories cheaply. */
export const miniImage = makeImage(smallImage.layers.slice(0, 1), 'mini');

/** POST an upload session; the Location of the session, as a path. */
export async function startUpload(client: HttpClient, repo: string): Promise<string> {
  const started = await client.request('POST', `/v2/${repo}/blobs/uploads/`, { 'content-length': 0 });
  expectStatus(started, 202, `POST upload to ${repo}`);
  return client.resolve(header(started.headers, 'location'));
}

export function withDigest(location: string, digest: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
}

/** POST + PUT with the whole blob in the PUT, as containerd pushes. */
export async function pushBlob(client: HttpClient, repo: string, bytes: Buffer, digest: string): Promise<void> {
  const location = await startUpload(client, repo);
  const done = await client.request('PUT', withDigest(location, digest), { 'content-type': 'application/octet-stream' }, bytes);
  expectStatus(done, 201, `PUT blob ${digest} to ${repo}`);
}

/** Streams a large blob as POST + PUT. */
export async function pushBlobStream(
  client: HttpClient,
  repo: string,
  chunks: Iterable<Buffer>,
  size: number,
  digest: string,
): Promise<void> {
  const location = await startUpload(client, repo);
  const done = await client.upload('PUT', withDigest(location, digest), { 'content-type': 'application/octet-stream' }, chunks, size);
  expectStatus(done, 201, `PUT blob ${digest} to ${repo}`);
}

/** Cross-repository mount; both registries answer 201 when the source has the blob. */
export async function mountBlob(client: HttpClient, repo: string, from: string, digest: string): Promise<void> {
  const path = `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`;
  const mounted = await client.request('POST', path, { 'content-length': 0 });
  expectStatus(mounted, 201, `mount ${digest} from ${from} into ${repo}`);
}

export async function putManifest(client: HttpClient, repo: string, reference: string, image: Image): Promise<void> {
  const put = await client.request('PUT', `/v2/${repo}/manifests/${reference}`, { 'content-type': OCI_MANIFEST }, image.manifest);
  expectStatus(put, 201, `PUT manifest ${repo}:${reference}`);
}

/** Pushes every blob of the image (unless present) and the manifest under the tag. */
export async function pushImage(client: HttpClient, repo: string, tag: string, image: Image): Promise<void> {
  for (const b of [image.config, ...image.layers]) {
    const head = await client.request('HEAD', `/v2/${repo}/blobs/${b.digest}`);
    if (head.status !== 200) await pushBlob(client, repo, b.bytes, b.digest);
  }
  await putManifest(client, repo, tag, image);
}

/** Follows Link rel="next" from the first page; counts the entries under `key` and the pages. */
export async function walkPages(
  client: HttpClient,
  firstPath: string,
  key: 'repositories' | 'tags',
): Promise<{ pages: number; entries: number }> {
  let path: string | undefined = firstPath;
  let pages = 0;
  let entries = 0;
  while (path !== undefined) {
    const page = await client.request('GET', path);
    expectStatus(page, 200, `GET ${path}`);
    pages++;
    const list = (JSON.parse(page.body.toString('utf8')) as Record<string, unknown>)[key];
    entries += Array.isArray(list) ? list.length : 0;
    const next = /<([^>]+)>;\s*rel="?next"?/.exec(header(page.headers, 'link'));
    path = next?.[1] === undefined ? undefined : client.resolve(next[1]);
  }
  return { pages, entries };
}
