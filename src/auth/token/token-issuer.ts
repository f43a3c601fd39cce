// Signs the tokens of Berth's built-in token server (Docker registry token specification): short
// access tokens carrying the granted access list, and long refresh tokens (offline_token, `docker
// login`) that a later request trades for new access tokens. The two differ in their token_use
// claim, so neither is ever accepted as the other.
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { ResourceAccess } from './access-claim.js';
import {
  checkRefreshClaims,
  CREDENTIAL_CLAIM,
  decodeClaims,
  TOKEN_USE_CLAIM,
  type TokenCredential,
  type VerifiedRefreshToken,
} from './claims.js';
import type { SigningKey } from './signing-key.js';
import { verifySignature } from './signature.js';

export interface TokenIssuerOptions {
  readonly key: SigningKey;
  /** `iss` of every token. */
  readonly issuer: string;
  /** `aud` of every token: the service name of this registry. */
  readonly service: string;
  readonly expirationMs: number;
  readonly refreshExpirationMs: number;
  /** The clock; tests move it. */
  readonly now?: () => Date;
}

export interface AccessTokenRequest {
  /** The user name; "" for an anonymous token. */
  readonly subject: string;
  readonly access: readonly ResourceAccess[];
  /** The credential the caller signed in with; undefined for an anonymous token. */
  readonly credential?: TokenCredential | undefined;
  /** The token expires no later than this (the end of the credential it was issued for). */
  readonly notAfter?: Date | undefined;
}

export interface IssuedAccessToken {
  readonly token: string;
  /** Lifetime in seconds (the token response's expires_in). */
  readonly expiresIn: number;
  /** RFC 3339 time of issue (the token response's issued_at). */
  readonly issuedAt: string;
}

export class TokenIssuer {
  private readonly now: () => Date;

  constructor(private readonly options: TokenIssuerOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async issueAccessToken(request: AccessTokenRequest): Promise<IssuedAccessToken> {
    const iat = Math.floor(this.now().getTime() / 1000);
    // At least one second: a token that expires as it is issued helps nobody.
    const lifetime = Math.floor(this.options.expirationMs / 1000);
    const remaining = request.notAfter === undefined ? lifetime : Math.floor(request.notAfter.getTime() / 1000) - iat;
    const expiresIn = Math.max(1, Math.min(lifetime, remaining));
    const access = request.access.map(({ type, name, actions }) => ({ type, name, actions: [...actions] }));
    const token = await this.sign(
      {
        sub: request.subject,
        [TOKEN_USE_CLAIM]: 'access',
        access,
        ...(request.credential === undefined ? {} : { [CREDENTIAL_CLAIM]: request.credential }),
      },
      iat,
      iat + expiresIn,
    );
    return { token, expiresIn, issuedAt: new Date(iat * 1000).toISOString() };
  }

  /**
   * A refresh token for a user. `binding` (for example a fingerprint of the password hash) is
   * returned by readRefreshToken so the caller can revoke tokens by changing what it binds to.
   */
  async issueRefreshToken(subject: string, binding?: string): Promise<string> {
    if (subject === '') throw new TypeError('a refresh token needs a user');
    const iat = Math.floor(this.now().getTime() / 1000);
    const lifetime = Math.max(1, Math.floor(this.options.refreshExpirationMs / 1000));
    const claims: Record<string, unknown> = { sub: subject, [TOKEN_USE_CLAIM]: 'refresh' };
    if (binding !== undefined) claims['binding'] = binding;
    return this.sign(claims, iat, iat + lifetime);
  }

  /** The user a refresh token was issued to; throws TokenError when it is not a valid one. */
  async verifyRefreshToken(token: string): Promise<string> {
    return (await this.readRefreshToken(token)).subject;
  }

  /** Verifies a refresh token and returns everything it carries. */
  async readRefreshToken(token: string): Promise<VerifiedRefreshToken> {
    const { key, issuer, service } = this.options;
    const payload = await verifySignature(token, [{ key: key.publicKey, algorithms: [key.alg] }]);
    return checkRefreshClaims(decodeClaims(payload), { issuer, audience: service, now: this.now() });
  }

  private async sign(claims: Record<string, unknown>, iat: number, exp: number): Promise<string> {
    const { key, issuer, service } = this.options;
    return new SignJWT({
      iss: issuer,
      aud: service,
      exp,
      nbf: iat,
      iat,
      jti: randomBytes(16).toString('base64url'),
      ...claims,
    })
      .setProtectedHeader({ alg: key.alg, typ: 'JWT', kid: key.kid })
      .sign(key.privateKey);
  }
}
