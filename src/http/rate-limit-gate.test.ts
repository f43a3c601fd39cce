// The client address the rate limits count: X-Forwarded-For is believed only from trusted
// proxies, and only as far as the trusted hops go.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { AddressRanges } from '../oci/address-range.js';
import { forwardedClientAddress } from './rate-limit-gate.js';

/** The two fields forwardedClientAddress reads. */
function request(peer: string, forwardedFor?: string): FastifyRequest {
  return {
    socket: { remoteAddress: peer },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  } as unknown as FastifyRequest;
}

describe('forwardedClientAddress', () => {
  const trusted = new AddressRanges(['192.0.2.10', '10.0.0.0/8']);

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    assert.equal(forwardedClientAddress(request('198.51.100.1', '203.0.113.5'), trusted), '198.51.100.1');
    assert.equal(forwardedClientAddress(request('198.51.100.1', '203.0.113.5'), new AddressRanges([])), '198.51.100.1');
  });

  it('takes the last entry that is not a trusted proxy', () => {
    assert.equal(forwardedClientAddress(request('192.0.2.10', '203.0.113.5'), trusted), '203.0.113.5');
    assert.equal(forwardedClientAddress(request('192.0.2.10', '1.2.3.4, 203.0.113.5, 10.1.1.1'), trusted), '203.0.113.5');
    assert.equal(forwardedClientAddress(request('192.0.2.10', '2001:db8::1'), trusted), '2001:db8::1');
    assert.equal(forwardedClientAddress(request('192.0.2.10'), trusted), '192.0.2.10');
  });

  it('stops at an entry that is not an address, counting the hop after it', () => {
    assert.equal(forwardedClientAddress(request('192.0.2.10', 'evil, 10.1.1.1'), trusted), '10.1.1.1');
    assert.equal(forwardedClientAddress(request('192.0.2.10', 'unknown'), trusted), '192.0.2.10');
    assert.equal(forwardedClientAddress(request('192.0.2.10', '10.2.2.2, 10.1.1.1'), trusted), '10.2.2.2');
  });
});
