// Client addresses and CIDR ranges, as the rate limits' exemptions and trusted proxies name them:
// parsing "10.0.0.0/8", "2001:db8::/32" or a bare address, a set of ranges to test addresses
// against (node:net's BlockList), and the form an address is counted under (IPv4-mapped IPv6
// addresses as IPv4; other IPv6 addresses by their /64, which one host usually holds whole).
import { BlockList, isIP } from 'node:net';

/** [address, prefix length, family] of "a.b.c.d/n", "x::/n" or a bare address; undefined if neither. */
export function parseAddressRange(value: string): [string, number, 'ipv4' | 'ipv6'] | undefined {
  const slash = value.indexOf('/');
  const address = slash === -1 ? value : value.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return undefined;
  const bits = version === 4 ? 32 : 128;
  const prefixText = slash === -1 ? String(bits) : value.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) return undefined;
  return [address, Number(prefixText), version === 4 ? 'ipv4' : 'ipv6'];
}

/** Answers remembered per address (BlockList.check costs microseconds; a request may not). */
const MEMO_LIMIT = 10_000;

/** A set of address ranges; `includes` answers false for anything that is not an address. */
export class AddressRanges {
  private readonly list = new BlockList();
  private readonly memo = new Map<string, boolean>();
  readonly empty: boolean;

  /** Ranges that do not parse are left out (the configuration schema refuses them first). */
  constructor(ranges: readonly string[]) {
    let added = 0;
    for (const range of ranges) {
      const parsed = parseAddressRange(range);
      if (parsed === undefined) continue;
      this.list.addSubnet(parsed[0], parsed[1], parsed[2]);
      added++;
    }
    this.empty = added === 0;
  }

  includes(address: string): boolean {
    if (this.empty) return false;
    const known = this.memo.get(address);
    if (known !== undefined) return known;
    const version = isIP(address);
    // BlockList matches an IPv4-mapped IPv6 address against IPv4 ranges itself.
    const included = version !== 0 && this.list.check(address, version === 4 ? 'ipv4' : 'ipv6');
    // Bounded: a flood of addresses starts the memo afresh rather than growing it.
    if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
    this.memo.set(address, included);
    return included;
  }
}

/**
 * The form an address is counted under: IPv4 as is, an IPv4-mapped IPv6 address (how a dual-stack
 * socket reports IPv4 clients) as IPv4, any other IPv6 address as its /64 ("2001:db8:1:2::/64"),
 * since one host commonly holds a whole /64 and could otherwise count afresh with each address.
 */
export function countedAddress(address: string): string {
  const version = isIP(address);
  if (version !== 6) return address;
  const lower = address.toLowerCase();
  if (lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4) return lower.slice(7);
  const groups = ipv6Groups(lower);
  return groups === undefined ? lower : `${groups.slice(0, 4).join(':')}::/64`;
}

/** The eight groups of an IPv6 address, without leading zeros; undefined when it is not one. */
function ipv6Groups(address: string): string[] | undefined {
  const zone = address.indexOf('%');
  const bare = zone === -1 ? address : address.slice(0, zone);
  const [head = '', tail] = bare.split('::');
  const parse = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  // An embedded IPv4 tail ("::1.2.3.4") stands for two groups.
  const last = right.length > 0 ? right[right.length - 1] : left[left.length - 1];
  const extra = last?.includes('.') ? 1 : 0;
  const missing = 8 - left.length - right.length - extra;
  if (tail === undefined && missing !== 0) return undefined;
  const groups = [...left, ...Array.from({ length: Math.max(0, missing) }, () => '0'), ...right];
  return groups.map((group) => (group.includes('.') ? group : group.replace(/^0+(?=.)/, '')));
}
