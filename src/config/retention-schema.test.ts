// The retention section: policies read from YAML into rules with ages in milliseconds, the
// schedule off by default, and each bad policy key named in the error with its line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from './issues.js';
import { parseConfig } from './load.js';

const DAY = 86_400_000;

describe('retention configuration', () => {
  it('is off with no policies by default', () => {
    assert.deepEqual(parseConfig('').retention, { intervalMs: 0, dryRun: false, policies: [] });
  });

  it('reads policies in file order, ages in days or Go durations', () => {
    const config = parseConfig(
      [
        'retention:',
        '  interval: 6h',
        '  dryrun: true',
        '  policies:',
        '    - repositories: team/**',
        '      keeplast: 10',
        '      keeptags: ["v*", latest]',
        '      olderthan: 90d',
        '      notpulledfor: 1d12h',
        '    - repositories: "*"',
        '      untaggedfor: 36h',
      ].join('\n'),
    );
    assert.deepEqual(config.retention, {
      intervalMs: 6 * 3_600_000,
      dryRun: true,
      policies: [
        {
          repositories: 'team/**',
          keeplast: 10,
          keeptags: ['v*', 'latest'],
          olderthanMs: 90 * DAY,
          notpulledforMs: 1.5 * DAY,
          untaggedforMs: undefined,
        },
        {
          repositories: '*',
          keeplast: undefined,
          keeptags: [],
          olderthanMs: undefined,
          notpulledforMs: undefined,
          untaggedforMs: 36 * 3_600_000,
        },
      ],
    });
  });

  it('names each bad key of a policy', () => {
    const yaml = [
      'retention:',
      '  policies:',
      '    - repositories: Team/App',
      '      keeplast: 0',
      '      keeptags: [ok, "no spaces"]',
      '      olderthan: 30 days',
      '      keepfirst: 3',
    ].join('\n');
    assert.throws(
      () => parseConfig(yaml),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        for (const key of [
          'retention.policies.0.repositories',
          'retention.policies.0.keeplast',
          'retention.policies.0.keeptags.1',
          'retention.policies.0.olderthan',
          'retention.policies.0.keepfirst',
        ]) {
          assert.match(error.message, new RegExp(key.replaceAll('.', '\\.')), key);
        }
        return true;
      },
    );
  });
});
