// Verifies access tokens from a token server Berth trusts (Distribution's auth.token): keys come
// only from configuration. A token with an x5c header must chain to the root bundle and verify
// with its leaf key; a token without one must verify with a bundle certificate's key or a JWKS
// key, its kid (RFC 7638 thumbprint, libtrust id or the JWKS kid) only choosing which to try.
// Embedded jwk, jku and x5u headers are never read: a token cannot bring its own key (the class
// of CVE-2025-24976).
import { readFile } from 'node:fs/promises';
import type { X509Certificate } from 'node:crypto';
import { algorithmsForKey } from './algorithms.js';
import { parseCertificateBundle, verifyCertificateChain } from './cert-chain.js';
import { checkAccessClaims, decodeClaims, type VerifiedToken } from './claims.js';
import { JwksError, parseJwks, type TrustedKey } from './jwks.js';
import { jwkThumbprint, libtrustKeyId } from './key-ids.js';
import { readHeader, verifySignature, type VerificationKey } from './signature.js';
import { TokenError } from './token-error.js';
import type { TokenVerifier } from './token-verifier.js';

export interface ExternalTokenVerifierOptions {
  /** `iss` the tokens must carry. */
  readonly issuer: string;
  /** The service name `aud` must carry. */
  readonly service: string;
  /** PEM text of the root certificate bundle (auth.token.rootcertbundle). */
  readonly rootCertBundle?: string | undefined;
  /** JSON text of the JWKS (auth.token.jwks). */
  readonly jwks?: string | undefined;
  /** The clock; tests move it. */
  readonly now?: () => Date;
}

/** Builds the verifier; throws (CertificateBundleError, JwksError, TypeError) on bad key material. */
export async function externalTokenVerifier(options: ExternalTokenVerifierOptions): Promise<TokenVerifier> {
  if (options.rootCertBundle === undefined && options.jwks === undefined) {
    throw new TypeError('an external token verifier needs a root certificate bundle or a JWKS');
  }
  const now = options.now ?? (() => new Date());
  const roots = options.rootCertBundle === undefined ? [] : parseCertificateBundle(options.rootCertBundle);
  const trusted = [...(await certificateKeys(roots)), ...(options.jwks === undefined ? [] : await parseJwks(options.jwks))];
  const expect = { issuer: options.issuer, audience: options.service };

  return {
    async verify(token: string): Promise<VerifiedToken> {
      const header = readHeader(token);
      const at = now();
      let candidates: readonly VerificationKey[];
      if (header.x5c !== undefined) {
        if (roots.length === 0) throw new TokenError('token carries a certificate chain but no root certificates are trusted');
        const leafKey = verifyCertificateChain(header.x5c, roots, at);
        candidates = [{ key: leafKey, algorithms: algorithmsForKey(leafKey) }];
      } else {
        candidates = selectByKid(trusted, header.kid);
      }
      const payload = await verifySignature(token, candidates);
      return checkAccessClaims(decodeClaims(payload), { ...expect, now: at });
    },
  };
}

/** What the verifier is built from (auth.token, mapped by the server): key material as files. */
export interface ExternalTokenFiles {
  /** `iss` the tokens must carry. */
  readonly issuer: string;
  /** The service name `aud` must carry. */
  readonly service: string;
  /** Path of the PEM root certificate bundle (auth.token.rootcertbundle). */
  readonly rootCertBundle: string | undefined;
  /** Path of the JWKS (auth.token.jwks). */
  readonly jwks: string | undefined;
}

/** Reads the key files and builds the verifier; errors name the file. */
export async function externalTokenVerifierFromFiles(config: ExternalTokenFiles): Promise<TokenVerifier> {
  const read = async (file: string | undefined): Promise<string | undefined> => {
    if (file === undefined) return undefined;
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      const code = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
      throw new Error(`cannot read ${file} (${code})`);
    }
  };
  const [rootCertBundle, jwks] = await Promise.all([read(config.rootCertBundle), read(config.jwks)]);
  try {
    return await externalTokenVerifier({ issuer: config.issuer, service: config.service, rootCertBundle, jwks });
  } catch (error) {
    const file = error instanceof JwksError ? config.jwks : config.rootCertBundle;
    throw new Error(`${file ?? 'auth.token'}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The bundle certificates' keys, named by thumbprint and libtrust id; unusable key types are left out. */
async function certificateKeys(roots: readonly X509Certificate[]): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  for (const cert of roots) {
    const algorithms = algorithmsForKey(cert.publicKey);
    if (algorithms.length === 0) continue;
    keys.push({ key: cert.publicKey, algorithms, keyIds: [await jwkThumbprint(cert.publicKey), libtrustKeyId(cert.publicKey)] });
  }
  return keys;
}

/**
 * The keys a kid names, or every trusted key when it names none (or there is no kid): the kid
 * saves signature checks, it never widens trust, since every candidate is a configured key.
 */
function selectByKid(trusted: readonly TrustedKey[], kid: string | undefined): readonly TrustedKey[] {
  if (kid === undefined) return trusted;
  const named = trusted.filter((key) => key.keyIds.includes(kid));
  return named.length > 0 ? named : trusted;
}
