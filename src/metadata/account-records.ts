// The account records the metadata layer hands out (users, teams, namespaces and grants, API
// tokens) and how each is read from its row: camelCase, booleans and undefined instead of the
// database's integers and nulls, token scopes parsed from their JSON text.
import { ACCESS_ACTIONS, type AccessAction, type Role } from '../oci/access.js';
import type { ApiTokensTable, NamespaceGrantsTable, UsersTable } from './schema.js';

export type NamespaceVisibility = 'public' | 'private';
export type GrantSubjectKind = 'user' | 'team';

export interface UserRecord {
  name: string;
  passwordHash: string;
  admin: boolean;
  createdAt: string;
}

export interface TeamRecord {
  name: string;
  createdAt: string;
}

export interface NamespaceRecord {
  name: string;
  visibility: NamespaceVisibility;
  createdAt: string;
}

export interface GrantRecord {
  namespace: string;
  subjectKind: GrantSubjectKind;
  subject: string;
  role: Role;
}

export interface TokenScope {
  /** Repository glob (`*` within a component, `**` across). */
  repository: string;
  actions: AccessAction[];
}

export interface ApiTokenRecord {
  id: string;
  owner: string;
  name: string;
  /** SHA-256 of the secret, hex. */
  secretHash: string;
  scopes: TokenScope[];
  expiresAt: string | undefined;
  createdAt: string;
  lastUsedAt: string | undefined;
}

export interface NewUser {
  readonly name: string;
  readonly passwordHash: string;
  readonly admin?: boolean | undefined;
}

export interface NewApiToken {
  readonly id: string;
  readonly owner: string;
  readonly name: string;
  readonly secretHash: string;
  readonly scopes: readonly TokenScope[];
  readonly expiresAt: string | undefined;
}

export interface AccessControlCounts {
  readonly users: number;
  readonly grants: number;
  readonly privateNamespaces: number;
}

export function toUser(row: UsersTable): UserRecord {
  return { name: row.name, passwordHash: row.password_hash, admin: Number(row.admin) === 1, createdAt: row.created_at };
}

export function toNamespace(row: { name: string; visibility: string; created_at: string }): NamespaceRecord {
  // Anything but an explicit 'public' is private: the safe reading of an unexpected value.
  return { name: row.name, visibility: row.visibility === 'public' ? 'public' : 'private', createdAt: row.created_at };
}

export function toGrant(row: NamespaceGrantsTable): GrantRecord {
  return { namespace: row.namespace, subjectKind: row.subject_kind, subject: row.subject, role: row.role };
}

export function toApiToken(row: ApiTokensTable): ApiTokenRecord {
  return {
    id: row.id,
    owner: row.owner,
    name: row.name,
    secretHash: row.secret_hash,
    scopes: parseScopes(row.scopes),
    expiresAt: row.expires_at ?? undefined,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at ?? undefined,
  };
}

/** Scopes as stored; anything malformed grants nothing rather than failing the request. */
function parseScopes(text: string): TokenScope[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const scopes: TokenScope[] = [];
  for (const entry of parsed as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { repository, actions } = entry as { repository?: unknown; actions?: unknown };
    if (typeof repository !== 'string' || !Array.isArray(actions)) continue;
    scopes.push({
      repository,
      actions: ACCESS_ACTIONS.filter((action) => (actions as unknown[]).includes(action)),
    });
  }
  return scopes;
}
