// Unit tests for the WWW-Authenticate parser: the shapes registries really send (Docker Hub,
// Distribution, GHCR, Berth), quoted commas, several challenges, and malformed input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseChallenges, type Challenge } from './challenge.js';

function plain(challenges: Challenge[]): Array<{ scheme: string; params: Record<string, string> }> {
  return challenges.map((c) => ({ scheme: c.scheme, params: Object.fromEntries(c.params) }));
}

describe('parseChallenges', () => {
  it('parses a Docker Hub Bearer challenge with a scope containing a comma', () => {
    const header = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull,push"';
    assert.deepEqual(plain(parseChallenges(header)), [
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull,push' },
      },
    ]);
  });

  it('parses Basic with charset, spaces around separators and case-insensitive names', () => {
    assert.deepEqual(plain(parseChallenges('basic  Realm = "Registry Realm" ,  charset="UTF-8"')), [
      { scheme: 'basic', params: { realm: 'Registry Realm', charset: 'UTF-8' } },
    ]);
  });

  it('parses several challenges in one header and across headers', () => {
    const one = 'Basic realm="a, b", Bearer realm="https://t.example/token",service=reg, Negotiate';
    assert.deepEqual(plain(parseChallenges(one)), [
      { scheme: 'basic', params: { realm: 'a, b' } },
      { scheme: 'bearer', params: { realm: 'https://t.example/token', service: 'reg' } },
      { scheme: 'negotiate', params: {} },
    ]);
    assert.deepEqual(
      plain(parseChallenges(['Negotiate', 'Bearer realm="r"'])).map((c) => c.scheme),
      ['negotiate', 'bearer'],
    );
  });

  it('unescapes quoted pairs and keeps the first of duplicate parameters', () => {
    assert.deepEqual(plain(parseChallenges('Bearer realm="a\\"b\\\\c", realm="second", error="insufficient_scope"')), [
      { scheme: 'bearer', params: { realm: 'a"b\\c', error: 'insufficient_scope' } },
    ]);
  });

  it('accepts an unquoted realm URL and a token68', () => {
    assert.deepEqual(plain(parseChallenges('Bearer realm=https://h.example/token?x=1,service=s')), [
      { scheme: 'bearer', params: { realm: 'https://h.example/token?x=1', service: 's' } },
    ]);
    assert.deepEqual(plain(parseChallenges('Custom abc+/def==, Basic realm=x')), [
      { scheme: 'custom', params: {} },
      { scheme: 'basic', params: { realm: 'x' } },
    ]);
  });

  it('returns nothing for an absent or empty header, and tolerates an unterminated quote', () => {
    assert.deepEqual(parseChallenges(undefined), []);
    assert.deepEqual(parseChallenges(''), []);
    assert.deepEqual(parseChallenges(' , ,'), []);
    assert.deepEqual(plain(parseChallenges('Bearer realm="https://x/token')), [{ scheme: 'bearer', params: { realm: 'https://x/token' } }]);
  });

  it('never throws and terminates on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const challenges = parseChallenges(text);
        assert.ok(Array.isArray(challenges));
      }),
    );
  });
});
