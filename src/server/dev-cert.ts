// Development certificates for `berth tls dev-cert`: a self-signed CA and a server certificate
// it signs for the given host names and IP addresses, written as PEM files (keys mode 0600).
// Keys and signatures come from node:crypto; @peculiar/asn1-x509 encodes the X.509 structures.
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { mkdir, open, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_kp_clientAuth,
  id_kp_serverAuth,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';

/** SubjectAltName entries added unless `defaultHosts: false`: the loopback names everyone uses. */
export const DEFAULT_DEV_HOSTS: readonly string[] = ['localhost', '127.0.0.1'];

export interface KeyAndCertificate {
  /** PEM certificate. */
  readonly cert: string;
  /** PEM private key (PKCS#8). */
  readonly key: string;
}

export interface IssueOptions {
  /** DNS names and IP addresses (SubjectAltName); the first is also the common name. */
  readonly hosts: readonly string[];
  readonly days: number;
  /** serverAuth for a registry, clientAuth for a mutual-TLS client certificate. */
  readonly usage: 'server' | 'client';
  /** Defaults to now; tests pass a fixed time. */
  readonly now?: Date;
}

const OID_COMMON_NAME = '2.5.4.3';
const OID_ORGANIZATION_NAME = '2.5.4.10';
const OID_SHA256_WITH_RSA = '1.2.840.113549.1.1.11';

function newKeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

/** A random positive serial number (RFC 5280: at most 20 octets, positive; DER: no leading zero octet). */
function serialNumber(): ArrayBuffer {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return new Uint8Array(bytes).buffer;
}

function checkDays(days: number): void {
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new Error(`days must be a whole number from 1 to 3650, got ${days}`);
}

function name(attributes: ReadonlyArray<readonly [oid: string, value: string]>): Name {
  return new Name(
    attributes.map(
      ([type, value]) =>
        new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: value }) })]),
    ),
  );
}

function publicKeyInfo(key: KeyObject): SubjectPublicKeyInfo {
  return AsnConvert.parse(key.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo);
}

/** The key identifier RFC 5280 4.2.1.2 method (1) describes: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(spki: SubjectPublicKeyInfo): ArrayBuffer {
  return new Uint8Array(createHash('sha1').update(new Uint8Array(spki.subjectPublicKey)).digest()).buffer;
}

function extension(extnID: string, value: unknown, critical = false): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

interface CertificateFields {
  readonly subject: Name;
  readonly issuer: Name;
  readonly publicKey: KeyObject;
  /** The issuer's private key (the subject's own for a self-signed certificate). */
  readonly signingKey: KeyObject;
  readonly now: Date;
  readonly days: number;
  readonly extensions: readonly Extension[];
}

