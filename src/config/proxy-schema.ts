// The pull-through cache part of the configuration schema. Distribution's `proxy.remoteurl`,
// `proxy.username`, `proxy.password` and `proxy.ttl` configure one upstream for the root
// namespace, as registry:2 does; `proxy.upstreams` (Berth's) lists any number of upstreams,
// each serving a repository prefix or the root namespace, tried in order after the hosted
// repositories. maxage and maxsize (Berth's, per upstream and for proxy.remoteurl) bound what
// garbage collection keeps of each upstream's cached content.
import { z } from 'zod';
import { parseByteSize } from '../oci/byte-size.js';
import { durationFromConfigValue } from '../oci/duration.js';
import { duration, expectedGot, section, setting } from './setting.js';

export interface UpstreamConfig {
  /** A short name for logs and metrics. */
  name: string;
  /** Base URL of the upstream registry, e.g. https://registry-1.docker.io. */
  url: string;
  username: string | undefined;
  password: string | undefined;
  /**
   * The repository prefix this upstream serves: "docker.io" makes docker.io/library/alpine
   * the upstream's library/alpine. "" serves the root namespace (Docker's registry-mirrors).
   */
  namespace: string;
  /** Registry host names containerd's `?ns=` selects this upstream by. */
  hosts: string[];
  /** How long a cached tag is trusted before the upstream is asked again (0: every time). */
  tagTtlMs: number;
  /** Serve cached content when the upstream cannot be reached (stale-if-error). */
  offline: boolean;
  /** Allow loopback, link-local and private addresses for this upstream and its token realm. */
  allowPrivateAddresses: boolean;
  /** Garbage collection evicts cached manifests not pulled for this long (0: never by age). */
  maxAgeMs: number;
  /** Garbage collection evicts the least recently pulled content beyond this many bytes (undefined: no cap). */
  maxBytes: number | undefined;
}

export interface ProxyConfig {
  upstreams: UpstreamConfig[];
}

const UPSTREAM_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const NAMESPACE = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)?$/;
const HOST = /^[a-z0-9.-]+(?::\d{1,5})?$/;

const goDuration = z.union([z.string(), z.int().min(0)]).transform((value, ctx) => {
  try {
    return Math.ceil(durationFromConfigValue(value));
  } catch {
    ctx.issues.push({ code: 'custom', input: value, message: expectedGot('a Go duration such as "5m"', value) });
    return z.NEVER;
  }
});

const SIZE_EXPECTED = 'a number of bytes, or a number with a unit such as "50GiB" or "500MB"';

const byteSize = z.union([z.string(), z.int().min(0)]).transform((value, ctx) => {
  const bytes = parseByteSize(value);
  if (bytes === undefined) {
    ctx.issues.push({ code: 'custom', input: value, message: expectedGot(SIZE_EXPECTED, value) });
    return z.NEVER;
  }
  return bytes;
});

const upstream = z.strictObject({
  name: z.string().regex(UPSTREAM_NAME),
  url: z.string().refine((text) => /^https?:\/\/[^/?#]+\/?$/.test(text) && URL.canParse(text), {
    error: (issue) => expectedGot('the base URL of a registry, such as https://registry-1.docker.io', issue.input),
  }),
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  namespace: z.string().regex(NAMESPACE).default(''),
  hosts: z.array(z.string().toLowerCase().regex(HOST)).optional(),
  tagttl: goDuration.default(300_000),
  offline: z.boolean().default(true),
  allowprivateaddresses: z.boolean().default(false),
  maxage: goDuration.default(0),
  maxsize: byteSize.optional(),
});

