// Unit tests for digest parsing: only canonical sha256/sha512 digests get through, because a
// digest that passes here is later turned into a storage key and a query parameter.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Digest, DigestFormatError, isDigestAlgorithm } from './digest.js';

const sha256Hex = 'a'.repeat(64);
const sha512Hex = '0123456789abcdef'.repeat(8);
/** sha256 of the empty string, a well-known value. */
const emptySha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function reasonFor(value: string): string {
  const result = Digest.tryParse(value);
  assert.equal(typeof result, 'string', `expected "${value}" to be rejected`);
  return result as string;
}

describe('Digest.parse', () => {
  it('accepts sha256 and sha512 digests of the right length', () => {
    const a = Digest.parse(`sha256:${sha256Hex}`);
    assert.equal(a.algorithm, 'sha256');
    assert.equal(a.hex, sha256Hex);
    const b = Digest.parse(`sha512:${sha512Hex}`);
    assert.equal(b.algorithm, 'sha512');
    assert.equal(b.hex, sha512Hex);
  });

  it('round-trips through toString and JSON', () => {
    for (const value of [`sha256:${emptySha256}`, `sha512:${sha512Hex}`]) {
      const digest = Digest.parse(value);
      assert.equal(digest.toString(), value);
      assert.equal(`${digest}`, value);
      assert.equal(JSON.stringify({ digest }), JSON.stringify({ digest: value }));
      assert.ok(Digest.parse(digest.toString()).equals(digest));
    }
  });

  it('rejects uppercase hex, saying it must be lowercase', () => {
    assert.match(reasonFor(`sha256:${'A'.repeat(64)}`), /64 lowercase hex/);
    assert.match(reasonFor(`sha256:${emptySha256.toUpperCase()}`), /lowercase hex/);
    assert.match(reasonFor(`sha512:${sha512Hex.toUpperCase()}`), /128 lowercase hex/);
  });

  it('rejects an uppercase algorithm', () => {
    assert.equal(typeof Digest.tryParse(`SHA256:${sha256Hex}`), 'string');
  });

  it('rejects wrong lengths', () => {
    assert.match(reasonFor(`sha256:${sha256Hex.slice(1)}`), /must be 64/);
    assert.match(reasonFor(`sha256:${sha256Hex}a`), /must be 64/);
    assert.match(reasonFor(`sha256:${sha512Hex}`), /must be 64/);
    assert.match(reasonFor(`sha512:${sha256Hex}`), /must be 128/);
    assert.match(reasonFor(`sha512:${sha512Hex}0`), /must be 128/);
  });

  it('rejects non-hex characters that the general grammar allows', () => {
    assert.match(reasonFor(`sha256:${'g'.repeat(64)}`), /hex/);
    assert.match(reasonFor(`sha256:${'a'.repeat(62)}==`), /hex/);
    assert.match(reasonFor(`sha256:${'a'.repeat(63)}_`), /hex/);
  });

  it('rejects unknown algorithms as unsupported, naming them', () => {
    assert.match(reasonFor(`md5:${'a'.repeat(32)}`), /unsupported digest algorithm "md5"/);
    assert.match(reasonFor(`sha384:${'a'.repeat(96)}`), /unsupported digest algorithm "sha384"/);
    assert.match(reasonFor(`sha256+b64u:${'a'.repeat(43)}`), /unsupported digest algorithm "sha256\+b64u"/);
    assert.match(reasonFor(`multihash+base58:${'a'.repeat(46)}`), /unsupported/);
  });

  it('rejects malformed strings', () => {
    const malformed = [
      '',
      ':',
      'sha256',
      'sha256:',
      `:${sha256Hex}`,
      sha256Hex,
      `sha256;${sha256Hex}`,
      `sha256 :${sha256Hex}`,
      ` sha256:${sha256Hex}`,
      `sha256:${sha256Hex} `,
      `sha256:${sha256Hex}\n`,
      `\nsha256:${sha256Hex}`,
      `sha256::${sha256Hex}`,
      `sha256:${sha256Hex}:x`,
      `-sha256:${sha256Hex}`,
      `sha256-:${sha256Hex}`,
      `sha256:${sha256Hex}\u0000`,
      `sha256:\u00e9${sha256Hex.slice(1)}`,
    ];
    for (const value of malformed) {
      assert.equal(reasonFor(value), 'malformed digest', JSON.stringify(value));
    }
  });

  it('rejects path-ish values before they can become a storage key', () => {
    for (const value of [
      'sha256:../../etc',
      'sha256:../../etc/passwd',
      `sha256:${'a'.repeat(32)}/${'a'.repeat(31)}`,
      `sha256:${'a'.repeat(32)}\\${'a'.repeat(31)}`,
      `sha256:..${'a'.repeat(62)}`,
      `../sha256:${sha256Hex}`,
      `sha256/../x:${sha256Hex}`,
      `sha256:%2e%2e${'a'.repeat(58)}`,
    ]) {
      assert.equal(typeof Digest.tryParse(value), 'string', value);
      assert.throws(() => Digest.parse(value), DigestFormatError, value);
    }
  });

  it('rejects over-long input without echoing all of it', () => {
    const long = `sha256:${'a'.repeat(10_000)}`;
    assert.equal(reasonFor(long), 'malformed digest');
    assert.equal(reasonFor(`${'a'.repeat(250)}:${'a'.repeat(64)}`), 'malformed digest');
    assert.throws(
      () => Digest.parse(long),
      (error: unknown) => {
        assert.ok(error instanceof DigestFormatError);
        assert.equal(error.value, long);
        assert.equal(error.reason, 'malformed digest');
        assert.ok(error.message.length < 400, 'the message is truncated');
        return true;
      },
    );
  });

  it('throws DigestFormatError carrying the value and the reason', () => {
    assert.throws(
      () => Digest.parse(`md5:${'a'.repeat(32)}`),
      (error: unknown) => {
        assert.ok(error instanceof DigestFormatError);
        assert.equal(error.name, 'DigestFormatError');
        assert.equal(error.value, `md5:${'a'.repeat(32)}`);
        assert.match(error.reason, /unsupported/);
        assert.match(error.message, /invalid digest "md5:a+": unsupported digest algorithm "md5"/);
        return true;
      },
    );
  });
});

