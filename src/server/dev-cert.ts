// Development certificates for `berth tls dev-cert`: a self-signed CA and a server certificate
// it signs for the given host names and IP addresses, written as PEM files (keys mode 0600).
// Keys come from node:crypto; node-forge builds and signs the X.509 certificates.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { mkdir, open, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import forge from 'node-forge';

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

function newKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** A random positive serial number (RFC 5280: at most 20 octets, positive). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

function validity(cert: forge.pki.Certificate, now: Date, days: number): void {
  // A minute of slack for clocks that are a little behind.
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + days * 24 * 60 * 60 * 1000);
}

function checkDays(days: number): void {
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new Error(`days must be a whole number from 1 to 3650, got ${days}`);
}

/** A self-signed CA certificate (CA:true, keyCertSign) and its key. */
export function createCertificateAuthority(options: { days: number; commonName?: string; now?: Date }): KeyAndCertificate {
  checkDays(options.days);
  const { privateKeyPem, publicKeyPem } = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
  cert.serialNumber = serialNumber();
  validity(cert, options.now ?? new Date(), options.days);
  const subject = [
    { name: 'commonName', value: options.commonName ?? 'Berth development CA' },
    { name: 'organizationName', value: 'Berth development' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privateKeyPem), forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: privateKeyPem };
}

/** A leaf certificate (CA:false) for `hosts`, signed by `ca`. */
export function issueCertificate(ca: KeyAndCertificate, options: IssueOptions): KeyAndCertificate {
  checkDays(options.days);
  const first = options.hosts[0];
  if (first === undefined) throw new Error('at least one host name or IP address is needed');
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const { privateKeyPem, publicKeyPem } = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
  cert.serialNumber = serialNumber();
  validity(cert, options.now ?? new Date(), options.days);
  cert.setSubject([{ name: 'commonName', value: first }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    options.usage === 'server' ? { name: 'extKeyUsage', serverAuth: true } : { name: 'extKeyUsage', clientAuth: true },
    {
      name: 'subjectAltName',
      // Type 7 is an IP address, 2 a DNS name (RFC 5280 GeneralName).
      altNames: options.hosts.map((host) => (isIP(host) !== 0 ? { type: 7, ip: host } : { type: 2, value: host })),
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(ca.key), forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: privateKeyPem };
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
  if (force) await unlink(file).catch((error: NodeJS.ErrnoException) => {
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
