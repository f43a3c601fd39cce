// Certificates for external tokens: reading the configured root bundle, and checking a token's
// x5c chain up to one of those roots with node:crypto (signatures, issuer names, CA flags and
// validity dates). Only after the chain checks out is the leaf's key used to verify the token.
import { X509Certificate, type KeyObject } from 'node:crypto';
import { TokenError } from './token-error.js';

/** Thrown when the configured bundle is unusable; the message says why. */
export class CertificateBundleError extends Error {
  override readonly name = 'CertificateBundleError';
}

/** More than any real token server sends; bounds the work an attacker can cause. */
const MAX_CHAIN_LENGTH = 8;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Every CERTIFICATE block of a PEM bundle; other blocks are skipped. */
export function parseCertificateBundle(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new CertificateBundleError('the root certificate bundle holds no PEM certificate');
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new CertificateBundleError(`certificate ${index + 1} of the root certificate bundle cannot be parsed`);
    }
  });
}

/**
 * The leaf's public key, if the x5c header value is a chain (leaf first) that leads to one of the
 * roots: the leaf is itself a root, or each certificate is signed by the next one (a CA) and the
 * last by a root (a CA). Every certificate on the way must be valid at `now`.
 */
export function verifyCertificateChain(x5c: unknown, roots: readonly X509Certificate[], now: Date): KeyObject {
  const chain = decodeChain(x5c);
  const [leaf, ...intermediates] = chain;
  if (leaf === undefined) throw new TokenError('token certificate chain is empty');
  if (!validAt(leaf, now)) throw new TokenError('token certificate has expired or is not valid yet');
  let current = leaf;
  for (let depth = 0; depth <= intermediates.length; depth++) {
    const subject = current;
    if (roots.some((root) => root.raw.equals(subject.raw))) return leaf.publicKey;
    if (roots.some((root) => validAt(root, now) && issuedBy(subject, root))) return leaf.publicKey;
    const next = intermediates.find((candidate) => candidate !== subject && validAt(candidate, now) && issuedBy(subject, candidate));
    if (next === undefined) break;
    current = next;
  }
  throw new TokenError('token certificate chain does not lead to a trusted root');
}

function decodeChain(x5c: unknown): X509Certificate[] {
  if (!Array.isArray(x5c) || x5c.length === 0) throw new TokenError('token certificate chain is malformed');
  if (x5c.length > MAX_CHAIN_LENGTH) throw new TokenError('token certificate chain is too long');
  return x5c.map((entry: unknown) => {
    // x5c holds standard base64 DER (RFC 7515 4.1.6), not base64url and not PEM.
    if (typeof entry !== 'string' || !BASE64.test(entry)) throw new TokenError('token certificate chain is malformed');
    try {
      return new X509Certificate(Buffer.from(entry, 'base64'));
    } catch {
      throw new TokenError('token certificate chain is malformed');
    }
  });
}

function validAt(cert: X509Certificate, now: Date): boolean {
  const from = new Date(cert.validFrom).getTime();
  const to = new Date(cert.validTo).getTime();
  return Number.isFinite(from) && Number.isFinite(to) && from <= now.getTime() && now.getTime() <= to;
}

/** `child` names `parent` as issuer, `parent` is a CA, and `parent`'s key signed `child`. */
function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  if (!parent.ca || !child.checkIssued(parent)) return false;
  try {
    return child.verify(parent.publicKey);
  } catch {
    return false;
  }
}
