// Where manifest and blob reads come from: the registry itself, or, when upstreams are
// configured, the pull-through cache in front of it (hosted content first, then upstreams).
// Read handlers go through here, so they need not know whether a proxy exists. containerd's
// `?ns=<registry host>` selects the upstream and is echoed in OCI-Namespace. HEADs, which
// clients send before pushing, answer 404 for what Berth does not hold while upstreams are down.
import { RegistryError } from '../errors/index.js';
import type { ByteRange, Digest, RepositoryName } from '../oci/index.js';
import type { UpstreamSelection } from '../proxy/index.js';
import type { BlobContent, Reference, StoredManifest } from '../registry/index.js';
import type { RequestContext } from './context.js';

export interface ContentSource {
  getManifest(repository: RepositoryName, reference: Reference, accept: readonly string[]): Promise<StoredManifest & { bytes: Buffer }>;
  /** HEAD: content Berth does not hold is MANIFEST_UNKNOWN also when an upstream cannot be asked. */
  describeManifest(repository: RepositoryName, reference: Reference, accept: readonly string[]): Promise<StoredManifest>;
  /** HEAD: clients ask before pushing a blob, so an upstream that cannot be asked makes a miss (404), not a 502. */
  headBlob(repository: RepositoryName, digest: Digest): Promise<{ size: number }>;
  /** The size before a ranged read: an upstream that cannot be asked is UPSTREAM_UNAVAILABLE. */
  statBlob(repository: RepositoryName, digest: Digest): Promise<{ size: number }>;
  openBlob(repository: RepositoryName, digest: Digest, range: ByteRange | undefined): Promise<BlobContent>;
  /** A pre-signed URL of the object store holding the blob, when redirects are on. */
  redirectUrl(repository: RepositoryName, digest: Digest): Promise<string | undefined>;
}

export function contentSource(ctx: RequestContext): ContentSource {
  const proxy = ctx.proxy;
  if (proxy === undefined) {
    const { manifests, blobs } = ctx.registry;
    return {
      getManifest: (repository, reference, accept) => manifests.get(repository, reference, accept),
      describeManifest: (repository, reference, accept) => manifests.describe(repository, reference, accept),
      headBlob: (repository, digest) => blobs.stat(repository, digest),
      statBlob: (repository, digest) => blobs.stat(repository, digest),
      openBlob: (repository, digest, range) => blobs.open(repository, digest, range, ctx.signal),
      redirectUrl: (repository, digest) => blobs.redirectUrl(repository, digest),
    };
  }
  const ns = ctx.query.get('ns') ?? undefined;
  if (ns !== undefined) ctx.reply.header('OCI-Namespace', ns);
  const selection: UpstreamSelection = { ns: ns?.toLowerCase() };
  return {
    getManifest: (repository, reference, accept) => proxy.getManifest(repository, reference, accept, selection, ctx.signal),
    describeManifest: (repository, reference, accept) =>
      proxy.describeManifest(repository, reference, accept, selection, ctx.signal, 'miss'),
    headBlob: (repository, digest) => proxy.statBlob(repository, digest, selection, ctx.signal, 'miss'),
    statBlob: (repository, digest) => proxy.statBlob(repository, digest, selection, ctx.signal),
    openBlob: (repository, digest, range) => proxy.openBlob(repository, digest, range, selection, ctx.signal),
    // Only a blob already in the cache can be redirected to; a miss is fetched through Berth.
    redirectUrl: (repository, digest) =>
      ctx.registry.blobs.redirectUrl(repository, digest).catch((error: unknown) => {
        if (error instanceof RegistryError && error.errorName === 'BLOB_UNKNOWN') return undefined;
        throw error;
      }),
  };
}

/** Refuses a push into a repository that only an upstream serves (under its prefix namespace). */
export function assertHosted(ctx: RequestContext, repository: RepositoryName): void {
  if (ctx.proxy?.isProxiedOnly(repository)) {
    throw new RegistryError('UNSUPPORTED', { repository }, { message: `${repository} is a cache of an upstream registry: push to a hosted name instead` });
  }
}
