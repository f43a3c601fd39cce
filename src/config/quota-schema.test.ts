// Tests for the quotas key: sizes with units, optional limits, and the messages of bad entries.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseConfig } from './index.js';

function failure(yaml: string): string {
  try {
    parseConfig(yaml, { cwd: '/srv/berth', env: {}, source: 'config.yml' });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected the configuration to be rejected');
}

describe('quotas', () => {
  it('reads sizes in bytes or with units, and the optional limits', () => {
    const config = parseConfig(
      ['quotas:', '  - {namespace: team, size: 10GiB, repositories: 5, warnat: 0.9}', '  - {namespace: other_ns, size: 1000}'].join('\n'),
      { cwd: '/srv/berth', env: {} },
    );
    assert.deepEqual(config.quotas, [
      { namespace: 'team', sizeBytes: 10 * 2 ** 30, repositories: 5, warnAt: 0.9 },
      { namespace: 'other_ns', sizeBytes: 1000, repositories: undefined, warnAt: undefined },
    ]);
  });

  it('is read from BERTH_QUOTAS as YAML', () => {
    const config = parseConfig('', { cwd: '/srv/berth', env: { BERTH_QUOTAS: '[{namespace: ci, size: 5GB}]' } });
    assert.deepEqual(config.quotas, [{ namespace: 'ci', sizeBytes: 5e9, repositories: undefined, warnAt: undefined }]);
  });

  it('refuses a bad size, namespace, limit or a namespace listed twice, naming the key', () => {
    assert.match(
      failure('quotas: [{namespace: team, size: 10 lots}]'),
      /quotas\.0\.size.*expected a number of bytes, or a number with a unit/s,
    );
    assert.match(failure('quotas: [{namespace: team/sub, size: 1GiB}]'), /quotas\.0\.namespace.*one repository path component/s);
    assert.match(failure('quotas: [{namespace: Team, size: 1GiB}]'), /quotas\.0\.namespace/);
    assert.match(failure('quotas: [{namespace: team, size: 1GiB, repositories: -1}]'), /quotas\.0\.repositories/);
    assert.match(failure('quotas: [{namespace: team, size: 1GiB, warnat: 1.5}]'), /quotas\.0\.warnat/);
    assert.match(failure('quotas: [{namespace: team, size: 1GiB, bytes: 3}]'), /quotas\.0/);
    assert.match(failure('quotas: [{namespace: team, size: 1GiB}, {namespace: team, size: 2GiB}]'), /namespace "team" has two quotas/);
  });
});
