// The account administration use cases behind both the admin HTTP API and the CLI, in one
// facade: users (accounts/users.ts), teams and members (accounts/teams.ts), namespace
// visibility and grants (accounts/namespaces.ts), API tokens (accounts/tokens.ts). Each takes
// `who` (the Principal asking) and checks what they may do (accounts/account-use-case.ts);
// inputs are validated once (accounts/validation.ts), so both front ends refuse the same
// things with the same RegistryError. Views never carry password or token hashes.
import type { AccountAdminOptions } from './accounts/account-use-case.js';
import { NamespaceAdmin, type GrantView, type NamespaceView } from './accounts/namespaces.js';
import { TeamAdmin, type TeamDetail, type TeamView } from './accounts/teams.js';
import { TokenAdmin, type CreatedToken, type NewTokenInput, type TokenView } from './accounts/tokens.js';
import { UserAdmin, type MeView, type UserView } from './accounts/users.js';
import type { Role } from '../oci/index.js';
import type { Principal } from './principal.js';

export type { AccountAdminOptions } from './accounts/account-use-case.js';
export type { GrantView, NamespaceView } from './accounts/namespaces.js';
export type { TeamDetail, TeamView } from './accounts/teams.js';
export type { CreatedToken, NewTokenInput, TokenView } from './accounts/tokens.js';
export type { MeView, UserView } from './accounts/users.js';
export {
  ACCOUNT_NAME,
  MAX_TOKEN_LIFETIME_MS,
  MIN_PASSWORD_LENGTH,
  parseLifetime,
  parseRole,
  parseSubjectKind,
  parseTokenScopes,
  parseVisibility,
  validateAccountName,
  validateNamespaceName,
  validatePassword,
} from './accounts/validation.js';

export class AccountAdmin {
  readonly users: UserAdmin;
  readonly teams: TeamAdmin;
  readonly namespaces: NamespaceAdmin;
  readonly tokens: TokenAdmin;

  constructor(options: AccountAdminOptions) {
    this.users = new UserAdmin(options);
    this.teams = new TeamAdmin(options);
    this.namespaces = new NamespaceAdmin(options);
    this.tokens = new TokenAdmin(options);
  }

  // ---- who is asking, and users

  me(who: Principal): MeView {
    return this.users.me(who);
  }

  listUsers(who: Principal): Promise<UserView[]> {
    return this.users.listUsers(who);
  }

  getUser(who: Principal, name: string): Promise<UserView> {
    return this.users.getUser(who, name);
  }

  createUser(who: Principal, input: { name: string; password: string; admin?: boolean | undefined }): Promise<UserView> {
    return this.users.createUser(who, input);
  }

  setPassword(who: Principal, name: string, password: string): Promise<void> {
    return this.users.setPassword(who, name, password);
  }

  setUserAdmin(who: Principal, name: string, admin: boolean): Promise<UserView> {
    return this.users.setUserAdmin(who, name, admin);
  }

  deleteUser(who: Principal, name: string): Promise<void> {
    return this.users.deleteUser(who, name);
  }

  // ---- teams

  listTeams(who: Principal): Promise<TeamView[]> {
    return this.teams.listTeams(who);
  }

  createTeam(who: Principal, name: string): Promise<TeamView> {
    return this.teams.createTeam(who, name);
  }

  getTeam(who: Principal, name: string): Promise<TeamDetail> {
    return this.teams.getTeam(who, name);
  }

  deleteTeam(who: Principal, name: string): Promise<void> {
    return this.teams.deleteTeam(who, name);
  }

  addTeamMember(who: Principal, team: string, user: string): Promise<TeamDetail> {
    return this.teams.addTeamMember(who, team, user);
  }

  removeTeamMember(who: Principal, team: string, user: string): Promise<void> {
    return this.teams.removeTeamMember(who, team, user);
  }

  // ---- namespaces and grants

  listNamespaces(who: Principal): Promise<NamespaceView[]> {
    return this.namespaces.listNamespaces(who);
  }

  getNamespace(who: Principal, name: string): Promise<NamespaceView & { roles: Role[] }> {
    return this.namespaces.getNamespace(who, name);
  }

  setNamespaceVisibility(who: Principal, name: string, visibility: string): Promise<NamespaceView> {
    return this.namespaces.setNamespaceVisibility(who, name, visibility);
  }

  deleteNamespace(who: Principal, name: string): Promise<void> {
    return this.namespaces.deleteNamespace(who, name);
  }

  listGrants(who: Principal, namespace: string): Promise<GrantView[]> {
    return this.namespaces.listGrants(who, namespace);
  }

  setGrant(who: Principal, namespace: string, kind: string, subject: string, role: string): Promise<GrantView> {
    return this.namespaces.setGrant(who, namespace, kind, subject, role);
  }

  revokeGrant(who: Principal, namespace: string, kind: string, subject: string): Promise<void> {
    return this.namespaces.revokeGrant(who, namespace, kind, subject);
  }

  // ---- API tokens

  listTokens(who: Principal, options: { user?: string | undefined; all?: boolean | undefined } = {}): Promise<TokenView[]> {
    return this.tokens.listTokens(who, options);
  }

  createToken(who: Principal, input: NewTokenInput): Promise<CreatedToken> {
    return this.tokens.createToken(who, input);
  }

  deleteToken(who: Principal, id: string): Promise<void> {
    return this.tokens.deleteToken(who, id);
  }
}
