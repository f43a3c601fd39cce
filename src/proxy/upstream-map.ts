// Which upstreams serve a repository name, and under which name the upstream knows it. Pure
// functions over the upstreams' options, so the mapping rules are tested on their own.
import type { UpstreamOptions } from './options.js';

/** Hosts whose registry keeps official images under library/ (Docker Hub). */
const DOCKER_HUB_HOSTS = new Set(['registry-1.docker.io', 'index.docker.io', 'docker.io']);

/**
 * The repository name to ask the upstream for, or undefined when the upstream does not serve
 * the name: a root upstream ("") gets the name as it is; a prefix upstream gets the part after
 * its namespace, which must end at a path boundary (docker.io serves docker.io/library/alpine
 * as library/alpine, not docker.iox/alpine nor docker.io itself). With containerd's ?ns=, the
 * client names the registry by host and sends the upstream's own repository name, so an
 * upstream selected by that host also gets a name outside its prefix as it is.
 */
export function upstreamRepositoryName(
  config: Pick<UpstreamOptions, 'namespace' | 'url' | 'hosts'>,
  repository: string,
  ns?: string | undefined,
): string | undefined {
  if (config.namespace === '') return repository;
  if (!repository.startsWith(`${config.namespace}/`)) {
    return ns !== undefined && selectedBy(config, ns) ? repository : undefined;
  }
  const rest = repository.slice(config.namespace.length + 1);
  // docker.io/alpine means docker.io/library/alpine, as `docker pull alpine` does.
  if (!rest.includes('/') && isDockerHub(config.url)) return `library/${rest}`;
  return rest;
}

/** Whether the upstream is under a prefix namespace that contains the repository (pushes refused there). */
export function isUnderPrefix(config: Pick<UpstreamOptions, 'namespace'>, repository: string): boolean {
  return config.namespace !== '' && (repository === config.namespace || repository.startsWith(`${config.namespace}/`));
}

/** Whether containerd's ?ns= value selects the upstream (undefined selects every upstream). */
export function selectedBy(config: Pick<UpstreamOptions, 'hosts'>, ns: string | undefined): boolean {
  return ns === undefined || config.hosts.includes(ns.toLowerCase());
}

function isDockerHub(url: string): boolean {
  try {
    return DOCKER_HUB_HOSTS.has(new URL(url).hostname.toLowerCase());
  } catch {
    return false;
  }
}
