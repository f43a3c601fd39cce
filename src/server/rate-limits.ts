// Wires the request rate limits (config ratelimit) into the HTTP app: the limiter with its rules
// and exemptions, the trusted proxies whose X-Forwarded-For is believed, and, when the metadata is
// on PostgreSQL (where several replicas may serve one registry), the background sync that adds the
// replicas' counts up in the database. Nothing at all when no limit is configured.
import { RequestRateLimiter } from '../auth/rate-limits/request-rate-limiter.js';
import { SharedCountSync } from '../auth/rate-limits/shared-counts.js';
import type { Config } from '../config/index.js';
import type { HttpRateLimits } from '../http/rate-limit-gate.js';
import { RateLimitCounters } from '../metadata/rate-limit-counters.js';
import type { MetadataDatabase } from '../metadata/index.js';
import { AddressRanges } from '../oci/address-range.js';
import type { Logger } from 'pino';

export interface RateLimits {
  readonly http: HttpRateLimits;
  /** Stops the sync after sharing what is left. */
  stop(): Promise<void>;
}

/** The rate limits, or undefined when none is configured. `shared`: the PostgreSQL database. */
export function openRateLimits(config: Config, shared: MetadataDatabase | undefined, logger: Logger): RateLimits | undefined {
  const rules = config.ratelimit;
  const configured = [rules.anonymousPulls, rules.signedInPulls, rules.anonymousRequests, rules.signedInRequests];
  if (configured.every((rule) => rule === undefined)) return undefined;
  const limiter = new RequestRateLimiter(rules);
  let lastWarning = 0;
  const sync =
    shared === undefined
      ? undefined
      : new SharedCountSync(limiter.counts, new RateLimitCounters(shared), rules.syncIntervalMs, (error) => {
          // At most one warning a minute while the database is away; counting goes on locally.
          if (Date.now() - lastWarning < 60_000) return;
          lastWarning = Date.now();
          logger.warn({ err: error }, 'could not share rate-limit counts; counting on this replica alone until the database answers');
        });
  sync?.start();
  return {
    http: { limiter, trustedProxies: new AddressRanges(rules.trustedProxies) },
    stop: async () => sync?.stop(),
  };
}