/** Encodes and signs (SHA-256 with RSA) a version 3 certificate; returns it as PEM. */
function signCertificate(fields: CertificateFields): string {
  const algorithm = new AlgorithmIdentifier({ algorithm: OID_SHA256_WITH_RSA, parameters: null });
  const tbsCertificate = new TBSCertificate({
    version: Version.v3,
    serialNumber: serialNumber(),
    signature: algorithm,
    issuer: fields.issuer,
    // A minute of slack for clocks that are a little behind.
    validity: new Validity({
      notBefore: new Date(fields.now.getTime() - 60_000),
      notAfter: new Date(fields.now.getTime() + fields.days * 24 * 60 * 60 * 1000),
    }),
    subject: fields.subject,
    subjectPublicKeyInfo: publicKeyInfo(fields.publicKey),
    extensions: new Extensions([...fields.extensions]),
  });
  const signature = sign('sha256', new Uint8Array(AsnConvert.serialize(tbsCertificate)), fields.signingKey);
  const der = AsnConvert.serialize(
    new Certificate({ tbsCertificate, signatureAlgorithm: algorithm, signatureValue: new Uint8Array(signature).buffer }),
  );
  const base64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${base64}\n-----END CERTIFICATE-----\n`;
}

function pkcs8(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** A self-signed CA certificate (CA:true, keyCertSign) and its key. */
export function createCertificateAuthority(options: { days: number; commonName?: string; now?: Date }): KeyAndCertificate {
  checkDays(options.days);
  const { privateKey, publicKey } = newKeyPair();
  const subject = name([
    [OID_COMMON_NAME, options.commonName ?? 'Berth development CA'],
    [OID_ORGANIZATION_NAME, 'Berth development'],
  ]);
  const cert = signCertificate({
    subject,
    issuer: subject,
    publicKey,
    signingKey: privateKey,
    now: options.now ?? new Date(),
    days: options.days,
    extensions: [
      extension(id_ce_basicConstraints, new BasicConstraints({ cA: true, pathLenConstraint: 0 }), true),
      extension(id_ce_keyUsage, new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign), true),
      extension(id_ce_subjectKeyIdentifier, new SubjectKeyIdentifier(keyIdentifier(publicKeyInfo(publicKey)))),
    ],
  });
  return { cert, key: pkcs8(privateKey) };
}

/** A leaf certificate (CA:false) for `hosts`, signed by `ca`. */
export function issueCertificate(ca: KeyAndCertificate, options: IssueOptions): KeyAndCertificate {
  checkDays(options.days);
  const first = options.hosts[0];
  if (first === undefined) throw new Error('at least one host name or IP address is needed');
  const caCertificate = AsnConvert.parse(new X509Certificate(ca.cert).raw, Certificate).tbsCertificate;
  const { privateKey, publicKey } = newKeyPair();
  const cert = signCertificate({
    subject: name([[OID_COMMON_NAME, first]]),
    issuer: caCertificate.subject,
    publicKey,
    signingKey: createPrivateKey(ca.key),
    now: options.now ?? new Date(),
    days: options.days,
    extensions: [
      extension(id_ce_basicConstraints, new BasicConstraints({ cA: false }), true),
      extension(id_ce_keyUsage, new KeyUsage(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment), true),
      extension(id_ce_extKeyUsage, new ExtendedKeyUsage([options.usage === 'server' ? id_kp_serverAuth : id_kp_clientAuth])),
      extension(
        id_ce_subjectAltName,
        new SubjectAlternativeName(
          options.hosts.map((host) => new GeneralName(isIP(host) !== 0 ? { iPAddress: host } : { dNSName: host })),
        ),
      ),
      extension(id_ce_subjectKeyIdentifier, new SubjectKeyIdentifier(keyIdentifier(publicKeyInfo(publicKey)))),
      extension(
        id_ce_authorityKeyIdentifier,
        new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(keyIdentifier(caCertificate.subjectPublicKeyInfo)) }),
      ),
    ],
  });
  return { cert, key: pkcs8(privateKey) };
}

export interface DevCertOptions {
  /** Host names and IP addresses clients use to reach the registry. */
  readonly hosts: readonly string[];
  /** Directory to write into (created if missing). */
  readonly outDir: string;
  readonly days: number;
  /** Replace existing files instead of refusing. */
  readonly force?: boolean;
  /** Add localhost and 127.0.0.1 (default true). */
  readonly defaultHosts?: boolean;
  readonly now?: Date;
}

export interface DevCertResult {
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** Every SubjectAltName of the server certificate, in order. */
  readonly hosts: readonly string[];
}

/** Thrown when a file exists and `force` was not given; names the files. */
export class DevCertExistsError extends Error {
  override readonly name = 'DevCertExistsError';
  constructor(readonly files: readonly string[]) {
    super(`refusing to overwrite ${files.join(', ')} (use --force to replace them)`);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await (await open(file, 'r')).close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** Writes `content` with `mode`; with force an existing file is replaced (and gets the mode). */
async function writeNew(file: string, content: string, mode: number, force: boolean): Promise<void> {
  if (force)
    await unlink(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  // 'wx': fail rather than overwrite a file that appeared since the check.
  const handle = await open(file, 'wx', mode);
  try {
    await handle.writeFile(content);
    await handle.chmod(mode);
  } finally {
    await handle.close();
  }
}

/** Creates a CA and a server certificate and writes ca.crt, ca.key, server.crt, server.key. */
export async function writeDevCertificates(options: DevCertOptions): Promise<DevCertResult> {
  const outDir = resolve(options.outDir);
  const hosts = [...new Set([...options.hosts, ...(options.defaultHosts === false ? [] : DEFAULT_DEV_HOSTS)])];
  const files = {
    caCert: join(outDir, 'ca.crt'),
    caKey: join(outDir, 'ca.key'),
    serverCert: join(outDir, 'server.crt'),
    serverKey: join(outDir, 'server.key'),
  };
  const force = options.force ?? false;
  if (!force) {
    const existing: string[] = [];
    for (const file of Object.values(files)) if (await exists(file)) existing.push(file);
    if (existing.length > 0) throw new DevCertExistsError(existing);
  }
  const now = options.now ?? new Date();
  const ca = createCertificateAuthority({ days: options.days, now });
  const server = issueCertificate(ca, { hosts, days: options.days, usage: 'server', now });
  await mkdir(outDir, { recursive: true });
  await writeNew(files.caKey, ca.key, 0o600, force);
  await writeNew(files.caCert, ca.cert, 0o644, force);
  await writeNew(files.serverKey, server.key, 0o600, force);
  await writeNew(files.serverCert, server.cert, 0o644, force);
  return { ...files, hosts };
}
