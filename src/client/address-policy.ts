// Where the client may connect besides the configured upstream (SSRF protection): token realms
// and redirect targets come from the upstream's answers, so a hostile or compromised upstream
// could otherwise point the proxy at the metadata service, the admin port of a neighbour or any
// host on the private network. This module classifies IP addresses, checks target URLs, and
// provides the DNS lookup that re-checks resolved addresses at connect time (a name that
// resolved to a public address at check time may resolve to 127.0.0.1 a moment later).
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIPv4, isIPv6, type LookupFunction } from 'node:net';

export type AddressClass = 'public' | 'loopback' | 'link-local' | 'private' | 'unspecified' | 'multicast' | 'reserved';

/** The class of an IPv4 or IPv6 address (brackets and a zone id are tolerated); undefined if it is not one. */
export function classifyAddress(address: string): AddressClass | undefined {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const withoutZone = bare.includes('%') ? bare.slice(0, bare.indexOf('%')) : bare;
  if (isIPv4(withoutZone)) return classifyIPv4(ipv4Octets(withoutZone));
  if (isIPv6(withoutZone)) return classifyIPv6(ipv6Groups(withoutZone));
  return undefined;
}

/**
 * Whether a connection to an address of this class is allowed. Unspecified, multicast and
 * reserved addresses never name a registry (0.0.0.0 even reaches the local host), so they are
 * refused whatever allowPrivate says.
 */
export function isAllowedClass(kind: AddressClass, allowPrivate: boolean): boolean {
  switch (kind) {
    case 'public':
      return true;
    case 'loopback':
    case 'link-local':
    case 'private':
      return allowPrivate;
    case 'unspecified':
    case 'multicast':
    case 'reserved':
      return false;
  }
}

function ipv4Octets(address: string): number[] {
  return address.split('.').map((part) => Number.parseInt(part, 10));
}

function classifyIPv4(octets: readonly number[]): AddressClass {
  const [a = 0, b = 0] = octets;
  if (a === 0) return 'unspecified'; // 0/8, "this network"
  if (a === 127) return 'loopback';
  if (a === 10) return 'private';
  if (a === 172 && b >= 16 && b <= 31) return 'private';
  if (a === 192 && b === 168) return 'private';
  if (a === 100 && b >= 64 && b <= 127) return 'private'; // carrier-grade NAT, 100.64/10
  if (a === 198 && (b === 18 || b === 19)) return 'private'; // benchmarking, 198.18/15
  if (a === 169 && b === 254) return 'link-local'; // includes the cloud metadata service
  if (a >= 224 && a <= 239) return 'multicast';
  if (a >= 240) return 'reserved'; // 240/4 and the broadcast address
  return 'public';
}

/** The eight 16-bit groups of a valid IPv6 address (an embedded dotted quad included). */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase();
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = ipv4Octets(tail);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const gap = text.indexOf('::');
  if (gap === -1) return parse(text);
  const head = parse(text.slice(0, gap));
  const rest = parse(text.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
}

function classifyIPv6(groups: readonly number[]): AddressClass {
  const g = (index: number): number => groups[index] ?? 0;
  const embeddedIPv4 = (high: number, low: number): number[] => [high >> 8, high & 0xff, low >> 8, low & 0xff];
  const firstFiveZero = [0, 1, 2, 3, 4].every((index) => g(index) === 0);
  if (firstFiveZero && g(5) === 0) {
    if (g(6) === 0 && g(7) === 0) return 'unspecified';
    if (g(6) === 0 && g(7) === 1) return 'loopback';
    // IPv4-compatible ::a.b.c.d (deprecated): judge the IPv4 address it carries.
    return classifyIPv4(embeddedIPv4(g(6), g(7)));
  }
  // IPv4-mapped ::ffff:a.b.c.d reaches the IPv4 address on a dual-stack socket.
  if (firstFiveZero && g(5) === 0xffff) return classifyIPv4(embeddedIPv4(g(6), g(7)));
  // NAT64 64:ff9b::/96 is translated to the embedded IPv4 address.
  if (g(0) === 0x64 && g(1) === 0xff9b && [2, 3, 4, 5].every((index) => g(index) === 0)) {
    return classifyIPv4(embeddedIPv4(g(6), g(7)));
  }
  if (g(0) === 0x64 && g(1) === 0xff9b && g(2) === 1) return 'private'; // local-use NAT64, 64:ff9b:1::/48
  // 6to4 2002:AABB:CCDD::/48 tunnels to the IPv4 address AA.BB.CC.DD.
  if (g(0) === 0x2002) return classifyIPv4(embeddedIPv4(g(1), g(2)));
  if ((g(0) & 0xffc0) === 0xfe80) return 'link-local'; // fe80::/10
  if ((g(0) & 0xffc0) === 0xfec0) return 'private'; // site-local fec0::/10 (deprecated)
  if ((g(0) & 0xfe00) === 0xfc00) return 'private'; // unique local fc00::/7
  if ((g(0) & 0xff00) === 0xff00) return 'multicast';
  return 'public';
}

/** Why a target was refused; the transport turns it into UpstreamError('refused'). */
export class TargetRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetRefusedError';
  }
}

/** What the transport needs to know about a URL that passed checkTarget. */
export interface TargetVerdict {
  /** The configured upstream's own host: connect without address checks. */
  readonly trusted: boolean;
}

export interface TargetContext {
  /** The configured upstream URL. */
  readonly upstream: URL;
  /** The URL that sent us here (the redirecting response or the challenge); undefined for the upstream itself. */
  readonly from?: URL | undefined;
  readonly allowPrivateAddresses: boolean;
}

/**
 * Checks a realm or redirect target before any connection: scheme, no https -> http downgrade,
 * and, for an IP literal, its class (names are checked by guardedLookup at connect time).
 * Throws TargetRefusedError.
 */
export function checkTarget(target: URL, context: TargetContext): TargetVerdict {
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new TargetRefusedError(`refused ${target.protocol} URL: only http and https are allowed`);
  }
  const secure = context.upstream.protocol === 'https:' || context.from?.protocol === 'https:';
  if (secure && target.protocol !== 'https:') {
    throw new TargetRefusedError(`refused ${describeUrl(target)}: would downgrade https to http`);
  }
  if (target.host === context.upstream.host) return { trusted: true };
  const kind = classifyAddress(target.hostname);
  if (kind !== undefined && !isAllowedClass(kind, context.allowPrivateAddresses)) {
    throw new TargetRefusedError(`refused ${describeUrl(target)}: ${kind} address`);
  }
  return { trusted: false };
}

/**
 * A net.connect lookup that resolves the name and refuses the connection if any address it
 * resolves to is not allowed (refusing on any, rather than filtering, so that a name cannot
 * smuggle a private address in next to a public one). Node skips lookup for IP literals;
 * checkTarget judges those.
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) {
        callback(error, '', 0);
        return;
      }
      for (const entry of addresses) {
        const kind = classifyAddress(entry.address) ?? 'reserved';
        if (!isAllowedClass(kind, allowPrivate)) {
          callback(new TargetRefusedError(`refused ${hostname}: resolves to a ${kind} address`), '', 0);
          return;
        }
      }
      const first = addresses[0];
      if (options.all) callback(null, addresses);
      else if (first) callback(null, first.address, first.family);
      else callback(new TargetRefusedError(`refused ${hostname}: no addresses`), '', 0);
    });
  };
}

/** A URL for messages: origin and path only (a query may carry signatures or secrets). */
export function describeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}
