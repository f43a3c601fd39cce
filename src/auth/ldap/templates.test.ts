import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fillDn, fillFilter, firstDnValue } from './templates.js';

describe('LDAP templates', () => {
  it('escapes filter values so that they match literally (RFC 4515)', () => {
    assert.equal(fillFilter('(uid={username})', { username: 'alice' }), '(uid=alice)');
    assert.equal(fillFilter('(uid={username})', { username: '*)(uid=*' }), '(uid=\\2a\\29\\28uid=\\2a)');
    assert.equal(fillFilter('(uid={username})', { username: 'a\\b\0' }), '(uid=a\\5cb\\00)');
    assert.equal(fillFilter('(member={dn})', { dn: 'uid=a(b),dc=x' }), '(member=uid=a\\28b\\29,dc=x)');
    assert.equal(fillFilter('(x={unknown})', {}), '(x={unknown})');
  });

  it('escapes DN values (RFC 4514)', () => {
    assert.equal(fillDn('uid={username},ou=people,dc=x', 'alice'), 'uid=alice,ou=people,dc=x');
    assert.equal(fillDn('uid={username},ou=people,dc=x', 'a,ou=admins'), 'uid=a\\,ou\\=admins,ou=people,dc=x');
  });

  it("names a group by its DN's first value", () => {
    assert.equal(firstDnValue('cn=developers,ou=groups,dc=example,dc=org'), 'developers');
    assert.equal(firstDnValue('CN=Dev\\, Ops,OU=Groups,DC=corp'), 'Dev, Ops');
    assert.equal(firstDnValue('cn=caf\\c3\\a9,dc=x'), 'caf\u00e9');
    assert.equal(firstDnValue(''), undefined);
  });
});
