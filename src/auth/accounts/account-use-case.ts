// What every account use case shares: the store, the clock, the change notification, and the
// checks of who is asking (a password sign-in, a registry administrator, a namespace's
// administrator, a user that exists somewhere).
import { RegistryError } from '../../errors/index.js';
import type { AccountStore } from '../../metadata/index.js';
import type { Principal } from '../principal.js';
import { denied, unknown } from './validation.js';

export type UserPrincipal = Extract<Principal, { kind: 'user' }>;

export interface AccountAdminOptions {
  readonly accounts: AccountStore;
  /** bcrypt cost of the passwords set here (auth.bcryptcost). */
  readonly bcryptCost: number;
  /**
   * Called after every change that may alter an access decision or a credential (grants,
   * visibility, teams, users, passwords, tokens), so caches in front of the store can drop
   * what they remember.
   */
  readonly onChange?: (() => void) | undefined;
  /** The clock, for token expiry; default the system clock. */
  readonly now?: (() => Date) | undefined;
  /**
   * Whether a user exists outside the database (the htpasswd file), so grants, team members
   * and tokens can name them; default: only database users exist.
   */
  readonly userExistsElsewhere?: ((name: string) => Promise<boolean>) | undefined;
}

export abstract class AccountUseCase {
  protected readonly accounts: AccountStore;
  protected readonly now: () => Date;

  constructor(protected readonly options: AccountAdminOptions) {
    this.accounts = options.accounts;
    this.now = options.now ?? (() => new Date());
  }

  protected changed(): void {
    this.options.onChange?.();
  }

  protected user(who: Principal): UserPrincipal {
    return signedInUser(who);
  }

  protected admin(who: Principal): UserPrincipal {
    return administrator(who);
  }

  protected async namespaceAdmin(who: Principal, namespace: string): Promise<UserPrincipal> {
    const user = this.user(who);
    if (user.admin) return user;
    const roles = await this.accounts.rolesIn(namespace, user.name, user.teams);
    if (!roles.includes('admin')) throw denied(`only administrators of namespace ${namespace} may do this`);
    return user;
  }

  /** Refuses a name that is no user, in the database or elsewhere. */
  protected async existingUser(field: string, name: string): Promise<void> {
    if (await this.accounts.getUser(name)) return;
    if (await this.options.userExistsElsewhere?.(name)) return;
    throw unknown(field, name);
  }
}

/**
 * A signed-in user acting with their password over Basic. API tokens are for pulling and
 * pushing: one leaked from a CI system must not be able to mint more tokens or change
 * accounts, so the admin use cases refuse them, and refuse Bearer tokens (which carry
 * repository access only, whatever they were issued for).
 */
export function signedInUser(who: Principal): UserPrincipal {
  if (who.kind === 'anonymous') throw new RegistryError('UNAUTHORIZED');
  if (who.kind === 'token' || who.bearer !== undefined) throw denied('Bearer tokens grant repository access only; sign in with a password');
  if (who.kind === 'workload') throw denied('CI workload tokens grant repository access only; sign in with a password');
  if (who.apiToken !== undefined) throw denied('API tokens grant repository access only; sign in with a password');
  return who;
}

/** A registry-wide administrator signed in with a password (see signedInUser). */
export function administrator(who: Principal): UserPrincipal {
  const user = signedInUser(who);
  if (!user.admin) throw denied('only registry administrators may do this');
  return user;
}
