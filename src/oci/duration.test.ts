// Unit tests for the Go duration parser used by http.draintimeout and upload purging.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { durationFromConfigValue, DurationError, formatDuration, parseDuration, parseDurationNs } from './duration.js';

describe('parseDuration', () => {
  it('reads the units Go accepts', () => {
    assert.equal(parseDuration('300ms'), 300);
    assert.equal(parseDuration('60s'), 60_000);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('168h'), 604_800_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('1h30m15s500ms'), 5_415_500);
    assert.equal(parseDuration('250us'), 0.25);
    assert.equal(parseDuration('250\u00b5s'), 0.25);
    assert.equal(parseDuration('250\u03bcs'), 0.25);
    assert.equal(parseDuration('1500ns'), 0.0015);
  });

  it('reads "0", signs and decimal fractions exactly', () => {
    assert.equal(parseDuration('0'), 0);
    assert.equal(parseDuration('+5s'), 5_000);
    assert.equal(parseDuration('-1.5h'), -5_400_000);
    assert.equal(parseDuration('1.1s'), 1_100);
    assert.equal(parseDuration('.5s'), 500);
    assert.equal(parseDuration('5.s'), 5_000);
    assert.equal(parseDurationNs('0.000000001s'), 1n);
  });

  it('rejects what Go rejects, saying why', () => {
    for (const bad of ['', '60', 's', '.s', '1d', '7 days', '1h 30m', '-', '1e3s', 'abc', '1.2.3s']) {
      assert.throws(() => parseDuration(bad), DurationError, bad);
    }
    assert.throws(() => parseDuration('7d'), /unknown unit "d"/);
    assert.throws(() => parseDuration('60'), /missing unit/);
    assert.throws(() => parseDuration('3000000h'), /out of range/);
  });
});

describe('durationFromConfigValue', () => {
  it('reads integers as nanoseconds, as Go decodes a YAML int into time.Duration', () => {
    assert.equal(durationFromConfigValue(60_000_000_000), 60_000);
    assert.equal(durationFromConfigValue('60000000000'), 60_000);
    assert.equal(durationFromConfigValue(0), 0);
    assert.equal(durationFromConfigValue('60s'), 60_000);
    assert.throws(() => durationFromConfigValue(1.5), DurationError);
  });
});

describe('formatDuration', () => {
  it('writes what Go Duration.String() writes', () => {
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(5_400_000), '1h30m0s');
    assert.equal(formatDuration(604_800_000), '168h0m0s');
    assert.equal(formatDuration(60_000), '1m0s');
    assert.equal(formatDuration(1_500), '1.5s');
    assert.equal(formatDuration(300), '300ms');
    assert.equal(formatDuration(0.25), '250\u00b5s');
    assert.equal(formatDuration(-2_000), '-2s');
  });

  it('round-trips through parseDuration', () => {
    for (const ms of [1, 999, 1_000, 61_500, 3_600_000, 604_800_000]) {
      assert.equal(parseDuration(formatDuration(ms)), ms);
    }
  });
});
