// Signing in against an LDAP directory (auth.ldap): the directory client (ldap-directory.ts,
// over connections.ts) and the accounts it creates and whose teams it keeps in step
// (directory-accounts.ts), assembled for the authenticator.
import type { AccountStore } from '../../metadata/index.js';
import { DirectoryAccounts, type DirectoryLog, type TeamMapping } from './directory-accounts.js';
import { LdapDirectory, type LdapDirectoryOptions } from './ldap-directory.js';

export { DIRECTORY_ACCOUNT_MARK, DirectoryAccounts } from './directory-accounts.js';
export { DirectoryUnavailable, tlsOptionsOf } from './connections.js';
export { LdapDirectory, type DirectoryEntry, type LdapDirectoryOptions } from './ldap-directory.js';

export interface LdapSignInOptions extends LdapDirectoryOptions {
  readonly groups: LdapDirectoryOptions['groups'] & TeamMapping;
  /** auth.ldap.cachettl */
  readonly cacheTtlMs: number;
}

/**
 * The authenticator's directory for auth.ldap, and a way to close its connections. Throws at
 * once when the CA file cannot be read, so a bad configuration stops the start.
 */
export function ldapSignIn(
  options: LdapSignInOptions,
  accounts: AccountStore,
  log: DirectoryLog,
): { directory: DirectoryAccounts; close: () => Promise<void> } {
  const ldap = new LdapDirectory(options);
  return {
    directory: new DirectoryAccounts(ldap, accounts, options.groups, options.cacheTtlMs, log),
    close: () => ldap.close(),
  };
}
