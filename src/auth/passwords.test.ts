// bcrypt hashing: the cost is honoured, the $2y$ prefix htpasswd writes is produced and accepted,
// wrong passwords and non-bcrypt hashes are refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bcryptCostOf, hashPassword, isBcryptHash, passwordTooLongForBcrypt, verifyPassword } from './passwords.js';

// The crypt_blowfish test vector for "U*U", with the prefix `htpasswd -B` writes.
const HTPASSWD_STYLE = '$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW';

describe('passwords', () => {
  it('hashes with the requested cost and the $2y$ prefix, and verifies the result', async () => {
    const hash = await hashPassword('correct horse', 5);
    assert.match(hash, /^\$2y\$05\$[./A-Za-z0-9]{53}$/);
    assert.equal(bcryptCostOf(hash), 5);
    assert.equal(bcryptCostOf(await hashPassword('x', 4)), 4);
    assert.equal(await verifyPassword('correct horse', hash), true);
    assert.equal(await verifyPassword('correct horsf', hash), false);
    assert.equal(await verifyPassword('', hash), false);
  });

  it('salts every hash', async () => {
    const [a, b] = await Promise.all([hashPassword('same', 4), hashPassword('same', 4)]);
    assert.notEqual(a, b);
  });

  it('accepts $2a$, $2b$ and $2y$ hashes of other tools', async () => {
    assert.equal(await verifyPassword('U*U', HTPASSWD_STYLE), true);
    assert.equal(await verifyPassword('U*U', HTPASSWD_STYLE.replace('$2y$', '$2a$')), true);
    assert.equal(await verifyPassword('U*U', HTPASSWD_STYLE.replace('$2y$', '$2b$')), true);
    assert.equal(await verifyPassword('U*V', HTPASSWD_STYLE), false);
  });

  it('is false for anything that is not bcrypt, without throwing', async () => {
    for (const hash of [
      '',
      'plaintext',
      '$apr1$abcdefgh$0123456789abcdefghijkl',
      '{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=',
      '$6$salt$hash',
      '$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW',
      HTPASSWD_STYLE.slice(0, -1),
      `${HTPASSWD_STYLE}x`,
    ]) {
      assert.equal(isBcryptHash(hash), false, hash);
      assert.equal(await verifyPassword('U*U', hash), false, hash);
    }
  });

  it('refuses costs outside 4..31', async () => {
    await assert.rejects(hashPassword('x', 3), RangeError);
    await assert.rejects(hashPassword('x', 32), RangeError);
    await assert.rejects(hashPassword('x', 4.5), RangeError);
  });

  it('knows when bcrypt would ignore the end of a password (over 72 bytes)', () => {
    assert.equal(passwordTooLongForBcrypt('a'.repeat(72)), false);
    assert.equal(passwordTooLongForBcrypt('a'.repeat(73)), true);
    assert.equal(passwordTooLongForBcrypt('é'.repeat(37)), true, 'counted in UTF-8 bytes');
  });
});
