// Test fixtures for the token module: certificates made with @peculiar/asn1-x509 (root CAs,
// intermediates, leaves, expired ones), raw signing with any header (to forge the attacks a
// verifier must refuse), and an assertion that a verifier refuses a token for the exact reason.
import assert from 'node:assert/strict';
import { createHash, createHmac, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  BasicConstraints,
  Certificate,
  Extension,
  Extensions,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import { CompactSign, type CompactJWSHeaderParameters } from 'jose';
import { TokenError } from '../token-error.js';

export interface TestCertificate {
  readonly pem: string;
  /** Standard base64 DER, as an x5c entry. */
  readonly x5c: string;
  readonly certificate: X509Certificate;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly subject: Name;
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

function extension(extnID: string, value: unknown, critical: boolean): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** An RSA-2048 certificate, SHA-256 with RSA signed by its issuer (or itself). */
export function makeCertificate(options: CertificateOptions): TestCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = AsnConvert.parse(publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo);
  const subject = new Name([
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({ type: '2.5.4.3', value: new AttributeValue({ utf8String: options.commonName }) }),
    ]),
  ]);
  const usage =
    options.ca || options.certSignWithoutCa === true
      ? KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign | KeyUsageFlags.digitalSignature
      : KeyUsageFlags.digitalSignature;
  const algorithm = new AlgorithmIdentifier({ algorithm: '1.2.840.113549.1.1.11', parameters: null });
  const tbsCertificate = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array(Buffer.from(`01${randomBytes(8).toString('hex')}`, 'hex')).buffer,
    signature: algorithm,
    issuer: options.issuer?.subject ?? subject,
    validity: new Validity({
      notBefore: options.notBefore ?? new Date(Date.now() - DAY_MS),
      notAfter: options.notAfter ?? new Date(Date.now() + 365 * DAY_MS),
    }),
    subject,
    subjectPublicKeyInfo: spki,
    extensions: new Extensions([
      extension(id_ce_basicConstraints, new BasicConstraints({ cA: options.ca }), true),
      extension(id_ce_keyUsage, new KeyUsage(usage), true),
      extension(
        id_ce_subjectKeyIdentifier,
        new SubjectKeyIdentifier(createHash('sha1').update(new Uint8Array(spki.subjectPublicKey)).digest()),
        false,
      ),
    ]),
  });
  const signature = sign('sha256', new Uint8Array(AsnConvert.serialize(tbsCertificate)), options.issuer?.privateKey ?? privateKey);
  const der = Buffer.from(
    AsnConvert.serialize(
      new Certificate({ tbsCertificate, signatureAlgorithm: algorithm, signatureValue: new Uint8Array(signature).buffer }),
    ),
  );
  const certificate = new X509Certificate(der);
  return { pem: certificate.toString(), x5c: der.toString('base64'), certificate, privateKey, publicKey, subject };
}

/** A compact JWS of `claims` with exactly `header`, signed by `key`. */
export async function signToken(header: CompactJWSHeaderParameters, claims: Record<string, unknown>, key: KeyObject): Promise<string> {
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
