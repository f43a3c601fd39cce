// What the pull-through cache needs to know of each upstream, as the composition root maps it
// from the configuration (proxy.upstreams, proxy.remoteurl). Credentials and address policy are
// the upstream client's (src/client), so they are not here.
export interface UpstreamOptions {
  /** A short name for logs, metrics and the cache's records. */
  readonly name: string;
  /** Base URL of the upstream registry, e.g. https://registry-1.docker.io. */
  readonly url: string;
  /**
   * The repository prefix this upstream serves: "docker.io" makes docker.io/library/alpine
   * the upstream's library/alpine. "" serves the root namespace (Docker's registry-mirrors).
   */
  readonly namespace: string;
  /** Registry host names containerd's `?ns=` selects this upstream by. */
  readonly hosts: readonly string[];
  /** How long a cached tag is trusted before the upstream is asked again (0: every time). */
  readonly tagTtlMs: number;
  /** Serve cached content when the upstream cannot be reached (stale-if-error). */
  readonly offline: boolean;
}
