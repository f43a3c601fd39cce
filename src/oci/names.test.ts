// Unit tests for the repository-name and tag grammars: a name that passes here becomes part of
// storage keys and queries, so anything path-like must be refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  describeInvalidName,
  isValidRepositoryName,
  isValidTag,
  maxRepositoryNameLength,
  NameFormatError,
  parseRepositoryName,
} from './names.js';

describe('isValidRepositoryName', () => {
  it('accepts single and multi-segment names', () => {
    for (const name of ['a', '0', 'library', 'ubuntu', 'library/ubuntu', 'a/b/c/d/e', 'team1/sub2/app3', 'x/y']) {
      assert.ok(isValidRepositoryName(name), name);
    }
  });

  it('accepts the separators ".", "_", "__", "-" and runs of "-"', () => {
    for (const name of ['a.b', 'a_b', 'a__b', 'a-b', 'a--b', 'a---------b', 'my.app_v2__x-y--z', 'org/my-app.v1', 'a.b.c/d_e']) {
      assert.ok(isValidRepositoryName(name), name);
    }
  });

  it('rejects separators that the grammar does not allow', () => {
    for (const name of ['a..b', 'a___b', 'a._b', 'a_.b', 'a-.b', 'a.-b', 'a_-b', 'a-_b']) {
      assert.ok(!isValidRepositoryName(name), name);
    }
  });

  it('rejects uppercase and characters outside [a-z0-9._/-]', () => {
    for (const name of ['A', 'Library/ubuntu', 'library/Ubuntu', 'a b', 'a:b', 'a@b', 'a+b', 'a\\b', 'caf\u00e9', 'a\u0000b', 'a~b']) {
      assert.ok(!isValidRepositoryName(name), JSON.stringify(name));
    }
  });

  it('rejects leading and trailing separators', () => {
    for (const name of ['.a', '_a', '-a', 'a.', 'a_', 'a-', 'a__', '/a', 'a/', 'a/.b', 'a/b.', 'a/-b', 'a-/b', '-']) {
      assert.ok(!isValidRepositoryName(name), name);
    }
  });

  it('rejects empty segments and path traversal', () => {
    for (const name of [
      '',
      '/',
      '//',
      'a//b',
      'a///b',
      '..',
      '.',
      'a/..',
      '../a',
      'a/../b',
      'a/./b',
      '%2e%2e',
      'a/%2e%2e/b',
      'a%2fb',
      '%2e',
    ]) {
      assert.ok(!isValidRepositoryName(name), JSON.stringify(name));
    }
  });

  it('rejects names with line breaks around a valid name', () => {
    for (const name of ['a\n', '\na', 'a\nb', 'a\r\n', 'a/b\n']) {
      assert.ok(!isValidRepositoryName(name), JSON.stringify(name));
    }
  });

  it('limits the whole name to 255 characters', () => {
    assert.equal(maxRepositoryNameLength, 255);
    const exactly = `${'a'.repeat(127)}/${'b'.repeat(127)}`;
    assert.equal(exactly.length, 255);
    assert.ok(isValidRepositoryName(exactly));
    assert.ok(isValidRepositoryName('a'.repeat(255)));
    assert.ok(!isValidRepositoryName('a'.repeat(256)));
    assert.ok(!isValidRepositoryName(`${exactly}c`));
  });

  it('answers quickly for long hostile input', () => {
    // The length check comes before the regex, and the grammar itself has no ambiguous repetition.
    assert.ok(!isValidRepositoryName(`${'a-'.repeat(100_000)}!`));
    assert.ok(!isValidRepositoryName(`${'a_'.repeat(127)}!`));
    assert.ok(!isValidRepositoryName(`${'a--'.repeat(84)}!`));
  });
});

