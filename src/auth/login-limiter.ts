// Login rate limiting: failed sign-ins are counted per client address and user name (per address
// alone for CI workload tokens, which name no user) in a fixed window; beyond the allowance,
// attempts are refused (429 with Retry-After) without checking the password, so guessing costs
// the attacker time and the server no bcrypt. Per process: each replica counts its own, which
// bounds guessing by replicas x attempts per window.

export interface LoginLimiterOptions {
  readonly attempts: number;
  readonly windowMs: number;
}

export class LoginLimiter {
  private readonly failures = new Map<string, { count: number; resetAt: number }>();

  constructor(private readonly options: LoginLimiterOptions) {}

  /** Seconds until the caller may try again, or 0 when an attempt is allowed now. */
  retryAfterSeconds(client: string, user: string): number {
    const entry = this.failures.get(key(client, user));
    const now = Date.now();
    if (entry === undefined || entry.resetAt <= now || entry.count < this.options.attempts) return 0;
    return Math.max(1, Math.ceil((entry.resetAt - now) / 1000));
  }

  recordFailure(client: string, user: string): void {
    const now = Date.now();
    const id = key(client, user);
    const entry = this.failures.get(id);
    if (entry === undefined || entry.resetAt <= now) {
      // Expired entries are swept when the map grows, so a spray of user names stays bounded.
      if (this.failures.size >= 50_000) this.sweep(now);
      this.failures.set(id, { count: 1, resetAt: now + this.options.windowMs });
    } else {
      entry.count++;
    }
  }

  recordSuccess(client: string, user: string): void {
    this.failures.delete(key(client, user));
  }

  private sweep(now: number): void {
    for (const [id, entry] of this.failures) if (entry.resetAt <= now) this.failures.delete(id);
    if (this.failures.size >= 50_000) this.failures.clear();
  }
}

function key(client: string, user: string): string {
  return `${client}\0${user}`;
}
