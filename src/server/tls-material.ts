// Loading http.tls: reads the certificate, key and client CAs, checks that they parse and that
// the key belongs to the certificate (errors name the key and the file), and turns them into the
// options of a secure context. Used at start-up, by `berth config check`, and by each reload.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { SecureContextOptions } from 'node:tls';
import { ConfigError, type Config } from '../config/index.js';

export type TlsConfig = NonNullable<Config['http']['tls']>;

/** The files of http.tls, read and checked. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Client CA bundles (http.tls.clientcas); empty: no client certificates asked for. */
  readonly ca: readonly Buffer[];
  /** The server's own (first) certificate, for log lines. */
  readonly leaf: X509Certificate;
}

function tlsError(key: string, message: string): ConfigError {
  return new ConfigError([{ kind: 'invalid-value', key, message, source: undefined, suggestion: undefined }]);
}

async function readPem(key: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw tlsError(key, code === 'ENOENT' ? `${file} does not exist` : `cannot read ${file} (${code ?? String(error)})`);
  }
}

/** Reads http.tls's files and checks that they parse and that the key belongs to the certificate. */
export async function readTlsMaterial(tls: TlsConfig): Promise<TlsMaterial> {
  const [cert, key, ca] = await Promise.all([
    readPem('http.tls.certificate', tls.certificate),
    readPem('http.tls.key', tls.key),
    Promise.all(tls.clientcas.map((file) => readPem('http.tls.clientcas', file))),
  ]);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    throw tlsError('http.tls.certificate', `${tls.certificate} holds no PEM certificate`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw tlsError('http.tls.key', `${tls.key} holds no PEM private key (keys protected by a passphrase are not supported)`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw tlsError('http.tls.key', `${tls.key} is not the private key of the certificate in ${tls.certificate} (http.tls.certificate)`);
  }
  ca.forEach((bundle, index) => {
    if (!holdsCertificate(bundle)) {
      throw tlsError('http.tls.clientcas', `${tls.clientcas[index] ?? ''} holds no PEM certificate`);
    }
  });
  return { cert, key, ca, leaf };
}

function holdsCertificate(pem: Buffer): boolean {
  try {
    return new X509Certificate(pem).subject.length > 0;
  } catch {
    return false;
  }
}

/** What a secure context is built from: also what a certificate reload replaces. */
export function contextOptions(material: TlsMaterial, tls: TlsConfig): SecureContextOptions {
  return {
    cert: material.cert,
    key: material.key,
    minVersion: tls.minimumtls,
    ...(material.ca.length > 0 ? { ca: [...material.ca] } : {}),
  };
}

export function describeCertificate(leaf: X509Certificate): Record<string, string | undefined> {
  return { subject: leaf.subject.replace(/\n/g, ', '), subjectAltName: leaf.subjectAltName, validTo: leaf.validTo };
}