export const proxySection = section({
  remoteurl: setting(z.url().optional(), {
    kind: 'string',
    origin: 'distribution',
    description:
      'A single upstream registry for the root namespace, as registry:2 proxies one (names are looked up in the hosted repositories first). Berth keeps accepting pushes.',
    expected: 'a URL such as https://registry-1.docker.io',
    defaultText: 'none',
  }),
  username: setting(z.string().min(1).optional(), {
    kind: 'string',
    origin: 'distribution',
    description: 'User name for proxy.remoteurl.',
    expected: 'a string',
    defaultText: 'none',
  }),
  password: setting(z.string().min(1).optional(), {
    kind: 'string',
    origin: 'distribution',
    description: 'Password for proxy.remoteurl; prefer the REGISTRY_PROXY_PASSWORD variable.',
    expected: 'a string',
    defaultText: 'none',
  }),
  ttl: duration({
    defaultText: '0s',
    minMs: 0,
    minText: '0s',
    info: {
      origin: 'distribution',
      description:
        'For proxy.remoteurl: how long a cached tag is trusted before the upstream is asked again (Distribution asks every time: 0s).',
    },
  }),
  maxage: duration({
    defaultText: '0s',
    minMs: 0,
    minText: '0s',
    info: {
      origin: 'berth',
      description:
        "For proxy.remoteurl: garbage collection evicts cached manifests (and then the blobs only they used) not pulled for this long; 0s never evicts by age. Distribution's proxy.ttl expires blobs instead; here ttl keeps its tag meaning.",
    },
  }),
  maxsize: setting(byteSize.optional(), {
    kind: 'string',
    origin: 'berth',
    description:
      'For proxy.remoteurl: most bytes of cached content (each distinct blob once); beyond it, garbage collection evicts the least recently pulled manifests first.',
    expected: SIZE_EXPECTED,
    defaultText: 'none',
  }),
  upstreams: setting(z.array(upstream).default([]), {
    kind: 'structured',
    origin: 'berth',
    description:
      'Upstream registries to cache, tried in order after the hosted repositories: name, url, username, password, namespace (repository prefix, "" for the root), hosts (for ?ns=), tagttl, offline, allowprivateaddresses, maxage and maxsize (eviction by garbage collection). See docs/proxy.md.',
    expected: 'a list of upstreams such as [{name: hub, url: "https://registry-1.docker.io", namespace: docker.io}]',
    defaultText: 'none',
  }),
});

type ProxyFile = z.output<typeof proxySection>;

/** Hosts an upstream answers for by default: its URL's host, and docker.io for Docker Hub. */
function defaultHosts(url: string): string[] {
  const host = new URL(url).host.toLowerCase();
  return host === 'registry-1.docker.io' || host === 'index.docker.io' ? [host, 'docker.io'] : [host];
}

export function toProxyConfig(proxy: ProxyFile): ProxyConfig {
  const upstreams: UpstreamConfig[] = proxy.upstreams.map((entry) => ({
    name: entry.name,
    url: entry.url.replace(/\/+$/, ''),
    username: entry.username,
    password: entry.password,
    namespace: entry.namespace,
    hosts: entry.hosts ?? defaultHosts(entry.url),
    tagTtlMs: entry.tagttl,
    offline: entry.offline,
    allowPrivateAddresses: entry.allowprivateaddresses,
    maxAgeMs: entry.maxage,
    maxBytes: entry.maxsize,
  }));
  if (proxy.remoteurl !== undefined) {
    upstreams.push({
      name: 'remote',
      url: proxy.remoteurl.replace(/\/+$/, ''),
      username: proxy.username,
      password: proxy.password,
      namespace: '',
      hosts: defaultHosts(proxy.remoteurl),
      tagTtlMs: proxy.ttl,
      offline: true,
      allowPrivateAddresses: false,
      maxAgeMs: proxy.maxage,
      maxBytes: proxy.maxsize,
    });
  }
  return { upstreams };
}

/** Combinations one key cannot check: unique upstream names. */
export function proxyIssues(proxy: ProxyFile): { path: string[]; message: string }[] {
  const seen = new Set<string>();
  const issues: { path: string[]; message: string }[] = [];
  for (const entry of proxy.upstreams) {
    if (seen.has(entry.name)) issues.push({ path: ['proxy', 'upstreams'], message: `upstream name "${entry.name}" is used twice` });
    seen.add(entry.name);
    if ((entry.username === undefined) !== (entry.password === undefined)) {
      issues.push({ path: ['proxy', 'upstreams'], message: `upstream "${entry.name}": give both username and password, or neither` });
    }
  }
  return issues;
}