describe('Digest.of and Digest.fromHash', () => {
  it('hashes content with sha256 by default', () => {
    assert.equal(Digest.of(new Uint8Array()).toString(), `sha256:${emptySha256}`);
    const content = Buffer.from('hello, berth');
    const expected = createHash('sha256').update(content).digest('hex');
    assert.equal(Digest.of(content).toString(), `sha256:${expected}`);
  });

  it('hashes content with sha512 on request', () => {
    const content = new TextEncoder().encode('hello, berth');
    const digest = Digest.of(content, 'sha512');
    assert.equal(digest.algorithm, 'sha512');
    assert.equal(digest.hex, createHash('sha512').update(content).digest('hex'));
    assert.equal(digest.hex.length, 128);
  });

  it('hashes only the view of a Uint8Array, not its whole buffer', () => {
    const backing = Buffer.from('xxhelloxx');
    const view = backing.subarray(2, 7);
    assert.ok(Digest.of(view).equals(Digest.of(Buffer.from('hello'))));
  });

  it('fromHash finishes a streaming hash into the same digest', () => {
    const hash = createHash('sha256');
    hash.update('hello, ');
    hash.update('berth');
    const digest = Digest.fromHash('sha256', hash);
    assert.ok(digest.equals(Digest.of(Buffer.from('hello, berth'))));
    assert.ok(Digest.parse(digest.toString()).equals(digest));
  });

  it('results of of() and fromHash() parse back to an equal digest', () => {
    for (const algorithm of ['sha256', 'sha512'] as const) {
      const digest = Digest.of(Buffer.from('abc'), algorithm);
      const reparsed = Digest.tryParse(digest.toString());
      assert.ok(reparsed instanceof Digest);
      assert.ok(reparsed.equals(digest));
    }
  });
});

describe('Digest.equals', () => {
  it('compares algorithm and hex', () => {
    const a = Digest.parse(`sha256:${sha256Hex}`);
    assert.ok(a.equals(Digest.parse(`sha256:${sha256Hex}`)));
    assert.ok(!a.equals(Digest.parse(`sha256:${'b'.repeat(64)}`)));
    assert.ok(!Digest.of(Buffer.from('x'), 'sha256').equals(Digest.of(Buffer.from('x'), 'sha512')));
  });
});

describe('isDigestAlgorithm', () => {
  it('knows only sha256 and sha512', () => {
    assert.ok(isDigestAlgorithm('sha256'));
    assert.ok(isDigestAlgorithm('sha512'));
    for (const other of ['md5', 'sha384', 'SHA256', '', 'sha256 ']) assert.ok(!isDigestAlgorithm(other), other);
  });
});

describe('Digest.tryParse (property)', () => {
  const hexChars = fc.constantFrom(...'0123456789abcdefABCDEF');
  // Near-misses of real digests, plus arbitrary strings, so both sides of the check are exercised.
  const candidate = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc
      .tuple(
        fc.constantFrom('sha256', 'sha512', 'SHA256', 'md5', 'sha384', 'sha256+b64u', '', 'sha256:'),
        fc.constantFrom(':', '', '::', '/'),
        fc.oneof(
          fc.string({ unit: hexChars, minLength: 60, maxLength: 130 }),
          fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }),
          fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 128, maxLength: 128 }),
          fc.string({ unit: fc.constantFrom(...'0123456789abcdef./%'), minLength: 60, maxLength: 130 }),
        ),
      )
      .map(([algorithm, separator, encoded]) => algorithm + separator + encoded),
  );

  it('accepts only canonical strings made of [a-z0-9:]', () => {
    let accepted = 0;
    fc.assert(
      fc.property(candidate, (value) => {
        const result = Digest.tryParse(value);
        if (typeof result === 'string') return;
        accepted++;
        assert.equal(result.toString(), value, 'accepted digests are canonical');
        assert.match(value, /^[a-z0-9:]+$/);
        assert.match(value, /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/);
      }),
      { numRuns: 2000 },
    );
    assert.ok(accepted > 0, 'the generator produced some valid digests');
  });
});
