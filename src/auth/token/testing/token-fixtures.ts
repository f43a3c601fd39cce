// Test fixtures for the token module: certificates made with node-forge (root CAs,
// intermediates, leaves, expired ones), raw signing with any header (to forge the attacks a
// verifier must refuse), and an assertion that a verifier refuses a token for the exact reason.
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { CompactSign, type CompactJWSHeaderParameters } from 'jose';
import forge from 'node-forge';
import { TokenError } from '../token-error.js';

export interface TestCertificate {
  readonly pem: string;
  /** Standard base64 DER, as an x5c entry. */
  readonly x5c: string;
  readonly certificate: X509Certificate;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly forgeKey: forge.pki.rsa.PrivateKey;
  readonly subject: forge.pki.CertificateField[];
}

export interface CertificateOptions {
  readonly commonName: string;
  /** The CA that signs it; undefined: self-signed. */
  readonly issuer?: TestCertificate;
  readonly ca: boolean;
  /** keyCertSign in keyUsage without the CA flag: a certificate that must still not issue others. */
  readonly certSignWithoutCa?: boolean;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

const DAY_MS = 86_400_000;

/** An RSA-2048 certificate (forge signs with RSA only). */
export function makeCertificate(options: CertificateOptions): TestCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const forgeKey = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
  const forgePublic = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const cert = forge.pki.createCertificate();
  cert.publicKey = forgePublic;
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = options.notBefore ?? new Date(Date.now() - DAY_MS);
  cert.validity.notAfter = options.notAfter ?? new Date(Date.now() + 365 * DAY_MS);
  const subject: forge.pki.CertificateField[] = [{ name: 'commonName', value: options.commonName }];
  cert.setSubject(subject);
  cert.setIssuer(options.issuer?.subject ?? subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: options.ca, critical: true },
    options.ca || options.certSignWithoutCa === true
      ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }
      : { name: 'keyUsage', digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(options.issuer?.forgeKey ?? forgeKey, forge.md.sha256.create());
  const pem = forge.pki.certificateToPem(cert);
  const x5c = forge.util.encode64(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes());
  return { pem, x5c, certificate: new X509Certificate(pem), privateKey, publicKey, forgeKey, subject };
}

/** A compact JWS of `claims` with exactly `header`, signed by `key`. */
export async function signToken(
  header: CompactJWSHeaderParameters,
  claims: Record<string, unknown>,
  key: KeyObject,
): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims))).setProtectedHeader(header).sign(key);
}

/** Header and payload of a token, base64url, joined by a dot (the JWS signing input). */
export function signingInput(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode(header)}.${encode(claims)}`;
}

/** An `alg: none` token: no signature at all. */
export function unsignedToken(claims: Record<string, unknown>): string {
  return `${signingInput({ alg: 'none', typ: 'JWT' }, claims)}.`;
}

/** An HS256 token whose HMAC secret is `secret` (the public key, in the key-confusion attack). */
export function hmacToken(claims: Record<string, unknown>, secret: string | Buffer, kid?: string): string {
  const input = signingInput({ alg: 'HS256', typ: 'JWT', ...(kid === undefined ? {} : { kid }) }, claims);
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** Asserts that verifying `token` fails with a TokenError of exactly `reason`, not echoing the token. */
export async function assertRefused(verify: Promise<unknown>, reason: string, token: string): Promise<void> {
  await assert.rejects(verify, (error: unknown) => {
    assert.ok(error instanceof TokenError, `expected a TokenError, got ${String(error)}`);
    assert.equal(error.message, reason);
    if (token.length >= 8) assert.ok(!error.message.includes(token.slice(0, 20)), 'the reason must not contain the token');
    return true;
  });
}

export const DAY = DAY_MS;
