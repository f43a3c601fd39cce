// Request rate limits as Docker Hub has them: pulls (manifest GETs) and all other registry API
// requests are counted apart, anonymous callers per client address (IPv6 per /64) and signed-in
// callers per user (API tokens count for their owner; an external token server's tokens for their
// subject), each against its own limit per window. Exempt users and addresses are not counted.
// Counting is in memory and synchronous (window-counts.ts), so a request pays a map lookup and no
// I/O; with several replicas, shared-counts.ts adds the replicas' counts up in the background.
import { AddressRanges, countedAddress } from '../../oci/address-range.js';
import type { Principal } from '../principal.js';
import { WindowCounts } from './window-counts.js';

/** At most `limit` requests per `windowMs`. */
export interface RateLimitRule {
  readonly limit: number;
  readonly windowMs: number;
}

export interface RequestRateLimiterOptions {
  /** Undefined: that kind of request is not limited for those callers. */
  readonly anonymousPulls: RateLimitRule | undefined;
  readonly signedInPulls: RateLimitRule | undefined;
  readonly anonymousRequests: RateLimitRule | undefined;
  readonly signedInRequests: RateLimitRule | undefined;
  /** User names (and external token subjects) that are never limited. */
  readonly exemptUsers: readonly string[];
  /** Addresses and CIDR ranges that are never limited, whoever signs in from them. */
  readonly exemptAddresses: readonly string[];
  /** Keys held in memory at most (default 100,000); beyond, the oldest are forgotten. */
  readonly maxKeys?: number;
}

/** A pull is a manifest GET; everything else in the registry API is "other". */
export type RequestKind = 'pull' | 'other';

/** How a counted request stands against its limit. */
export interface RateLimitVerdict {
  readonly allowed: boolean;
  readonly limit: number;
  /** Requests left in the window after this one. */
  readonly remaining: number;
  readonly windowMs: number;
  /** Milliseconds until the window ends and the count starts again. */
  readonly resetMs: number;
  /** Whom the count belongs to: the client address (IPv6: its /64) or the user name. */
  readonly source: string;
  readonly signedIn: boolean;
}

interface Caller {
  readonly signedIn: boolean;
  /** The counts' keys: "pull|a:<address>", "other|u:<user>", ... */
  readonly keys: Readonly<Record<RequestKind, string>>;
  readonly source: string;
}

/** Anonymous callers remembered per address (exempt, or how they are counted), at most this many. */
const ADDRESS_MEMO_LIMIT = 10_000;

export class RequestRateLimiter {
  readonly counts: WindowCounts;
  private readonly exemptUsers: ReadonlySet<string>;
  private readonly exemptAddresses: AddressRanges;
  /** address -> its anonymous caller, or null when the address is exempt. */
  private readonly anonymousCallers = new Map<string, Caller | null>();

  constructor(
    private readonly options: RequestRateLimiterOptions,
    private readonly clock: () => number = Date.now,
  ) {
    this.counts = new WindowCounts(options.maxKeys);
    this.exemptUsers = new Set(options.exemptUsers);
    this.exemptAddresses = new AddressRanges(options.exemptAddresses);
  }

  /** Counts the request; undefined when it is not limited (no rule, or an exempt caller). */
  take(principal: Principal | undefined, address: string, kind: RequestKind): RateLimitVerdict | undefined {
    return this.judge(principal, address, kind, true);
  }

  /** Where the caller stands, without counting this request (a manifest HEAD shows the pull count). */
  peek(principal: Principal | undefined, address: string, kind: RequestKind): RateLimitVerdict | undefined {
    return this.judge(principal, address, kind, false);
  }

  private judge(principal: Principal | undefined, address: string, kind: RequestKind, count: boolean): RateLimitVerdict | undefined {
    const user = countedFor(principal);
    const signedIn = user !== '';
    const rule =
      kind === 'pull'
        ? signedIn
          ? this.options.signedInPulls
          : this.options.anonymousPulls
        : signedIn
          ? this.options.signedInRequests
          : this.options.anonymousRequests;
    if (rule === undefined) return undefined;
    const caller = signedIn ? this.signedInCaller(user, address) : this.anonymousCaller(address);
    if (caller === undefined) return undefined;
    const key = caller.keys[kind];
    const now = this.clock();
    const result = count
      ? this.counts.take(key, rule.limit, rule.windowMs, now)
      : { allowed: undefined, ...this.counts.peek(key, rule.windowMs, now) };
    return {
      allowed: result.allowed ?? result.count < rule.limit,
      limit: rule.limit,
      remaining: Math.max(0, rule.limit - result.count),
      windowMs: rule.windowMs,
      resetMs: result.windowEnd - now,
      source: caller.source,
      signedIn: caller.signedIn,
    };
  }

  /** Who is counted when signed in; undefined when exempt. */
  private signedInCaller(user: string, address: string): Caller | undefined {
    if (this.exemptUsers.has(user) || this.exemptAddresses.includes(address)) return undefined;
    return { signedIn: true, keys: { pull: `pull|u:${user}`, other: `other|u:${user}` }, source: user };
  }

  /** Who is counted when not signed in; undefined when exempt. Remembered per address. */
  private anonymousCaller(address: string): Caller | undefined {
    let caller = this.anonymousCallers.get(address);
    if (caller === undefined) {
      const counted = countedAddress(address);
      caller = this.exemptAddresses.includes(address)
        ? null
        : { signedIn: false, keys: { pull: `pull|a:${counted}`, other: `other|a:${counted}` }, source: counted };
      if (this.anonymousCallers.size >= ADDRESS_MEMO_LIMIT) this.anonymousCallers.clear();
      this.anonymousCallers.set(address, caller);
    }
    return caller ?? undefined;
  }
}

/** Whom a request counts for: the user (an API token's owner), an external token's or a CI job's subject; "" when anonymous. */
function countedFor(principal: Principal | undefined): string {
  switch (principal?.kind) {
    case 'user':
      return principal.name;
    case 'token':
      return principal.subject;
    case 'workload':
      return `workload:${principal.subject}`;
    default:
      return '';
  }
}
