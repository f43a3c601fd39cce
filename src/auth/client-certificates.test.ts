import assert from 'node:assert/strict';
import type { PeerCertificate } from 'node:tls';
import { describe, it } from 'node:test';
import { certificateName } from './client-certificates.js';

const certificate = (subject: Record<string, string | string[]>, subjectaltname?: string): PeerCertificate =>
  ({ subject, ...(subjectaltname === undefined ? {} : { subjectaltname }) }) as unknown as PeerCertificate;

describe('the user a client certificate names', () => {
  it('takes the subject CN, or the first email or DNS name', () => {
    const both = certificate({ CN: 'ci-1' }, 'DNS:ci-1.machines.example.org, email:ci@example.org, DNS:other.example.org');
    assert.equal(certificateName(both, 'cn'), 'ci-1');
    assert.equal(certificateName(both, 'san-dns'), 'ci-1.machines.example.org');
    assert.equal(certificateName(both, 'san-email'), 'ci@example.org');
    assert.equal(certificateName(certificate({ CN: ['first', 'second'] }), 'cn'), 'first');
  });

  it('has no name when the part asked for is missing', () => {
    assert.equal(certificateName(certificate({ O: 'org' }), 'cn'), undefined);
    assert.equal(certificateName(certificate({ CN: 'x' }, 'DNS:x.example.org'), 'san-email'), undefined);
    assert.equal(certificateName(certificate({ CN: 'x' }), 'san-dns'), undefined);
  });
});
