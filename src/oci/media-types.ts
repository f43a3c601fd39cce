// The media types Berth understands, and what kind of document each one is.

export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  ociNondistributableLayer: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociNondistributableLayerGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociNondistributableLayerZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
} as const;

/** An image manifest (config + layers) or an index (a list of manifests). */
export type ManifestKind = 'image' | 'index';

const kinds: ReadonlyMap<string, ManifestKind> = new Map([
  [MediaType.ociManifest, 'image'],
  [MediaType.dockerManifest, 'image'],
  [MediaType.ociIndex, 'index'],
  [MediaType.dockerManifestList, 'index'],
]);

export function manifestKindOf(mediaType: string): ManifestKind | undefined {
  return kinds.get(mediaType);
}

export const manifestMediaTypes: readonly string[] = [...kinds.keys()];

/** Layers that live outside the registry (Windows base layers): their blobs need not exist. */
export function isForeignLayer(mediaType: string): boolean {
  return (
    mediaType === MediaType.dockerForeignLayer ||
    mediaType === MediaType.ociNondistributableLayer ||
    mediaType === MediaType.ociNondistributableLayerGzip ||
    mediaType === MediaType.ociNondistributableLayerZstd
  );
}

/** Strips parameters and whitespace: "application/json; charset=utf-8" -> "application/json". */
export function bareMediaType(headerValue: string | undefined): string | undefined {
  if (headerValue === undefined) return undefined;
  const bare = headerValue.split(';')[0]?.trim().toLowerCase();
  return bare ? bare : undefined;
}
