// The key Berth's own token server signs with: loaded from PEM text (a file, or the metadata
// database where a generated key is kept so every replica shares it), or generated as a new EC
// P-256 key. The algorithm follows from the key, never from configuration: P-256 -> ES256,
// P-384 -> ES384, RSA -> RS256. The kid is the RFC 7638 thumbprint of the public key.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { JWK } from 'jose';
import { MIN_RSA_BITS } from './algorithms.js';
import { jwkThumbprint, publicJwk } from './key-ids.js';

export type SigningAlgorithm = 'ES256' | 'ES384' | 'RS256';

export interface SigningKey {
  readonly alg: SigningAlgorithm;
  /** RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key. */
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The public key as a JWK with kid, alg and use: what a JWKS endpoint would publish. */
  readonly publicJwk: JWK;
}

/** Thrown when a PEM cannot be used as a signing key; the message says why, without key bytes. */
export class SigningKeyError extends Error {
  override readonly name = 'SigningKeyError';
}

/** A SigningKey from the text of a PEM private key (PKCS#8, SEC1 "EC PRIVATE KEY" or PKCS#1). */
export async function loadSigningKey(pem: string): Promise<SigningKey> {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new SigningKeyError('the signing key is not a readable unencrypted PEM private key (expected EC P-256, EC P-384 or RSA)');
  }
  const alg = signingAlgorithm(privateKey);
  const publicKey = createPublicKey(privateKey);
  const kid = await jwkThumbprint(publicKey);
  return { alg, kid, privateKey, publicKey, publicJwk: { ...publicJwk(publicKey), kid, alg, use: 'sig' } };
}

/** Reads a PEM private key file; errors name the file. */
export async function loadSigningKeyFile(path: string): Promise<SigningKey> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    throw new SigningKeyError(`cannot read the signing key file ${path} (${code})`);
  }
  try {
    return await loadSigningKey(pem);
  } catch (error) {
    if (error instanceof SigningKeyError) throw new SigningKeyError(`${path}: ${error.message}`);
    throw error;
  }
}

/** A new EC P-256 private key as PKCS#8 PEM, for the caller to keep (the metadata database). */
export function generateSigningKeyPem(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function signingAlgorithm(key: KeyObject): SigningAlgorithm {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec') {
    if (details?.namedCurve === 'prime256v1') return 'ES256';
    if (details?.namedCurve === 'secp384r1') return 'ES384';
    throw new SigningKeyError(
      `the signing key is an EC key on curve ${details?.namedCurve ?? 'unknown'}; only P-256 (ES256) and P-384 (ES384) are supported`,
    );
  }
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) {
      throw new SigningKeyError(`the signing key is a ${bits}-bit RSA key; RS256 needs at least ${MIN_RSA_BITS} bits`);
    }
    return 'RS256';
  }
  throw new SigningKeyError(
    `the signing key is of type ${key.asymmetricKeyType ?? 'unknown'}; only EC P-256, EC P-384 and RSA keys are supported`,
  );
}
