// API tokens for CI systems: scoped to repository globs and actions, always expiring (at most a
// year). The secret is returned once at creation; only its hash is stored, and views never
// carry it.
import type { ApiTokenRecord, TokenScope } from '../../metadata/index.js';
import { createApiTokenSecret, hashTokenSecret } from '../api-tokens.js';
import type { Principal } from '../principal.js';
import { AccountUseCase } from './account-use-case.js';
import {
  denied,
  invalid,
  MAX_TOKEN_LIFETIME_MS,
  parseLifetime,
  parseTokenScopes,
  TOKEN_NAME,
  unknown,
  validateAccountName,
  type ScopeInput,
} from './validation.js';

export interface TokenView {
  id: string;
  owner: string;
  name: string;
  scopes: TokenScope[];
  expiresAt: string | null;
  expired: boolean;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface CreatedToken extends TokenView {
  /** berth_<id>_<secret>: shown this once, never stored. */
  token: string;
}

export interface NewTokenInput {
  readonly name: string;
  readonly scopes: readonly ScopeInput[];
  /** A Go duration ("720h") or days ("30d"); or give expiresAt. */
  readonly expiresIn?: string | undefined;
  /** An ISO-8601 time; or give expiresIn. */
  readonly expiresAt?: string | undefined;
  /** Whose token it is; default the caller. Only registry admins may name someone else. */
  readonly user?: string | undefined;
}

export class TokenAdmin extends AccountUseCase {
  /** The caller's own tokens; registry administrators may name another user, or everyone (user undefined with all). */
  async listTokens(who: Principal, options: { user?: string | undefined; all?: boolean | undefined } = {}): Promise<TokenView[]> {
    const user = this.user(who);
    if (options.all) {
      this.admin(who);
      return (await this.accounts.listApiTokens()).map((t) => this.tokenView(t));
    }
    const owner = options.user ?? user.name;
    validateAccountName('user', owner);
    if (owner !== user.name && !user.admin) throw denied("only registry administrators may list other users' tokens");
    return (await this.accounts.listApiTokens(owner)).map((t) => this.tokenView(t));
  }

  /** Creates a token with scopes and an expiry (required, at most a year); the secret is in the result only. */
  async createToken(who: Principal, input: NewTokenInput): Promise<CreatedToken> {
    const user = this.user(who);
    const owner = input.user ?? user.name;
    validateAccountName('user', owner);
    if (owner !== user.name && !user.admin) throw denied('only registry administrators may create tokens for other users');
    await this.existingUser('user', owner);
    if (!TOKEN_NAME.test(input.name)) {
      throw invalid('name', 'must be 1 to 100 characters of letters, digits, space and ._:@/-, starting with a letter or digit');
    }
    const scopes = parseTokenScopes(input.scopes);
    const expiresAt = this.expiry(input);
    const { id, secret, token } = createApiTokenSecret();
    const record = await this.accounts.createApiToken({
      id,
      owner,
      name: input.name,
      secretHash: hashTokenSecret(secret),
      scopes,
      expiresAt: expiresAt.toISOString(),
    });
    this.changed();
    return { ...this.tokenView(record), token };
  }

  /** Revokes a token: its owner or a registry administrator. Someone else's token is reported as unknown. */
  async deleteToken(who: Principal, id: string): Promise<void> {
    const user = this.user(who);
    if (!/^[0-9a-f]{16}$/.test(id)) throw invalid('id', 'must be 16 hexadecimal characters');
    const token = await this.accounts.getApiToken(id);
    if (!token || (token.owner !== user.name && !user.admin)) throw unknown('token', id);
    await this.accounts.deleteApiToken(id);
    this.changed();
  }

  private expiry(input: NewTokenInput): Date {
    const now = this.now();
    if ((input.expiresIn === undefined) === (input.expiresAt === undefined)) {
      throw invalid('expiresIn', 'give exactly one of expiresIn (e.g. 720h) and expiresAt; tokens always expire');
    }
    let at: Date;
    if (input.expiresIn !== undefined) {
      const ms = parseLifetime(input.expiresIn);
      if (!(ms > 0)) throw invalid('expiresIn', 'must be positive');
      if (ms > MAX_TOKEN_LIFETIME_MS) throw invalid('expiresIn', 'must be at most a year (365d or 8760h)');
      at = new Date(now.getTime() + ms);
    } else {
      at = new Date(input.expiresAt ?? '');
      if (Number.isNaN(at.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(input.expiresAt ?? '')) {
        throw invalid('expiresAt', 'must be an ISO-8601 time such as 2027-01-31T00:00:00Z');
      }
      if (at.getTime() <= now.getTime()) throw invalid('expiresAt', 'must be in the future');
      if (at.getTime() - now.getTime() > MAX_TOKEN_LIFETIME_MS) throw invalid('expiresAt', 'must be at most a year from now');
    }
    return at;
  }

  private tokenView(token: ApiTokenRecord): TokenView {
    return {
      id: token.id,
      owner: token.owner,
      name: token.name,
      scopes: token.scopes,
      expiresAt: token.expiresAt ?? null,
      expired: token.expiresAt !== undefined && Date.parse(token.expiresAt) <= this.now().getTime(),
      createdAt: token.createdAt,
      lastUsedAt: token.lastUsedAt ?? null,
    };
  }
}
