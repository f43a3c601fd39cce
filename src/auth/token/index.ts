// The token module's public face: Berth's signing key, the token issuer of the built-in token
// server, and the verifiers of Bearer tokens (Berth's own, or a trusted external token server's).
export { ACCEPTED_ALGORITHMS, type AcceptedAlgorithm } from './algorithms.js';
export type { ResourceAccess } from './access-claim.js';
export { CertificateBundleError } from './cert-chain.js';
export type { TokenCredential, VerifiedRefreshToken, VerifiedToken } from './claims.js';
export {
  externalTokenVerifier,
  externalTokenVerifierFromFiles,
  type ExternalTokenFiles,
  type ExternalTokenVerifierOptions,
} from './external-token-verifier.js';
export { JwksError } from './jwks.js';
export { jwkThumbprint, libtrustKeyId } from './key-ids.js';
export {
  generateSigningKeyPem,
  loadSigningKey,
  loadSigningKeyFile,
  SigningKeyError,
  type SigningAlgorithm,
  type SigningKey,
} from './signing-key.js';
export { TokenError } from './token-error.js';
export {
  TokenIssuer,
  type AccessTokenRequest,
  type IssuedAccessToken,
  type TokenIssuerOptions,
} from './token-issuer.js';
export { ownTokenVerifier, type TokenVerifier, type VerifierClock } from './token-verifier.js';
