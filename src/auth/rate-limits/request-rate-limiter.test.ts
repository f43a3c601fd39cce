// The rate limiter's counting, keys and exemptions, on a clock the test sets; and the sync of
// two replicas' counts through a shared store (an in-memory SharedWindowCounts standing in for
// the table, whose SQL test/http/rate-limits-postgres.test.ts runs against PostgreSQL).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SharedWindowCounts, WindowCountDelta } from '../../metadata/rate-limit-counters.js';
import { ANONYMOUS, type Principal } from '../principal.js';
import { RequestRateLimiter, type RequestRateLimiterOptions } from './request-rate-limiter.js';
import { SharedCountSync } from './shared-counts.js';
import { alignedStart, WindowCounts } from './window-counts.js';

const HOUR = 3_600_000;
const alice: Principal = { kind: 'user', name: 'alice', admin: false, teams: [] };
const bob: Principal = { kind: 'user', name: 'bob', admin: false, teams: [] };

function limiter(options: Partial<RequestRateLimiterOptions>, clock: () => number): RequestRateLimiter {
  return new RequestRateLimiter(
    {
      anonymousPulls: undefined,
      signedInPulls: undefined,
      anonymousRequests: undefined,
      signedInRequests: undefined,
      exemptUsers: [],
      exemptAddresses: [],
      ...options,
    },
    clock,
  );
}

describe('RequestRateLimiter', () => {
  it('allows the limit, then refuses until the window ends, with the remaining count going down', () => {
    let now = 6 * HOUR + 1000;
    const rl = limiter({ anonymousPulls: { limit: 3, windowMs: 6 * HOUR } }, () => now);
    const remaining = [1, 2, 3].map(() => rl.take(undefined, '192.0.2.1', 'pull'));
    assert.deepEqual(
      remaining.map((v) => [v?.allowed, v?.remaining]),
      [
        [true, 2],
        [true, 1],
        [true, 0],
      ],
    );
    const refused = rl.take(undefined, '192.0.2.1', 'pull');
    assert.equal(refused?.allowed, false);
    assert.equal(refused?.remaining, 0);
    assert.equal(refused?.resetMs, 6 * HOUR - 1000);
    assert.equal(refused?.source, '192.0.2.1');
    // Another address has its own count; so does the same address for other requests (no rule: not limited).
    assert.equal(rl.take(undefined, '192.0.2.2', 'pull')?.allowed, true);
    assert.equal(rl.take(undefined, '192.0.2.1', 'other'), undefined);
    now = 12 * HOUR;
    assert.equal(rl.take(undefined, '192.0.2.1', 'pull')?.remaining, 2, 'a new window starts from zero');
  });

  it('counts signed-in users by name, apart from their address, and under their own limit', () => {
    const rl = limiter({ anonymousPulls: { limit: 1, windowMs: HOUR }, signedInPulls: { limit: 2, windowMs: HOUR } }, () => 0);
    assert.equal(rl.take(ANONYMOUS, '192.0.2.1', 'pull')?.allowed, true);
    assert.equal(rl.take(ANONYMOUS, '192.0.2.1', 'pull')?.allowed, false);
    assert.equal(rl.take(alice, '192.0.2.1', 'pull')?.remaining, 1);
    assert.equal(rl.take(alice, '198.51.100.9', 'pull')?.remaining, 0, 'the same user from elsewhere shares the count');
    assert.equal(rl.take(alice, '192.0.2.1', 'pull')?.allowed, false);
    assert.equal(rl.take(bob, '192.0.2.1', 'pull')?.source, 'bob');
    // An anonymous token of Berth's token server counts by address; an external token by subject.
    assert.equal(rl.take({ kind: 'anonymous', bearer: { access: [] } }, '192.0.2.1', 'pull')?.allowed, false);
    assert.equal(rl.take({ kind: 'token', subject: 'ci', access: [] }, '192.0.2.1', 'pull')?.source, 'ci');
    assert.equal(rl.take({ kind: 'token', subject: '', access: [] }, '192.0.2.1', 'pull')?.signedIn, false);
  });

  it('peeks without counting', () => {
    const rl = limiter({ anonymousPulls: { limit: 2, windowMs: HOUR } }, () => 0);
    assert.equal(rl.peek(undefined, '192.0.2.1', 'pull')?.remaining, 2);
    rl.take(undefined, '192.0.2.1', 'pull');
    assert.equal(rl.peek(undefined, '192.0.2.1', 'pull')?.remaining, 1);
    assert.equal(rl.peek(undefined, '192.0.2.1', 'pull')?.remaining, 1);
  });

  it('exempts users and address ranges, IPv4-mapped addresses included', () => {
    const rl = limiter(
      {
        anonymousPulls: { limit: 1, windowMs: HOUR },
        signedInPulls: { limit: 1, windowMs: HOUR },
        exemptUsers: ['alice'],
        exemptAddresses: ['10.0.0.0/8', '2001:db8::/32'],
      },
      () => 0,
    );
    assert.equal(rl.take(alice, '192.0.2.1', 'pull'), undefined);
    assert.equal(rl.take(bob, '10.1.2.3', 'pull'), undefined);
    assert.equal(rl.take(undefined, '::ffff:10.9.9.9', 'pull'), undefined);
    assert.equal(rl.take(undefined, '2001:db8:1::5', 'pull'), undefined);
    assert.equal(rl.take(bob, '192.0.2.1', 'pull')?.allowed, true);
    assert.equal(rl.take(bob, '192.0.2.1', 'pull')?.allowed, false);
  });

  it('counts IPv6 clients by their /64 and IPv4-mapped ones as IPv4', () => {
    const rl = limiter({ anonymousPulls: { limit: 2, windowMs: HOUR } }, () => 0);
    assert.equal(rl.take(undefined, '2001:db8:0:1::1', 'pull')?.source, '2001:db8:0:1::/64');
    assert.equal(rl.take(undefined, '2001:0db8:0000:0001:ffff::2', 'pull')?.remaining, 0);
    assert.equal(rl.take(undefined, '2001:db8:0:2::1', 'pull')?.remaining, 1);
    assert.equal(rl.take(undefined, '::ffff:192.0.2.1', 'pull')?.source, '192.0.2.1');
  });
});

