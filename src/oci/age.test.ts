import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAge, parseAge } from './age.js';
import { DurationError } from './duration.js';

const DAY = 86_400_000;

describe('parseAge', () => {
  it('reads days, days with a Go duration, and Go durations', () => {
    assert.equal(parseAge('30d'), 30 * DAY);
    assert.equal(parseAge('1d12h'), DAY + 12 * 3_600_000);
    assert.equal(parseAge('36h'), 36 * 3_600_000);
    assert.equal(parseAge('90m'), 90 * 60_000);
  });

  it('refuses zero, negative, unknown units and signs inside', () => {
    for (const bad of ['0', '0d', '-1d', '-5h', '1d-2h', '30days', 'd', '', '1w', '1.5d', 'thirty']) {
      assert.throws(() => parseAge(bad), DurationError, bad);
    }
  });
});

describe('formatAge', () => {
  it('reads back what it writes', () => {
    for (const ms of [30 * DAY, DAY + 12 * 3_600_000, 90 * 60_000, 1500]) assert.equal(parseAge(formatAge(ms)), ms);
    assert.equal(formatAge(30 * DAY), '30d');
    assert.equal(formatAge(DAY + 90 * 60_000), '1d1h30m');
  });
});
