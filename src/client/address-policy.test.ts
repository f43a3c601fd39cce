// Unit tests for the SSRF address policy: which addresses are loopback, link-local, private or
// otherwise not to be connected to (IPv4, IPv6 and IPv6 forms that carry an IPv4 address), and
// the URL check of realms and redirect targets (schemes, https downgrade, the upstream's host).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkTarget, classifyAddress, guardedLookup, isAllowedClass, TargetRefusedError } from './address-policy.js';

describe('classifyAddress', () => {
  const cases: Array<[string, string]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.1.2', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['172.15.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['8.8.8.8', 'public'],
    ['93.184.216.34', 'public'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['ff02::1', 'multicast'],
    ['2001:4860:4860::8888', 'public'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['[::ffff:7f00:1]', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:8.8.8.8', 'public'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['64:ff9b::8.8.8.8', 'public'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:0808:0808::1', 'public'],
  ];
  for (const [address, expected] of cases) {
    it(`${address} is ${expected}`, () => assert.equal(classifyAddress(address), expected));
  }

  it('returns undefined for names', () => {
    assert.equal(classifyAddress('localhost'), undefined);
    assert.equal(classifyAddress('registry-1.docker.io'), undefined);
    assert.equal(classifyAddress('1.2.3'), undefined);
  });
});

describe('isAllowedClass', () => {
  it('allows private classes only when asked, and never unspecified, multicast or reserved', () => {
    for (const kind of ['loopback', 'link-local', 'private'] as const) {
      assert.equal(isAllowedClass(kind, false), false);
      assert.equal(isAllowedClass(kind, true), true);
    }
    for (const kind of ['unspecified', 'multicast', 'reserved'] as const) assert.equal(isAllowedClass(kind, true), false);
    assert.equal(isAllowedClass('public', false), true);
  });
});

describe('checkTarget', () => {
  const https = new URL('https://registry.example.com');
  const http = new URL('http://127.0.0.1:5000');

  it('refuses schemes other than http and https', () => {
    for (const target of ['file:///etc/passwd', 'ftp://x.example/', 'gopher://x.example/', 'data:text/plain,x']) {
      assert.throws(() => checkTarget(new URL(target), { upstream: https, allowPrivateAddresses: true }), TargetRefusedError);
    }
  });

  it('refuses a downgrade from an https upstream or an https hop to http', () => {
    assert.throws(() => checkTarget(new URL('http://cdn.example.com/blob'), { upstream: https, allowPrivateAddresses: true }), /downgrade/);
    // Even to the upstream's own host.
    assert.throws(
      () => checkTarget(new URL('http://registry.example.com/x'), { upstream: https, allowPrivateAddresses: true }),
      /downgrade/,
    );
    assert.throws(
      () => checkTarget(new URL('http://b.example/'), { upstream: http, from: new URL('https://a.example/'), allowPrivateAddresses: true }),
      /downgrade/,
    );
    assert.deepEqual(checkTarget(new URL('https://cdn.example.com/blob'), { upstream: https, allowPrivateAddresses: false }), {
      trusted: false,
    });
    assert.deepEqual(checkTarget(new URL('https://cdn.example.com/blob'), { upstream: http, allowPrivateAddresses: false }), {
      trusted: false,
    });
  });

  it("trusts the upstream's own host and port, even on loopback", () => {
    assert.deepEqual(checkTarget(new URL('http://127.0.0.1:5000/token'), { upstream: http, allowPrivateAddresses: false }), {
      trusted: true,
    });
    assert.throws(() => checkTarget(new URL('http://127.0.0.1:5001/token'), { upstream: http, allowPrivateAddresses: false }), /loopback/);
    assert.deepEqual(checkTarget(new URL('http://127.0.0.1:5001/token'), { upstream: http, allowPrivateAddresses: true }), {
      trusted: false,
    });
  });

  it('refuses IP literals in private classes, in every spelling, unless allowed', () => {
    for (const target of [
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://2130706433/',
      'http://0x7f.1/',
      'http://10.0.0.1/',
      'http://[fd00::1]/',
    ]) {
      assert.throws(
        () => checkTarget(new URL(target), { upstream: https, from: http, allowPrivateAddresses: false }),
        TargetRefusedError,
        target,
      );
    }
    assert.throws(() => checkTarget(new URL('http://0.0.0.0:5000/'), { upstream: http, allowPrivateAddresses: true }), /unspecified/);
    assert.deepEqual(checkTarget(new URL('https://8.8.8.8/'), { upstream: https, allowPrivateAddresses: false }), { trusted: false });
  });
});

describe('guardedLookup', () => {
  function resolve(hostname: string, allowPrivate: boolean, all: boolean): Promise<unknown> {
    return new Promise((done, fail) => {
      guardedLookup(allowPrivate)(hostname, { all }, (error, address) => (error ? fail(error) : done(address)));
    });
  }

  it('refuses a name that resolves to loopback, and allows it when private addresses are allowed', async () => {
    await assert.rejects(resolve('localhost', false, false), TargetRefusedError);
    await assert.rejects(resolve('localhost', false, true), TargetRefusedError);
    const single = await resolve('localhost', true, false);
    assert.equal(typeof single, 'string');
    const list = await resolve('localhost', true, true);
    assert.ok(Array.isArray(list) && list.length > 0);
  });
});
