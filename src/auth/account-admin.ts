// The account administration use cases behind both the admin HTTP API and the CLI: users,
// teams and members, namespace visibility and grants, API tokens. Each takes `who` (the
// Principal asking) and checks what they may do; inputs are validated here, once, so both
// front ends refuse the same things with the same RegistryError. Views never carry password
// or token hashes.
import { parseDuration } from '../config/duration.js';
import { RegistryError } from '../errors/index.js';
import type {
  AccountStore,
  ApiTokenRecord,
  GrantRecord,
  GrantSubjectKind,
  NamespaceRole,
  NamespaceVisibility,
  TokenAction,
  TokenScope,
  UserRecord,
} from '../metadata/index.js';
import { isValidRepositoryName } from '../oci/names.js';
import { createApiTokenSecret, hashTokenSecret } from './api-tokens.js';
import { hashPassword, passwordTooLongForBcrypt } from './passwords.js';
import type { Principal } from './principal.js';

export const ACCOUNT_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const MIN_PASSWORD_LENGTH = 8;
export const NAMESPACE_ROLES: readonly NamespaceRole[] = ['pull', 'push', 'delete', 'admin'];
export const TOKEN_ACTIONS: readonly TokenAction[] = ['pull', 'push', 'delete'];
/** The longest an API token may live: CI credentials should be rotated. */
export const MAX_TOKEN_LIFETIME_MS = 365 * 24 * 60 * 60 * 1000;
const MAX_TOKEN_SCOPES = 32;
const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._:@/-]{0,99}$/;
/** Repository globs: the repository-name alphabet plus `*` and `?`. */
const REPOSITORY_GLOB = /^[a-z0-9._/*?-]{1,255}$/;

type UserPrincipal = Extract<Principal, { kind: 'user' }>;

export interface UserView {
  name: string;
  admin: boolean;
  createdAt: string;
}

export interface TeamView {
  name: string;
  createdAt: string;
}

export interface TeamDetail extends TeamView {
  members: string[];
}

export interface NamespaceView {
  name: string;
  visibility: NamespaceVisibility;
  createdAt: string;
}

export interface GrantView {
  kind: GrantSubjectKind;
  subject: string;
  role: NamespaceRole;
}

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

export interface MeView {
  name: string;
  admin: boolean;
  teams: string[];
  /**
   * How the caller signed in: with a password or an API token over Basic, or with a Bearer
   * token (`bearerFrom` then says what it was issued for).
   */
  via: 'password' | 'api-token' | 'bearer-token';
  /** For a Bearer token: the credential it was issued for, or `external` for another token server's. */
  bearerFrom?: 'password' | 'api-token' | 'external';
  /** The scopes of the API token behind the sign-in. */
  tokenScopes?: TokenScope[];
}

export interface NewTokenInput {
  readonly name: string;
  readonly scopes: readonly { readonly repository: string; readonly actions: readonly string[] }[];
  /** A Go duration ("720h") or days ("30d"); or give expiresAt. */
  readonly expiresIn?: string | undefined;
  /** An ISO-8601 time; or give expiresIn. */
  readonly expiresAt?: string | undefined;
  /** Whose token it is; default the caller. Only registry admins may name someone else. */
  readonly user?: string | undefined;
}

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

function invalid(field: string, reason: string): RegistryError {
  return new RegistryError('REQUEST_INVALID', { field, reason }, { message: `invalid ${field}: ${reason}` });
}

function unknown(kind: string, name: string): RegistryError {
  return new RegistryError('RESOURCE_UNKNOWN', { [kind]: name }, { message: `no such ${kind}: ${name}` });
}

function exists(kind: string, name: string): RegistryError {
  return new RegistryError('RESOURCE_EXISTS', { [kind]: name }, { message: `${kind} ${name} already exists` });
}

function denied(reason: string): RegistryError {
  return new RegistryError('DENIED', undefined, { message: reason });
}

export function validateAccountName(field: string, name: string): string {
  if (!ACCOUNT_NAME.test(name)) {
    throw invalid(field, 'must be 1 to 64 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit');
  }
  return name;
}

