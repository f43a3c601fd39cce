// Parsing of http.addr, which Distribution writes as Go's "host:port" (":5000" for every
// interface, "[::1]:5000" for IPv6). Kept apart from the schema so it can be tested alone.

export interface ListenAddress {
  host: string;
  port: number;
}

/** The host that ":port" (no host) means: every IPv4 interface. */
export const ALL_INTERFACES = '0.0.0.0';

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const IPV6 = /^[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?$/;

/** Returns the address, or a reason it is not one (the caller names the key). */
export function parseListenAddress(text: string): ListenAddress | { error: string } {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return { error: 'an IPv6 host must be written as [addr]:port' };
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (!IPV6.test(host) || !host.includes(':')) return { error: `${JSON.stringify(host)} is not an IPv6 address` };
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) {
      return /^\d+$/.test(text) ? { error: `write ":${text}" to listen on every interface` } : { error: 'the port is missing' };
    }
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    // Go's SplitHostPort rejects "::1:5000" too: an IPv6 host needs brackets.
    if (host.includes(':')) return { error: 'an IPv6 host must be written as [addr]:port' };
    if (host !== '' && !HOSTNAME.test(host)) return { error: `${JSON.stringify(host)} is not a host name or IP address` };
  }
  if (!/^\d{1,5}$/.test(portText)) return { error: `${JSON.stringify(portText)} is not a port number` };
  const port = Number(portText);
  if (port > 65535) return { error: `port ${port} is above 65535` };
  return { host: host === '' ? ALL_INTERFACES : host, port };
}
