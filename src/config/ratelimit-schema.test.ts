// The ratelimit section: off by default, each limit a count per window, address lists checked
// as addresses or CIDR ranges (with the key named in the message), lists from the environment.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseConfig } from './index.js';

const cwd = '/srv/berth';

function rejection(yaml: string): string {
  try {
    parseConfig(yaml, { cwd, env: {}, source: 'config.yml' });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  assert.fail('expected the configuration to be rejected');
}

describe('ratelimit configuration', () => {
  it('limits nothing by default', () => {
    const { ratelimit } = parseConfig('', { cwd, env: {} });
    assert.deepEqual(
      [ratelimit.anonymousPulls, ratelimit.signedInPulls, ratelimit.anonymousRequests, ratelimit.signedInRequests],
      [undefined, undefined, undefined, undefined],
    );
  });

  it('reads each limit as a count per window, 0 meaning none', () => {
    const { ratelimit } = parseConfig(
      'ratelimit:\n  anonymouspulls: {limit: 100, window: 6h}\n  signedinpulls: {limit: 200}\n  signedinrequests: {limit: 0, window: 1h}\n  exemptaddresses: [10.0.0.0/8, "2001:db8::/32", 192.0.2.7]',
      { cwd, env: {} },
    );
    assert.deepEqual(ratelimit.anonymousPulls, { limit: 100, windowMs: 6 * 3_600_000 });
    assert.deepEqual(ratelimit.signedInPulls, { limit: 200, windowMs: 6 * 3_600_000 });
    assert.equal(ratelimit.signedInRequests, undefined);
    assert.deepEqual(ratelimit.exemptAddresses, ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7']);
  });

  it('takes lists and limits from the environment', () => {
    const { ratelimit } = parseConfig('', {
      cwd,
      env: {
        BERTH_RATELIMIT_ANONYMOUSPULLS_LIMIT: '10',
        BERTH_RATELIMIT_EXEMPTUSERS: 'ci,robot',
        BERTH_RATELIMIT_TRUSTEDPROXIES: '192.0.2.10,198.51.100.0/24',
      },
    });
    assert.deepEqual(ratelimit.anonymousPulls, { limit: 10, windowMs: 6 * 3_600_000 });
    assert.deepEqual(ratelimit.exemptUsers, ['ci', 'robot']);
    assert.deepEqual(ratelimit.trustedProxies, ['192.0.2.10', '198.51.100.0/24']);
  });

  it('refuses what is not an address or a range, naming the key', () => {
    assert.match(rejection('ratelimit: {exemptaddresses: [10.0.0.0/33]}'), /ratelimit\.exemptaddresses.*10\.0\.0\.0\/33/s);
    assert.match(rejection('ratelimit: {trustedproxies: [proxy.example.com]}'), /ratelimit\.trustedproxies.*proxy\.example\.com/s);
    assert.match(rejection('ratelimit: {anonymouspulls: {limit: -1}}'), /ratelimit\.anonymouspulls\.limit/);
    assert.match(rejection('ratelimit: {anonymouspulls: {limit: 5, window: 10ms}}'), /ratelimit\.anonymouspulls\.window.*at least 1s/s);
    assert.match(rejection('ratelimit: {pulls: 5}'), /ratelimit\.pulls/);
  });
});