export function validateNamespaceName(name: string): string {
  if (name.includes('/') || !isValidRepositoryName(name)) {
    throw invalid('namespace', 'must be one repository path component: lower-case [a-z0-9] joined by ".", "_", "__" or dashes');
  }
  return name;
}

export function validatePassword(password: string): string {
  if ([...password].length < MIN_PASSWORD_LENGTH) throw invalid('password', `must be at least ${MIN_PASSWORD_LENGTH} characters`);
  // bcrypt ignores everything after 72 bytes; refusing is clearer than silently truncating.
  if (passwordTooLongForBcrypt(password)) throw invalid('password', 'must be at most 72 bytes (bcrypt ignores the rest)');
  return password;
}

export function parseRole(role: string): NamespaceRole {
  const found = NAMESPACE_ROLES.find((r) => r === role);
  if (!found) throw invalid('role', `must be one of ${NAMESPACE_ROLES.join(', ')}`);
  return found;
}

export function parseVisibility(visibility: string): NamespaceVisibility {
  if (visibility !== 'public' && visibility !== 'private') throw invalid('visibility', 'must be public or private');
  return visibility;
}

export function parseSubjectKind(kind: string): GrantSubjectKind {
  if (kind !== 'user' && kind !== 'team') throw invalid('kind', 'must be user or team');
  return kind;
}

/** Validates token scopes: repository globs with a non-empty list of pull, push, delete (or "*"). */
export function parseTokenScopes(scopes: NewTokenInput['scopes']): TokenScope[] {
  if (scopes.length === 0) throw invalid('scopes', 'at least one scope is required');
  if (scopes.length > MAX_TOKEN_SCOPES) throw invalid('scopes', `at most ${MAX_TOKEN_SCOPES} scopes`);
  return scopes.map((scope, index) => {
    if (!REPOSITORY_GLOB.test(scope.repository)) {
      throw invalid(`scopes[${index}].repository`, 'must be a repository name or glob (a-z, 0-9, ".", "_", "-", "/", "*", "?")');
    }
    const wanted = new Set<string>();
    for (const action of scope.actions) {
      if (action === '*') for (const a of TOKEN_ACTIONS) wanted.add(a);
      else if ((TOKEN_ACTIONS as readonly string[]).includes(action)) wanted.add(action);
      else throw invalid(`scopes[${index}].actions`, `unknown action ${JSON.stringify(action)}; use pull, push, delete or *`);
    }
    if (wanted.size === 0) throw invalid(`scopes[${index}].actions`, 'at least one action is required');
    return { repository: scope.repository, actions: TOKEN_ACTIONS.filter((a) => wanted.has(a)) };
  });
}

/** Milliseconds of "720h", "90m" (Go durations) or "30d" (days). */
export function parseLifetime(text: string): number {
  const days = /^(\d+)d$/.exec(text);
  if (days) return Number(days[1]) * 24 * 60 * 60 * 1000;
  try {
    return parseDuration(text);
  } catch {
    throw invalid('expiresIn', `${JSON.stringify(text)} is not a lifetime: use a whole number of days (d), or hours (h), minutes (m) and seconds (s), such as 30d, 720h or 1h30m`);
  }
}

export class AccountAdmin {
  private readonly accounts: AccountStore;
  private readonly now: () => Date;

  constructor(private readonly options: AccountAdminOptions) {
    this.accounts = options.accounts;
    this.now = options.now ?? (() => new Date());
  }

  private changed(): void {
    this.options.onChange?.();
  }

  // ---- who is asking

  /** Anyone signed in: a user (password or API token, over Basic or as a Bearer token) or an external token's subject. */
  me(who: Principal): MeView {
    if (who.kind === 'anonymous') throw new RegistryError('UNAUTHORIZED');
    if (who.kind === 'token') return { name: who.subject, admin: false, teams: [], via: 'bearer-token', bearerFrom: 'external' };
    const signIn = who.apiToken === undefined ? 'password' : 'api-token';
    const view: MeView = { name: who.name, admin: who.admin, teams: [...who.teams], via: signIn };
    if (who.bearer !== undefined) {
      view.via = 'bearer-token';
      view.bearerFrom = signIn;
    }
    if (who.apiToken !== undefined) view.tokenScopes = who.apiToken.scope.map((s) => ({ repository: s.repository, actions: [...s.actions] }));
    return view;
  }

