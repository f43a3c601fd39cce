// OpenID Connect sign-in for the web UI (auth.oidc.providers): the flow (oidc-sign-in.ts) and the
// accounts it creates (oidc-accounts.ts), assembled for the server.
import type { AccountStore } from '../../metadata/index.js';
import { OidcAccounts } from './oidc-accounts.js';
import { OidcSignIn, type OidcProvider } from './oidc-sign-in.js';

export { OidcSignIn, OidcSignInFailed, type OidcProvider } from './oidc-sign-in.js';
export { oidcAccountMark } from './oidc-accounts.js';

export interface OidcSetup {
  readonly providers: readonly OidcProvider[];
  readonly accounts: AccountStore;
  /** Whether a user of this name exists outside the database (the htpasswd file). */
  readonly localUserExists: (name: string) => Promise<boolean>;
  readonly warn: (details: Record<string, unknown>, message: string) => void;
}

/** The sign-in of the configured providers; undefined when there are none. */
export function oidcSignIn(setup: OidcSetup): OidcSignIn | undefined {
  if (setup.providers.length === 0) return undefined;
  const people = new OidcAccounts({ accounts: setup.accounts, localUserExists: setup.localUserExists, warn: setup.warn });
  return new OidcSignIn({ providers: setup.providers, accounts: setup.accounts, people });
}
