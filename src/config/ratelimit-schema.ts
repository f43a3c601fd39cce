// The ratelimit section of the configuration schema (Berth's own): request rate limits as Docker
// Hub has them. Four limits, each a number of requests per window: pulls (manifest GETs) and
// every other registry API request, for anonymous callers (counted per client address) and for
// signed-in ones (counted per user). A limit of 0 is no limit, and all four are 0 by default, so
// rate limiting is off unless configured. Exempt users and address ranges are never limited;
// X-Forwarded-For is believed only from the proxies listed in trustedproxies.
import { z } from 'zod';
import { parseAddressRange } from '../oci/address-range.js';
import { duration, expectedGot, section, setting } from './setting.js';

/** One limit: at most `limit` requests per `windowMs`. */
export interface RateLimitRule {
  readonly limit: number;
  readonly windowMs: number;
}

export interface RateLimitConfig {
  /** Undefined: that kind of request is not limited. */
  readonly anonymousPulls: RateLimitRule | undefined;
  readonly signedInPulls: RateLimitRule | undefined;
  readonly anonymousRequests: RateLimitRule | undefined;
  readonly signedInRequests: RateLimitRule | undefined;
  readonly exemptUsers: readonly string[];
  /** Addresses and CIDR ranges ("10.0.0.0/8", "2001:db8::/32", "192.0.2.7"). */
  readonly exemptAddresses: readonly string[];
  readonly trustedProxies: readonly string[];
  /** How often each replica adds its counts to the shared ones (PostgreSQL metadata only). */
  readonly syncIntervalMs: number;
}

function rule(what: string, key: string) {
  return section({
    limit: setting(z.int().min(0).default(0), {
      kind: 'integer',
      origin: 'berth',
      description: `Most ${what} within each ratelimit.${key}.window; more get 429 TOOMANYREQUESTS with Retry-After. 0 means no limit.`,
      expected: 'a whole number, 0 for no limit',
      defaultText: '0',
    }),
    window: duration({
      defaultText: '6h',
      minMs: 1000,
      minText: '1s',
      info: { origin: 'berth', description: `The window of ratelimit.${key}.limit.` },
    }),
  });
}

/** A CIDR range or a single address, as node:net's BlockList takes it. */
const addressRange = z.string().refine((value) => parseAddressRange(value) !== undefined, {
  error: (issue) => expectedGot('an IP address or a CIDR range such as "10.0.0.0/8" or "2001:db8::/32"', issue.input),
});

function addressList(description: string) {
  return setting(z.array(addressRange).default([]), {
    kind: 'list',
    origin: 'berth',
    description: `${description} In the environment: separated by commas.`,
    expected: 'a list of IP addresses or CIDR ranges',
    defaultText: 'none',
  });
}

export const ratelimitSection = section({
  anonymouspulls: rule('pulls (manifest GETs) by callers who are not signed in, per client address,', 'anonymouspulls'),
  signedinpulls: rule('pulls (manifest GETs) by signed-in callers, per user,', 'signedinpulls'),
  anonymousrequests: rule(
    'other registry API requests (all but manifest GETs) by callers who are not signed in, per client address,',
    'anonymousrequests',
  ),
  signedinrequests: rule('other registry API requests (all but manifest GETs) by signed-in callers, per user,', 'signedinrequests'),
  exemptusers: setting(z.array(z.string().min(1)).default([]), {
    kind: 'list',
    origin: 'berth',
    description: 'Users (and external token subjects) never rate limited. In the environment: names separated by commas.',
    expected: 'a list of user names',
    defaultText: 'none',
  }),
  exemptaddresses: addressList('Client addresses and CIDR ranges never rate limited, whoever signs in from them.'),
  trustedproxies: addressList(
    'Load balancers and reverse proxies whose X-Forwarded-For names the client: from these peers the client address is the last X-Forwarded-For entry that is not itself a trusted proxy. From any other peer the header is ignored.',
  ),
  syncinterval: duration({
    defaultText: '1s',
    minMs: 10,
    minText: '10ms',
    info: {
      origin: 'berth',
      description:
        'With PostgreSQL metadata, how often each replica adds its counts to the shared counts and reads the others back; a replica may admit what it receives in one interval beyond a limit.',
    },
  }),
});

function toRule(value: { limit: number; window: number }): RateLimitRule | undefined {
  return value.limit === 0 ? undefined : { limit: value.limit, windowMs: value.window };
}

export function toRateLimitConfig(ratelimit: z.output<typeof ratelimitSection>): RateLimitConfig {
  return {
    anonymousPulls: toRule(ratelimit.anonymouspulls),
    signedInPulls: toRule(ratelimit.signedinpulls),
    anonymousRequests: toRule(ratelimit.anonymousrequests),
    signedInRequests: toRule(ratelimit.signedinrequests),
    exemptUsers: ratelimit.exemptusers,
    exemptAddresses: ratelimit.exemptaddresses,
    trustedProxies: ratelimit.trustedproxies,
    syncIntervalMs: ratelimit.syncinterval,
  };
}
