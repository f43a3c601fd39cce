// Who is making a request, once their credentials have been checked: the input of every access
// decision. Anonymous callers are a principal too, so the policy has one shape to judge.
import type { AccessAction } from '../config/security-schema.js';

export type { AccessAction };

/** Namespace roles, each including the ones before it: pull < push < delete < admin. */
export const ROLES = ['pull', 'push', 'delete', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** The actions a role grants on the repositories of its namespace. */
export function actionsOfRole(role: Role): AccessAction[] {
  switch (role) {
    case 'pull':
      return ['pull'];
    case 'push':
      return ['pull', 'push'];
    case 'delete':
    case 'admin':
      return ['pull', 'push', 'delete'];
  }
}

/** A repository glob and the actions allowed on what it matches (API tokens carry these). */
export interface ScopeGrant {
  readonly repository: string;
  readonly actions: readonly AccessAction[];
}

export type Principal =
  | { readonly kind: 'anonymous' }
  | {
      readonly kind: 'user';
      readonly name: string;
      /** Registry-wide administrator (auth.access.admins or the database flag). */
      readonly admin: boolean;
      readonly teams: readonly string[];
      /**
       * Set when the caller signed in with an API token: what the token may do at most. The
       * owner's own rights still apply on top (a token never exceeds its owner).
       */
      readonly tokenScope?: readonly ScopeGrant[];
    }
  | {
      /** A Bearer token from a token server: it carries exactly what it grants. */
      readonly kind: 'token';
      readonly subject: string;
      readonly access: readonly { type: string; name: string; actions: readonly string[] }[];
    };

export const ANONYMOUS: Principal = { kind: 'anonymous' };
