// Users: who the caller is (`me`), and the database users registry administrators manage
// (every user may see themselves and set their own password). Views never carry password hashes.
import { RegistryError } from '../../errors/index.js';
import type { TokenScope, UserRecord } from '../../metadata/index.js';
import { hashPassword } from '../passwords.js';
import type { Principal } from '../principal.js';
import { AccountUseCase } from './account-use-case.js';
import { denied, exists, unknown, validateAccountName, validatePassword } from './validation.js';

export interface UserView {
  name: string;
  admin: boolean;
  createdAt: string;
}

export interface MeView {
  name: string;
  admin: boolean;
  teams: string[];
  /**
   * How the caller signed in: with a password or an API token over Basic, or with a Bearer
   * token (`bearerFrom` then says what it was issued for).
   */
  via: 'password' | 'api-token' | 'workload' | 'bearer-token';
  /** For a Bearer token: the credential it was issued for, or `external` for another token server's. */
  bearerFrom?: 'password' | 'api-token' | 'workload' | 'external';
  /** For a CI workload's ID token: its issuer (`name` is its subject). */
  issuer?: string;
  /** The scopes of the API token behind the sign-in. */
  tokenScopes?: TokenScope[];
}

export class UserAdmin extends AccountUseCase {
  /** Anyone signed in: a user (password or API token, over Basic or as a Bearer token), a CI workload or an external token's subject. */
  me(who: Principal): MeView {
    if (who.kind === 'anonymous') throw new RegistryError('UNAUTHORIZED');
    if (who.kind === 'token') return { name: who.subject, admin: false, teams: [], via: 'bearer-token', bearerFrom: 'external' };
    if (who.kind === 'workload') {
      const view: MeView = { name: who.subject, admin: false, teams: [], via: 'workload', issuer: who.issuer };
      if (who.bearer !== undefined) return { ...view, via: 'bearer-token', bearerFrom: 'workload' };
      return view;
    }
    const signIn = who.apiToken === undefined ? 'password' : 'api-token';
    const view: MeView = { name: who.name, admin: who.admin, teams: [...who.teams], via: signIn };
    if (who.bearer !== undefined) {
      view.via = 'bearer-token';
      view.bearerFrom = signIn;
    }
    if (who.apiToken !== undefined)
      view.tokenScopes = who.apiToken.scope.map((s) => ({ repository: s.repository, actions: [...s.actions] }));
    return view;
  }

  async listUsers(who: Principal): Promise<UserView[]> {
    this.admin(who);
    return (await this.accounts.listUsers()).map(userView);
  }

  async getUser(who: Principal, name: string): Promise<UserView> {
    const user = this.user(who);
    validateAccountName('name', name);
    if (!user.admin && user.name !== name) throw denied('only registry administrators may see other users');
    const found = await this.accounts.getUser(name);
    if (!found) throw unknown('user', name);
    return userView(found);
  }

  async createUser(who: Principal, input: { name: string; password: string; admin?: boolean | undefined }): Promise<UserView> {
    this.admin(who);
    validateAccountName('name', input.name);
    validatePassword(input.password);
    const passwordHash = await hashPassword(input.password, this.options.bcryptCost);
    if (!(await this.accounts.createUser({ name: input.name, passwordHash, admin: input.admin ?? false }))) {
      throw exists('user', input.name);
    }
    this.changed();
    const created = await this.accounts.getUser(input.name);
    if (!created) throw unknown('user', input.name);
    return userView(created);
  }

  /** Registry administrators for anyone; every user for themselves. */
  async setPassword(who: Principal, name: string, password: string): Promise<void> {
    const user = this.user(who);
    validateAccountName('name', name);
    if (!user.admin && user.name !== name) throw denied("only registry administrators may set other users' passwords");
    validatePassword(password);
    // Unknown names fail before the (slow) hash, and again after it if the user went away meanwhile.
    if (!(await this.accounts.getUser(name))) throw unknown('user', name);
    const hash = await hashPassword(password, this.options.bcryptCost);
    if (!(await this.accounts.setPasswordHash(name, hash))) throw unknown('user', name);
    this.changed();
  }

  async setUserAdmin(who: Principal, name: string, admin: boolean): Promise<UserView> {
    this.admin(who);
    validateAccountName('name', name);
    if (!(await this.accounts.setAdmin(name, admin))) throw unknown('user', name);
    this.changed();
    const updated = await this.accounts.getUser(name);
    if (!updated) throw unknown('user', name);
    return userView(updated);
  }

  /** Removes the user with their memberships, grants and tokens. */
  async deleteUser(who: Principal, name: string): Promise<void> {
    this.admin(who);
    validateAccountName('name', name);
    if (!(await this.accounts.deleteUser(name))) throw unknown('user', name);
    this.changed();
  }
}

function userView(user: UserRecord): UserView {
  return { name: user.name, admin: user.admin, createdAt: user.createdAt };
}
