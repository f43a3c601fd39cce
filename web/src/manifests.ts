// The OCI and Docker manifest shapes the UI reads, and what it asks /v2/ for.

export const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

/** The config types of container images (an artifact has a type of its own). */
export const IMAGE_CONFIG_TYPES = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);

/** Every manifest type, so the registry answers with the manifest as pushed. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Record<string, string>;
  readonly platform?: Platform;
}

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export interface OciIndex {
  readonly mediaType?: string;
  readonly manifests: Descriptor[];
  readonly annotations?: Record<string, string>;
  readonly subject?: Descriptor;
}

export interface ImageManifest {
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly config: Descriptor;
  readonly layers: Descriptor[];
  readonly annotations?: Record<string, string>;
  readonly subject?: Descriptor;
}

/** An image configuration (the config blob), as far as the UI shows it. */
export interface ImageConfig {
  readonly os?: string;
  readonly architecture?: string;
  readonly variant?: string;
  readonly created?: string;
  readonly config?: {
    readonly Entrypoint?: string[] | null;
    readonly Cmd?: string[] | null;
    readonly Env?: string[] | null;
    readonly Labels?: Record<string, string> | null;
    readonly WorkingDir?: string;
    readonly User?: string;
    readonly ExposedPorts?: Record<string, unknown>;
  };
  readonly history?: { created?: string; created_by?: string; empty_layer?: boolean; comment?: string }[];
}

export function platformName(platform: Platform | undefined): string {
  if (platform === undefined) return 'unknown platform';
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

export function isIndex(manifest: OciIndex | ImageManifest, mediaType: string): manifest is OciIndex {
  return INDEX_TYPES.has(mediaType) || 'manifests' in manifest;
}