describe('WindowCounts', () => {
  it('aligns windows to the epoch', () => {
    assert.equal(alignedStart(6 * HOUR + 5, 6 * HOUR), 6 * HOUR);
    assert.equal(alignedStart(6 * HOUR - 1, 6 * HOUR), 0);
  });

  it('holds at most maxKeys, forgetting ended windows first and then the oldest keys', () => {
    const counts = new WindowCounts(32);
    for (let i = 0; i < 32; i++) counts.take(`old${i}`, 10, 1000, 0);
    counts.take('new', 10, 1000, 1500);
    assert.equal(counts.size, 1, 'every ended window went');
    for (let i = 0; i < 40; i++) counts.take(`k${i}`, 10, HOUR, 1500);
    assert.ok(counts.size <= 32);
    assert.equal(counts.peek('k39', HOUR, 1500).count, 1, 'the newest keys stay');
  });
});

/** The shared table as a map, adding as the SQL upsert does. */
class MapCounts implements SharedWindowCounts {
  readonly rows = new Map<string, { count: number; end: number }>();
  failing = false;
  async add(deltas: readonly WindowCountDelta[]): Promise<number[]> {
    if (this.failing) throw new Error('database away');
    return deltas.map((d) => {
      const id = `${d.key}@${d.windowStart}`;
      const row = this.rows.get(id) ?? { count: 0, end: d.windowStart + d.windowMs };
      row.count += d.added;
      this.rows.set(id, row);
      return row.count;
    });
  }
  async deleteEnded(now: number): Promise<number> {
    let n = 0;
    for (const [id, row] of this.rows) if (row.end < now && this.rows.delete(id)) n++;
    return n;
  }
}

describe('SharedCountSync', () => {
  it('adds two replicas’ counts up at each sync, and keeps what a failed sync could not share', async () => {
    const store = new MapCounts();
    const now = () => 1000;
    const rule = { anonymousPulls: { limit: 10, windowMs: HOUR } };
    const [a, b] = [limiter(rule, now), limiter(rule, now)];
    const errors: unknown[] = [];
    const [syncA, syncB] = [a, b].map((rl) => new SharedCountSync(rl.counts, store, 1000, (e) => errors.push(e), now));
    for (let i = 0; i < 4; i++) a.take(undefined, '192.0.2.1', 'pull');
    for (let i = 0; i < 3; i++) b.take(undefined, '192.0.2.1', 'pull');
    await syncA?.syncNow();
    await syncB?.syncNow();
    assert.equal(b.peek(undefined, '192.0.2.1', 'pull')?.remaining, 3, 'b knows of a’s four');
    await syncA?.syncNow();
    assert.equal(a.peek(undefined, '192.0.2.1', 'pull')?.remaining, 6, 'a has shared nothing new, so it learns nothing yet');
    a.take(undefined, '192.0.2.1', 'pull');
    await syncA?.syncNow();
    assert.equal(a.peek(undefined, '192.0.2.1', 'pull')?.remaining, 2, 'a knows of b’s three after its next count');

    store.failing = true;
    b.take(undefined, '192.0.2.1', 'pull');
    await syncB?.syncNow();
    assert.equal(errors.length, 1);
    store.failing = false;
    await syncB?.syncNow();
    assert.equal([...store.rows.values()][0]?.count, 9, 'the count made while the store failed was shared later');
    await syncA?.stop();
    await syncB?.stop();
  });
});
