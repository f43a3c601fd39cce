// Unit tests of how server-side copies are cut into parts: every range within S3's limits
// (at least 5 MiB, at most 5 GiB), the ranges adjacent and covering the object exactly.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyRanges } from './multipart.js';
import { GiB, MAX_PART_SIZE, MIN_PART_SIZE, MiB } from './s3-context.js';

describe('copyRanges', () => {
  const cases: Array<[number, number]> = [
    [5 * MiB, MAX_PART_SIZE],
    [5 * GiB, MAX_PART_SIZE],
    [5 * GiB + 1, MAX_PART_SIZE],
    [5 * GiB + 5 * MiB, MAX_PART_SIZE],
    [23 * GiB + 17, MAX_PART_SIZE],
    [10 * MiB + 5, 5 * MiB],
    [15 * MiB, 5 * MiB],
    [7 * GiB + 3, GiB],
    [1 * GiB + 1, GiB],
  ];
  for (const [size, partSize] of cases) {
    it(`cuts ${size} bytes into parts of at most ${partSize}`, () => {
      const ranges = copyRanges(size, partSize);
      let next = 0;
      for (const [start, end] of ranges) {
        assert.equal(start, next);
        const length = end - start + 1;
        assert.ok(length >= MIN_PART_SIZE, `a part of ${length} bytes`);
        assert.ok(length <= MAX_PART_SIZE, `a part of ${length} bytes`);
        assert.ok(length <= partSize + MIN_PART_SIZE, `a part of ${length} bytes`);
        next = end + 1;
      }
      assert.equal(next, size);
    });
  }

  it('copies a small object as one part', () => {
    assert.deepEqual(copyRanges(100, MAX_PART_SIZE), [[0, 99]]);
  });
});
