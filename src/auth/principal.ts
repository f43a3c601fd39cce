// Who is making a request, once their credentials have been checked: the input of every access
// decision. Anonymous callers are a principal too, so the policy has one shape to judge.
import type { AccessAction } from '../oci/index.js';
import type { ResourceAccess } from './token/index.js';

/** A repository glob and the actions allowed on what it matches (API tokens carry these). */
export interface ScopeGrant {
  readonly repository: string;
  readonly actions: readonly AccessAction[];
}

/** The API token a user signed in with. */
export interface ApiTokenSignIn {
  readonly id: string;
  readonly scope: readonly ScopeGrant[];
}

/**
 * A Bearer token of Berth's own token server that came with the request: the access it was
 * issued with. The caller's current rights still apply on top, so a grant removed or a
 * credential revoked after the token was issued takes the access away too.
 */
export interface BearerGrant {
  readonly access: readonly ResourceAccess[];
}

export type Principal =
  | {
      readonly kind: 'anonymous';
      /** Set for an anonymous token of Berth's own token server. */
      readonly bearer?: BearerGrant;
    }
  | {
      readonly kind: 'user';
      readonly name: string;
      /** Registry-wide administrator (auth.access.admins or the database flag). */
      readonly admin: boolean;
      readonly teams: readonly string[];
      /**
       * Set when the caller signed in with an API token (directly, or through a Bearer token
       * issued for one): its id and what it may do at most. The owner's own rights still apply
       * on top (a token never exceeds its owner).
       */
      readonly apiToken?: ApiTokenSignIn;
      /** Set when the request carried a Bearer token of Berth's own token server. */
      readonly bearer?: BearerGrant;
    }
  | {
      /**
       * A CI job signed in with its OIDC ID token (auth.workloadidentity, workload-identity.ts):
       * it may do what anyone may, plus exactly the grants of the issuer's rules its claims match.
       */
      readonly kind: 'workload';
      /** The token's `sub` claim (for GitHub Actions: repo:org/app:ref:refs/heads/main). */
      readonly subject: string;
      readonly issuer: string;
      readonly grants: readonly ScopeGrant[];
      /** When the ID token expires (ms since the epoch): Bearer tokens issued for it end no later. */
      readonly expiresAt: number;
      /** Set when the request carried a Bearer token of Berth's own token server issued for the job's token. */
      readonly bearer?: BearerGrant;
    }
  | {
      /** A Bearer token from an external token server: it carries exactly what it grants. */
      readonly kind: 'token';
      readonly subject: string;
      readonly access: readonly ResourceAccess[];
    };

export const ANONYMOUS: Principal = { kind: 'anonymous' };

/**
 * How the caller proved who they are, the dimension the authorization matrix tests along:
 * Basic with a password or an API token, a Bearer token of Berth's own server derived from
 * one of those (or anonymous), a CI job's OIDC ID token (or a Bearer token issued for it), an
 * external issuer's token, or nothing.
 */
export type CredentialKind =
  | 'anonymous'
  | 'password'
  | 'api-token'
  | 'bearer-anonymous'
  | 'bearer-password'
  | 'bearer-api-token'
  | 'workload'
  | 'bearer-workload'
  | 'bearer-external';

export function credentialKind(principal: Principal): CredentialKind {
  switch (principal.kind) {
    case 'token':
      return 'bearer-external';
    case 'anonymous':
      return principal.bearer === undefined ? 'anonymous' : 'bearer-anonymous';
    case 'workload':
      return principal.bearer === undefined ? 'workload' : 'bearer-workload';
    case 'user': {
      const signIn = principal.apiToken === undefined ? 'password' : 'api-token';
      return principal.bearer === undefined ? signIn : `bearer-${signIn}`;
    }
  }
}

/** The principal without its Bearer token's narrowing: who the caller is, with their current rights. */
export function withoutBearer(principal: Principal): Principal {
  if (principal.kind === 'token' || principal.bearer === undefined) return principal;
  const { bearer: _bearer, ...rest } = principal;
  return rest;
}
