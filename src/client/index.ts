// The OCI distribution client: what the pull-through cache (and the CLI and tests) use to pull
// manifests and blobs from an upstream registry.
export {
  RegistryClient,
  type BlobResponse,
  type ManifestHead,
  type ManifestResponse,
  type RegistryClientOptions,
  type UpstreamEndpoint,
} from './registry-client.js';
export { UpstreamError, type UpstreamErrorKind } from './upstream-error.js';
export { untilSettled } from './abort.js';