  /**
   * A signed-in user acting with their password over Basic. API tokens are for pulling and
   * pushing: one leaked from a CI system must not be able to mint more tokens or change
   * accounts, so the admin use cases refuse them, and refuse Bearer tokens (which carry
   * repository access only, whatever they were issued for).
   */
  private user(who: Principal): UserPrincipal {
    if (who.kind === 'anonymous') throw new RegistryError('UNAUTHORIZED');
    if (who.kind === 'token' || who.bearer !== undefined) throw denied('Bearer tokens grant repository access only; sign in with a password');
    if (who.apiToken !== undefined) throw denied('API tokens grant repository access only; sign in with a password');
    return who;
  }

  /** Refuses a name that is no user, in the database or elsewhere. */
  private async existingUser(field: string, name: string): Promise<void> {
    if (await this.accounts.getUser(name)) return;
    if (await this.options.userExistsElsewhere?.(name)) return;
    throw unknown(field, name);
  }

  private admin(who: Principal): UserPrincipal {
    const user = this.user(who);
    if (!user.admin) throw denied('only registry administrators may do this');
    return user;
  }

  private async namespaceAdmin(who: Principal, namespace: string): Promise<UserPrincipal> {
    const user = this.user(who);
    if (user.admin) return user;
    const roles = await this.accounts.rolesIn(namespace, user.name, user.teams);
    if (!roles.includes('admin')) throw denied(`only administrators of namespace ${namespace} may do this`);
    return user;
  }

  // ---- users

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
    if (!user.admin && user.name !== name) throw denied('only registry administrators may set other users\' passwords');
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

  // ---- teams

  /** Registry administrators see every team; others the teams they belong to. */
  async listTeams(who: Principal): Promise<TeamView[]> {
    const user = this.user(who);
    const teams = await this.accounts.listTeams();
    if (user.admin) return teams;
    const mine = new Set(await this.accounts.teamsOf(user.name));
    return teams.filter((team) => mine.has(team.name));
  }

  async createTeam(who: Principal, name: string): Promise<TeamView> {
    this.admin(who);
    validateAccountName('name', name);
    if (!(await this.accounts.createTeam(name))) throw exists('team', name);
    const team = await this.accounts.getTeam(name);
    if (!team) throw unknown('team', name);
    return team;
  }

  /** Registry administrators and the team's members. */
  async getTeam(who: Principal, name: string): Promise<TeamDetail> {
    const user = this.user(who);
    validateAccountName('team', name);
    const team = await this.accounts.getTeam(name);
    const members = team ? await this.accounts.teamMembers(name) : [];
    if (!user.admin && !members.includes(user.name)) throw denied('only registry administrators and members may see a team');
    if (!team) throw unknown('team', name);
    return { ...team, members };
  }

  async deleteTeam(who: Principal, name: string): Promise<void> {
    this.admin(who);
    validateAccountName('team', name);
    if (!(await this.accounts.deleteTeam(name))) throw unknown('team', name);
    this.changed();
  }

  /**
   * Adds a member by user name; the user may live in the database or in the htpasswd file.
   * Adding a member twice is not an error.
   */
  async addTeamMember(who: Principal, team: string, user: string): Promise<TeamDetail> {
    this.admin(who);
    validateAccountName('team', team);
    validateAccountName('user', user);
    if (!(await this.accounts.getTeam(team))) throw unknown('team', team);
    await this.existingUser('user', user);
    if ((await this.accounts.addTeamMember(team, user)) === 'no-team') throw unknown('team', team);
    this.changed();
    return this.getTeam(who, team);
  }

  async removeTeamMember(who: Principal, team: string, user: string): Promise<void> {
    this.admin(who);
    validateAccountName('team', team);
    validateAccountName('user', user);
    if (!(await this.accounts.getTeam(team))) throw unknown('team', team);
    if (!(await this.accounts.removeTeamMember(team, user))) throw unknown('member', user);
    this.changed();
  }

  // ---- namespaces and grants

