// Unit tests of storage key validation: what every driver accepts and refuses.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InvalidPathError } from '../errors/storage.js';
import { MAX_KEY_LENGTH, MAX_SEGMENT_LENGTH, assertValidKey, assertValidPrefix, isValidKey, isValidKeySegment } from './keys.js';

describe('storage keys', () => {
  it('accepts ordinary keys', () => {
    for (const key of [
      'a',
      'blobs/sha256/ab/abcdef0123/data',
      'uploads/3f2b-11ee/startedat',
      'A.B_C-D/e',
      '...',
      '.hidden/x',
      '-dash',
      'x'.repeat(MAX_SEGMENT_LENGTH),
    ]) {
      assert.equal(isValidKey(key), true, key);
      assert.doesNotThrow(() => assertValidKey('test', key));
    }
  });

  it('refuses keys that could escape the store or are ambiguous', () => {
    for (const key of [
      '',
      '/',
      '/abs',
      'abs/',
      'a//b',
      '.',
      '..',
      '../x',
      'a/..',
      'a/./b',
      'a/../../b',
      'a\\b',
      '..\\x',
      'a\u0000b',
      'a b',
      'a:b',
      'ä',
      'a/b\n',
      'C:',
      'x'.repeat(MAX_SEGMENT_LENGTH + 1),
    ]) {
      assert.equal(isValidKey(key), false, JSON.stringify(key));
      assert.throws(() => assertValidKey('test', key), InvalidPathError);
    }
  });

  it('bounds the length of a key', () => {
    const segment = 'x'.repeat(99);
    // ten segments of 99 characters and nine separators: 999 characters
    const key = Array.from({ length: 10 }, () => segment).join('/');
    assert.equal(isValidKey(key), true);
    assert.equal(isValidKey(`${key}/${'y'.repeat(MAX_KEY_LENGTH - key.length - 1)}`), true);
    assert.equal(isValidKey(`${key}/${'y'.repeat(MAX_KEY_LENGTH - key.length)}`), false);
  });

  it('refuses values that are not strings', () => {
    for (const value of [undefined, null, 1, {}, ['a']]) {
      assert.equal(isValidKey(value), false);
    }
  });

  it('carries the driver name and the key in the error', () => {
    assert.throws(
      () => assertValidKey('filesystem', '../x'),
      (error: unknown) => error instanceof InvalidPathError && error.driver === 'filesystem' && error.key === '../x',
    );
  });

  it('accepts the empty prefix for the root only', () => {
    assert.doesNotThrow(() => assertValidPrefix('test', ''));
    assert.doesNotThrow(() => assertValidPrefix('test', 'a/b'));
    assert.throws(() => assertValidPrefix('test', '/'), InvalidPathError);
    assert.throws(() => assertValidPrefix('test', 'a/'), InvalidPathError);
  });

  it('never accepts a key whose segments include "." or ".." or an empty one', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 6 }), { minLength: 1, maxLength: 6 }), (segments) => {
        const key = segments.join('/');
        if (isValidKey(key)) {
          for (const segment of key.split('/')) {
            assert.ok(isValidKeySegment(segment));
            assert.notEqual(segment, '.');
            assert.notEqual(segment, '..');
            assert.match(segment, /^[A-Za-z0-9._-]+$/);
          }
        }
      }),
    );
  });
});
