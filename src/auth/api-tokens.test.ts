// API token secrets: the shown format, parsing of what clients send, and the stored hash.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { createApiTokenSecret, hashTokenSecret, parseApiToken, tokenSecretMatches } from './api-tokens.js';

describe('API tokens', () => {
  it('creates berth_<16 hex id>_<64 hex secret>, different every time', () => {
    const a = createApiTokenSecret();
    const b = createApiTokenSecret();
    assert.match(a.id, /^[0-9a-f]{16}$/);
    assert.match(a.secret, /^[0-9a-f]{64}$/);
    assert.equal(a.token, `berth_${a.id}_${a.secret}`);
    assert.notEqual(a.id, b.id);
    assert.notEqual(a.secret, b.secret);
  });

  it('parses its own tokens and nothing else', () => {
    const created = createApiTokenSecret();
    assert.deepEqual(parseApiToken(created.token), { id: created.id, secret: created.secret });
    for (const text of [
      '',
      'password123',
      created.token.toUpperCase(),
      `${created.token}0`,
      created.token.slice(0, -1),
      `berth_${created.id}${created.secret}`,
      `berth-${created.id}_${created.secret}`,
      ` ${created.token}`,
    ]) {
      assert.equal(parseApiToken(text), undefined, text);
    }
  });

  it('stores sha256(secret) in hex and matches only the right secret', () => {
    const { secret } = createApiTokenSecret();
    const hash = hashTokenSecret(secret);
    assert.equal(hash, createHash('sha256').update(secret).digest('hex'));
    assert.equal(tokenSecretMatches(secret, hash), true);
    assert.equal(tokenSecretMatches(createApiTokenSecret().secret, hash), false);
    assert.equal(tokenSecretMatches(secret, hash.slice(0, -2)), false, 'a truncated hash matches nothing');
    assert.equal(tokenSecretMatches(secret, ''), false);
    assert.equal(tokenSecretMatches(secret, 'not hex'), false);
  });
});
