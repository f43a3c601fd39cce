// Unit tests for the token answer of a Docker token server: `token` or `access_token`, the
// expiry (default 60 s, minus a safety margin), and the protocol errors of malformed answers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTokenAnswer } from './upstream-auth.js';
import { UpstreamError } from './upstream-error.js';

const now = 1_000_000;
const parse = (json: string) => parseTokenAnswer(Buffer.from(json), 'test', now);

describe('parseTokenAnswer', () => {
  it('accepts token or access_token, preferring token', () => {
    assert.equal(parse('{"token":"a"}').token, 'a');
    assert.equal(parse('{"access_token":"b"}').token, 'b');
    assert.equal(parse('{"token":"a","access_token":"b"}').token, 'a');
    assert.equal(parse('{"token":"","access_token":"b"}').token, 'b');
  });

  it('expires a quarter of the lifetime (at most 30 s) early; 60 s when expires_in is absent or invalid', () => {
    assert.equal(parse('{"token":"a"}').expiresAt, now + 45_000);
    assert.equal(parse('{"token":"a","expires_in":-5}').expiresAt, now + 45_000);
    assert.equal(parse('{"token":"a","expires_in":"300"}').expiresAt, now + 45_000);
    assert.equal(parse('{"token":"a","expires_in":300}').expiresAt, now + 270_000);
    assert.equal(parse('{"token":"a","expires_in":4}').expiresAt, now + 3_000);
  });

  it('rejects answers that are not JSON objects with a token as protocol errors', () => {
    for (const body of ['not json', '[]', 'null', '"token"', '{}', '{"token":5}', '{"token":""}']) {
      assert.throws(
        () => parse(body),
        (error: unknown) => error instanceof UpstreamError && error.kind === 'protocol',
        body,
      );
    }
  });
});