  /** Registry administrators see every namespace; others the public ones and those they hold a role in. */
  async listNamespaces(who: Principal): Promise<NamespaceView[]> {
    const user = this.user(who);
    const namespaces = await this.accounts.listNamespaces();
    if (user.admin) return namespaces;
    const mine = new Set<string>();
    for (const grant of await this.accounts.grantsOf('user', user.name)) mine.add(grant.namespace);
    for (const team of user.teams) for (const grant of await this.accounts.grantsOf('team', team)) mine.add(grant.namespace);
    return namespaces.filter((ns) => ns.visibility === 'public' || mine.has(ns.name));
  }

  /** Registry administrators, anyone with a role in it, and anyone when it is public. */
  async getNamespace(who: Principal, name: string): Promise<NamespaceView & { roles: NamespaceRole[] }> {
    const user = this.user(who);
    validateNamespaceName(name);
    const namespace = await this.accounts.getNamespace(name);
    const roles = await this.accounts.rolesIn(name, user.name, user.teams);
    if (!user.admin && roles.length === 0 && namespace?.visibility !== 'public') {
      throw denied(`no role in namespace ${name}`);
    }
    if (!namespace) throw unknown('namespace', name);
    return { ...namespace, roles };
  }

  /** Creates the namespace or changes its visibility: registry administrators and the namespace's administrators. */
  async setNamespaceVisibility(who: Principal, name: string, visibility: string): Promise<NamespaceView> {
    validateNamespaceName(name);
    const parsed = parseVisibility(visibility);
    await this.namespaceAdmin(who, name);
    const stored = await this.accounts.setNamespaceVisibility(name, parsed);
    this.changed();
    return stored;
  }

  /** Forgets the namespace's visibility and grants (it becomes private); registry administrators only. */
  async deleteNamespace(who: Principal, name: string): Promise<void> {
    this.admin(who);
    validateNamespaceName(name);
    if (!(await this.accounts.deleteNamespace(name))) throw unknown('namespace', name);
    this.changed();
  }

  async listGrants(who: Principal, namespace: string): Promise<GrantView[]> {
    validateNamespaceName(namespace);
    await this.namespaceAdmin(who, namespace);
    return (await this.accounts.listGrants(namespace)).map(grantView);
  }

  /** Gives a user or team a role (replacing the one it had): registry and namespace administrators. */
  async setGrant(who: Principal, namespace: string, kind: string, subject: string, role: string): Promise<GrantView> {
    validateNamespaceName(namespace);
    const subjectKind = parseSubjectKind(kind);
    validateAccountName(subjectKind, subject);
    const parsedRole = parseRole(role);
    await this.namespaceAdmin(who, namespace);
    if (subjectKind === 'team' && !(await this.accounts.getTeam(subject))) throw unknown('team', subject);
    if (subjectKind === 'user') await this.existingUser('user', subject);
    await this.accounts.setGrant(namespace, subjectKind, subject, parsedRole);
    this.changed();
    return { kind: subjectKind, subject, role: parsedRole };
  }

  async revokeGrant(who: Principal, namespace: string, kind: string, subject: string): Promise<void> {
    validateNamespaceName(namespace);
    const subjectKind = parseSubjectKind(kind);
    validateAccountName(subjectKind, subject);
    await this.namespaceAdmin(who, namespace);
    if (!(await this.accounts.revokeGrant(namespace, subjectKind, subject))) throw unknown('grant', `${subjectKind} ${subject}`);
    this.changed();
  }

  // ---- API tokens

  /** The caller's own tokens; registry administrators may name another user, or everyone (user undefined with all). */
  async listTokens(who: Principal, options: { user?: string | undefined; all?: boolean | undefined } = {}): Promise<TokenView[]> {
    const user = this.user(who);
    if (options.all) {
      this.admin(who);
      return (await this.accounts.listApiTokens()).map((t) => this.tokenView(t));
    }
    const owner = options.user ?? user.name;
    validateAccountName('user', owner);
    if (owner !== user.name && !user.admin) throw denied('only registry administrators may list other users\' tokens');
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

function userView(user: UserRecord): UserView {
  return { name: user.name, admin: user.admin, createdAt: user.createdAt };
}

function grantView(grant: GrantRecord): GrantView {
  return { kind: grant.subjectKind, subject: grant.subject, role: grant.role };
}