describe('parseRepositoryName', () => {
  it('returns a valid name unchanged', () => {
    const name: string = parseRepositoryName('library/ubuntu');
    assert.equal(name, 'library/ubuntu');
  });

  it('throws NameFormatError with a reason', () => {
    assert.throws(
      () => parseRepositoryName(''),
      (error: unknown) => {
        assert.ok(error instanceof NameFormatError);
        assert.equal(error.name, 'NameFormatError');
        assert.match(error.message, /empty/);
        return true;
      },
    );
    assert.throws(() => parseRepositoryName('a'.repeat(300)), NameFormatError);
    assert.throws(() => parseRepositoryName('a'.repeat(300)), /300 characters; the limit is 255/);
    assert.throws(() => parseRepositoryName('Library/Ubuntu'), NameFormatError);
    assert.throws(() => parseRepositoryName('Library/Ubuntu'), /lower-case path components/);
    assert.throws(() => parseRepositoryName('a/../b'), NameFormatError);
  });
});

describe('describeInvalidName', () => {
  it('says what is wrong', () => {
    assert.equal(describeInvalidName(''), 'repository name is empty');
    assert.match(describeInvalidName('a'.repeat(256)), /256 characters/);
    assert.match(describeInvalidName('UPPER'), /lower-case path components/);
  });
});

describe('isValidTag', () => {
  it('accepts tags in the grammar', () => {
    for (const tag of ['latest', 'v1.2.3', '1', '_', '_private', 'Latest', 'UPPER', 'a-b_c.d', 'sha256-abc.sig', '0.1--rc_2']) {
      assert.ok(isValidTag(tag), tag);
    }
  });

  it('rejects a leading "." or "-", and characters outside [A-Za-z0-9._-]', () => {
    for (const tag of ['', '.', '..', '.hidden', '-x', 'a/b', 'a:b', 'a b', 'a@b', 'a+b', '../x', 'caf\u00e9', 'a\n', '\na', 'a\u0000']) {
      assert.ok(!isValidTag(tag), JSON.stringify(tag));
    }
  });

  it('limits tags to 128 characters', () => {
    assert.ok(isValidTag('a'.repeat(128)));
    assert.ok(isValidTag(`_${'.'.repeat(127)}`));
    assert.ok(!isValidTag('a'.repeat(129)));
  });

  it('does not accept a digest as a tag', () => {
    assert.ok(!isValidTag(`sha256:${'a'.repeat(64)}`));
  });
});

describe('repository names (property)', () => {
  const alphabet = fc.constantFrom(...'abz09._-/.A%\\ ');
  const component = fc.stringMatching(/^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/);
  const candidate = fc.oneof(
    fc.string({ unit: alphabet, maxLength: 40 }),
    fc.string({ maxLength: 300 }),
    fc.array(component, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('/')),
    fc.array(fc.oneof(component, fc.constantFrom('', '.', '..', '%2e')), { minLength: 1, maxLength: 6 }).map((parts) => parts.join('/')),
  );

  it('every accepted name is safe to put in a path', () => {
    let accepted = 0;
    fc.assert(
      fc.property(candidate, (name) => {
        if (!isValidRepositoryName(name)) return;
        accepted++;
        assert.ok(!name.includes('..'), name);
        assert.ok(!name.includes('//'), name);
        assert.ok(!name.startsWith('/'), name);
        assert.ok(!name.endsWith('/'), name);
        assert.ok(name.length >= 1 && name.length <= 255, name);
        assert.match(name, /^[a-z0-9._/-]+$/);
        assert.equal(parseRepositoryName(name), name);
      }),
      { numRuns: 3000 },
    );
    assert.ok(accepted > 0, 'the generator produced some valid names');
  });

  it('every name built from valid components is accepted (up to the length limit)', () => {
    fc.assert(
      fc.property(fc.array(component, { minLength: 1, maxLength: 6 }), (parts) => {
        const name = parts.join('/');
        assert.equal(isValidRepositoryName(name), name.length <= 255, name);
      }),
    );
  });
});
