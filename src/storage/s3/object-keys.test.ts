// Unit tests of the S3 key layout: root prefixes as Distribution users write them, tail
// sidecars that never collide with content and list as their key, and what counts as below a key.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ObjectKeys, TAIL_SUFFIX } from './object-keys.js';
import { isValidKeySegment } from '../keys.js';

describe('ObjectKeys', () => {
  it('puts keys below a root, whatever its slashes', () => {
    for (const root of ['registry/v2', '/registry/v2', 'registry/v2/', '//registry//v2//']) {
      const keys = new ObjectKeys(root);
      assert.equal(keys.object('blobs/data'), 'registry/v2/blobs/data', root);
      assert.equal(keys.below(''), 'registry/v2/');
      assert.equal(keys.below('blobs'), 'registry/v2/blobs/');
    }
    const bare = new ObjectKeys(undefined);
    assert.equal(bare.object('a/b'), 'a/b');
    assert.equal(bare.below(''), '');
    assert.equal(new ObjectKeys('/').below(''), '');
  });

  it('refuses roots that are not made of key segments', () => {
    for (const root of ['a/../b', '..', 'a b', 'a/./b', 'ä']) {
      assert.throws(() => new ObjectKeys(root), /rootDirectory/, root);
    }
  });

  it('names tails with a character no key contains', () => {
    const keys = new ObjectKeys('root');
    assert.equal(keys.tail('uploads/1/data'), `root/uploads/1/data${TAIL_SUFFIX}`);
    assert.ok(!isValidKeySegment(`data${TAIL_SUFFIX}`));
  });

  it('maps listed objects, tails and common prefixes to child keys', () => {
    const keys = new ObjectKeys('root');
    assert.equal(keys.childOf('p', 'root/p/file'), 'p/file');
    assert.equal(keys.childOf('p', `root/p/file${TAIL_SUFFIX}`), 'p/file');
    assert.equal(keys.childOf('p', 'root/p/dir/'), 'p/dir');
    assert.equal(keys.childOf('', 'root/top/'), 'top');
    // Strangers written by other tools are not keys.
    assert.equal(keys.childOf('p', 'root/p/with space'), undefined);
    assert.equal(keys.childOf('p', 'root/p/'), undefined);
    assert.equal(keys.childOf('p', 'root/other/file'), undefined);
  });

  it('tells what belongs to a key: itself, its tail, and everything below it, not its siblings', () => {
    const keys = new ObjectKeys('');
    assert.ok(keys.isAtOrBelow('a/b', 'a/b'));
    assert.ok(keys.isAtOrBelow('a/b', `a/b${TAIL_SUFFIX}`));
    assert.ok(keys.isAtOrBelow('a/b', 'a/b/c/d'));
    assert.ok(!keys.isAtOrBelow('a/b', 'a/bc'));
    assert.ok(!keys.isAtOrBelow('a/b', 'a/b-1/c'));
  });
});
