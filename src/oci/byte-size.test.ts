// Tests for byte sizes as quotas write them, and as quota messages print them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatByteSize, parseByteSize } from './byte-size.js';

describe('parseByteSize', () => {
  it('reads bytes, binary and decimal units, any case, with or without a space', () => {
    assert.equal(parseByteSize('10737418240'), 10 * 2 ** 30);
    assert.equal(parseByteSize(1024), 1024);
    assert.equal(parseByteSize('10GiB'), 10 * 2 ** 30);
    assert.equal(parseByteSize('10 gib'), 10 * 2 ** 30);
    assert.equal(parseByteSize('10G'), 10 * 2 ** 30);
    assert.equal(parseByteSize('10Gi'), 10 * 2 ** 30);
    assert.equal(parseByteSize('500MB'), 500_000_000);
    assert.equal(parseByteSize('1.5KiB'), 1536);
    assert.equal(parseByteSize('1.5TiB'), 1.5 * 2 ** 40);
    assert.equal(parseByteSize('0'), 0);
    assert.equal(parseByteSize('12B'), 12);
  });

  it('refuses what is not a size', () => {
    for (const bad of ['', 'ten', '-1', '-1GiB', '10XB', '1e3', 'GiB', '10 GiB extra', '99999999999PiB']) {
      assert.equal(parseByteSize(bad), undefined, bad);
    }
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) assert.equal(parseByteSize(bad), undefined, String(bad));
  });
});

describe('formatByteSize', () => {
  it('prints binary units with at most one decimal, rounded down', () => {
    assert.equal(formatByteSize(0), '0 B');
    assert.equal(formatByteSize(512), '512 B');
    assert.equal(formatByteSize(1536), '1.5 KiB');
    assert.equal(formatByteSize(10 * 2 ** 30), '10 GiB');
    assert.equal(formatByteSize(Math.round(9.87 * 2 ** 30)), '9.8 GiB');
    // Just under the quota never reads as the quota itself.
    assert.equal(formatByteSize(10 * 2 ** 30 - 1), '9.9 GiB');
  });
});
