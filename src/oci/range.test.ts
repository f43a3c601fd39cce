// Unit tests for the Range header of blob GETs and the Content-Range header of upload PATCHes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseContentRange, parseRangeHeader } from './range.js';

describe('parseRangeHeader', () => {
  it('is undefined without a header', () => {
    assert.equal(parseRangeHeader(undefined, 100), undefined);
  });

  it('reads bytes=a-b', () => {
    assert.deepEqual(parseRangeHeader('bytes=0-99', 1000), { start: 0, end: 99 });
    assert.deepEqual(parseRangeHeader('bytes=10-19', 1000), { start: 10, end: 19 });
    assert.deepEqual(parseRangeHeader('bytes=0-0', 1), { start: 0, end: 0 });
    assert.deepEqual(parseRangeHeader('bytes=999-999', 1000), { start: 999, end: 999 });
  });

  it('reads bytes=a- as "to the end"', () => {
    assert.deepEqual(parseRangeHeader('bytes=0-', 1000), { start: 0, end: 999 });
    assert.deepEqual(parseRangeHeader('bytes=100-', 1000), { start: 100, end: 999 });
    assert.deepEqual(parseRangeHeader('bytes=999-', 1000), { start: 999, end: 999 });
  });

  it('reads bytes=-n as the last n bytes, the whole blob when n exceeds it', () => {
    assert.deepEqual(parseRangeHeader('bytes=-100', 1000), { start: 900, end: 999 });
    assert.deepEqual(parseRangeHeader('bytes=-1', 1000), { start: 999, end: 999 });
    assert.deepEqual(parseRangeHeader('bytes=-1000', 1000), { start: 0, end: 999 });
    assert.deepEqual(parseRangeHeader('bytes=-5000', 1000), { start: 0, end: 999 });
    assert.deepEqual(parseRangeHeader('bytes=-99999999999999999999999', 10), { start: 0, end: 9 });
  });

  it('treats a zero-length suffix as unsatisfiable', () => {
    assert.equal(parseRangeHeader('bytes=-0', 1000), 'unsatisfiable');
  });

  it('clamps an end beyond the blob to its last byte', () => {
    assert.deepEqual(parseRangeHeader('bytes=0-5000', 1000), { start: 0, end: 999 });
    assert.deepEqual(parseRangeHeader('bytes=500-1000', 1000), { start: 500, end: 999 });
    assert.deepEqual(parseRangeHeader('bytes=0-99999999999999999999999', 100), { start: 0, end: 99 });
  });

  it('is unsatisfiable when the start is at or past the end of the blob', () => {
    assert.equal(parseRangeHeader('bytes=1000-', 1000), 'unsatisfiable');
    assert.equal(parseRangeHeader('bytes=1000-1999', 1000), 'unsatisfiable');
    assert.equal(parseRangeHeader('bytes=5000-6000', 1000), 'unsatisfiable');
    assert.equal(parseRangeHeader('bytes=99999999999999999999-', 100), 'unsatisfiable');
  });

  it('finds every range of an empty blob unsatisfiable', () => {
    for (const header of ['bytes=0-', 'bytes=0-0', 'bytes=0-99', 'bytes=-1', 'bytes=-100']) {
      assert.equal(parseRangeHeader(header, 0), 'unsatisfiable', header);
    }
  });

  it('accepts case and whitespace variations of the unit', () => {
    assert.deepEqual(parseRangeHeader('Bytes=0-9', 100), { start: 0, end: 9 });
    assert.deepEqual(parseRangeHeader('BYTES=0-9', 100), { start: 0, end: 9 });
    assert.deepEqual(parseRangeHeader(' bytes = 0 - 9 ', 100), { start: 0, end: 9 });
  });

  it('ignores several ranges and other units (the whole blob is served)', () => {
    for (const header of ['bytes=0-9,20-29', 'bytes=0-9, 20-29', 'bytes=-5,0-1', 'items=0-9', 'chars=0-9', 'bits=0-9']) {
      assert.equal(parseRangeHeader(header, 100), undefined, header);
    }
  });

  it('ignores malformed headers', () => {
    for (const header of [
      '',
      'bytes',
      'bytes=',
      'bytes=-',
      'bytes=a-b',
      'bytes=0-b',
      'bytes=1.5-3',
      'bytes=-1-2',
      'bytes=0--5',
      'bytes=+1-2',
      'bytes=0x10-0x20',
      'bytes=1e2-',
      '0-99',
      'bytes 0-99',
      'bytes=0-99/100',
    ]) {
      assert.equal(parseRangeHeader(header, 100), undefined, JSON.stringify(header));
    }
  });

  it('ignores a range whose end is before its start', () => {
    assert.equal(parseRangeHeader('bytes=50-10', 100), undefined);
    assert.equal(parseRangeHeader('bytes=1-0', 100), undefined);
  });

  it('always returns a range inside the blob (property)', () => {
    const header = fc.oneof(
      fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `bytes=${a}-${b}`),
      fc.nat().map((a) => `bytes=${a}-`),
      fc.nat().map((n) => `bytes=-${n}`),
      fc.string(),
    );
    fc.assert(
      fc.property(header, fc.nat({ max: 1_000_000 }), (value, size) => {
        const range = parseRangeHeader(value, size);
        if (range === undefined || range === 'unsatisfiable') return;
        assert.ok(Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end));
        assert.ok(range.start >= 0 && range.start <= range.end && range.end < size, `${value} on ${size}`);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseContentRange', () => {
  it('reads "start-end" as the distribution spec writes it', () => {
    assert.deepEqual(parseContentRange('0-99'), { start: 0, end: 99 });
    assert.deepEqual(parseContentRange('100-199'), { start: 100, end: 199 });
    assert.deepEqual(parseContentRange('0-0'), { start: 0, end: 0 });
    assert.deepEqual(parseContentRange(' 5-9 '), { start: 5, end: 9 });
  });

  it('also reads the RFC form "bytes start-end/total" and "bytes start-end/*"', () => {
    assert.deepEqual(parseContentRange('bytes 0-99/100'), { start: 0, end: 99 });
    assert.deepEqual(parseContentRange('bytes 0-99/*'), { start: 0, end: 99 });
    assert.deepEqual(parseContentRange('BYTES 10-19/20'), { start: 10, end: 19 });
    assert.deepEqual(parseContentRange('0-99/100'), { start: 0, end: 99 });
  });

  it('rejects an end before the start', () => {
    assert.equal(parseContentRange('100-99'), undefined);
    assert.equal(parseContentRange('bytes 5-4/10'), undefined);
    assert.equal(parseContentRange('bytes 0-99/50'), undefined, 'a total smaller than the chunk');
    assert.equal(parseContentRange('bytes 0-99/99'), undefined, 'a total that ends inside the chunk');
  });

  it('rejects garbage', () => {
    for (const header of [
      '',
      '-',
      '0-',
      '-99',
      '0',
      'garbage',
      'bytes=0-99',
      'bytes 0-99/',
      'bytes 0-99/abc',
      'bytes */100',
      '0 - 99',
      '0-99-100',
      '-1-5',
      '1.5-3',
      '1e3-2e3',
      '0x10-0x20',
      '0-99,100-199',
      'items 0-99/100',
    ]) {
      assert.equal(parseContentRange(header), undefined, JSON.stringify(header));
    }
  });

  it('rejects numbers too large to be exact, accepts the largest that are', () => {
    assert.deepEqual(parseContentRange('999999999999999-999999999999999'), {
      start: 999_999_999_999_999,
      end: 999_999_999_999_999,
    });
    assert.equal(parseContentRange('0-1234567890123456'), undefined);
    assert.equal(parseContentRange('0-99999999999999999999999999'), undefined);
    assert.equal(parseContentRange('9007199254740993-9007199254740993'), undefined);
    assert.equal(parseContentRange(`0-${'9'.repeat(100_000)}`), undefined);
  });

  it('returns safe integers with start <= end or nothing (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `${a}-${b}`),
          fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.bigInt({ min: 0n, max: 10n ** 20n })).map(([a, b]) => `bytes ${a}-${b}/*`),
          fc.string(),
        ),
        (value) => {
          const range = parseContentRange(value);
          if (range === undefined) return;
          assert.ok(Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end), value);
          assert.ok(range.start >= 0 && range.start <= range.end, value);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
