// The rules every account input must pass, shared by the account use cases, the admin API and
// the CLI: names, passwords, roles, visibility, token scopes and lifetimes. Each failure is the
// same RegistryError whichever front end asked.
import { RegistryError } from '../../errors/index.js';
import type { GrantSubjectKind, NamespaceVisibility, TokenScope } from '../../metadata/index.js';
import { ACCESS_ACTIONS, isAccessAction, isRole, ROLES, type Role } from '../../oci/access.js';
import { parseDuration } from '../../oci/duration.js';
import { isValidRepositoryName } from '../../oci/names.js';
import { passwordTooLongForBcrypt } from '../passwords.js';

export const ACCOUNT_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const MIN_PASSWORD_LENGTH = 8;
/** The longest an API token may live: CI credentials should be rotated. */
export const MAX_TOKEN_LIFETIME_MS = 365 * 24 * 60 * 60 * 1000;
const MAX_TOKEN_SCOPES = 32;
export const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._:@/-]{0,99}$/;
/** Repository globs: the repository-name alphabet plus `*` and `?`. */
const REPOSITORY_GLOB = /^[a-z0-9._/*?-]{1,255}$/;

/** A token scope as a front end hands it in, before validation. */
export interface ScopeInput {
  readonly repository: string;
  readonly actions: readonly string[];
}

export function invalid(field: string, reason: string): RegistryError {
  return new RegistryError('REQUEST_INVALID', { field, reason }, { message: `invalid ${field}: ${reason}` });
}

export function unknown(kind: string, name: string): RegistryError {
  return new RegistryError('RESOURCE_UNKNOWN', { [kind]: name }, { message: `no such ${kind}: ${name}` });
}

export function exists(kind: string, name: string): RegistryError {
  return new RegistryError('RESOURCE_EXISTS', { [kind]: name }, { message: `${kind} ${name} already exists` });
}

export function denied(reason: string): RegistryError {
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

export function parseRole(role: string): Role {
  if (!isRole(role)) throw invalid('role', `must be one of ${ROLES.join(', ')}`);
  return role;
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
export function parseTokenScopes(scopes: readonly ScopeInput[]): TokenScope[] {
  if (scopes.length === 0) throw invalid('scopes', 'at least one scope is required');
  if (scopes.length > MAX_TOKEN_SCOPES) throw invalid('scopes', `at most ${MAX_TOKEN_SCOPES} scopes`);
  return scopes.map((scope, index) => {
    if (!REPOSITORY_GLOB.test(scope.repository)) {
      throw invalid(`scopes[${index}].repository`, 'must be a repository name or glob (a-z, 0-9, ".", "_", "-", "/", "*", "?")');
    }
    const wanted = new Set<string>();
    for (const action of scope.actions) {
      if (action === '*') for (const a of ACCESS_ACTIONS) wanted.add(a);
      else if (isAccessAction(action)) wanted.add(action);
      else throw invalid(`scopes[${index}].actions`, `unknown action ${JSON.stringify(action)}; use pull, push, delete or *`);
    }
    if (wanted.size === 0) throw invalid(`scopes[${index}].actions`, 'at least one action is required');
    return { repository: scope.repository, actions: ACCESS_ACTIONS.filter((a) => wanted.has(a)) };
  });
}

/** Milliseconds of "720h", "90m" (Go durations) or "30d" (days). */
export function parseLifetime(text: string): number {
  const days = /^(\d+)d$/.exec(text);
  if (days) return Number(days[1]) * 24 * 60 * 60 * 1000;
  try {
    return parseDuration(text);
  } catch {
    throw invalid(
      'expiresIn',
      `${JSON.stringify(text)} is not a lifetime: use a whole number of days (d), or hours (h), minutes (m) and seconds (s), such as 30d, 720h or 1h30m`,
    );
  }
}
