// The Berth account of a person who signed in with OpenID Connect: their user name is a claim of
// the provider (usernameclaim, lower-cased; it must be a valid Berth account name), their row is
// created on first sign-in with no password (its password_hash holds `!oidc:<provider>`, which
// marks the account's origin and matches no password), and their memberships of the teams the
// provider's group mapping names (teams: group -> team) follow the groups claim at every
// sign-in, added and removed. Teams not named in the mapping are left alone, so an administrator
// may still add such a person to other teams by hand. A name that already belongs to a local
// user (htpasswd, a database password) or to another origin is refused: a provider must not be
// able to sign someone in as an existing local account, an administrator above all.
import type { AccountStore } from '../../metadata/index.js';
import { ACCOUNT_NAME } from '../accounts/validation.js';

/** The password_hash of an account a provider created: not a bcrypt hash, so no password matches it. */
export function oidcAccountMark(provider: string): string {
  return `!oidc:${provider}`;
}

/** A sign-in the provider accepted but Berth cannot map to an account; the message says why. */
export class OidcAccountRefused extends Error {
  override readonly name = 'OidcAccountRefused';
}

export interface OidcAccountMapping {
  readonly provider: string;
  readonly usernameClaim: string;
  readonly groupsClaim: string | undefined;
  /** Group -> team. */
  readonly teams: Readonly<Record<string, string>>;
}

export interface OidcAccountsOptions {
  readonly accounts: Pick<AccountStore, 'getUser' | 'createUser' | 'teamsOf' | 'addTeamMember' | 'removeTeamMember'>;
  /** Whether a user of this name exists outside the database (the htpasswd file). */
  readonly localUserExists: (name: string) => Promise<boolean>;
  readonly warn: (details: Record<string, unknown>, message: string) => void;
}

export class OidcAccounts {
  constructor(private readonly options: OidcAccountsOptions) {}

  /** Creates or updates the person's account from the claims; returns the user name. */
  async provision(mapping: OidcAccountMapping, claims: Readonly<Record<string, unknown>>): Promise<string> {
    const name = userNameOf(mapping.usernameClaim, claims[mapping.usernameClaim]);
    const mark = oidcAccountMark(mapping.provider);
    const { accounts } = this.options;
    const existing = await accounts.getUser(name);
    if (existing === undefined && (await this.options.localUserExists(name))) {
      throw new OidcAccountRefused(
        `the user name "${name}" belongs to a local account of this registry, which cannot sign in through ${mapping.provider}`,
      );
    }
    if (existing !== undefined && existing.passwordHash !== mark) {
      throw new OidcAccountRefused(
        `the user name "${name}" belongs to an account that does not come from ${mapping.provider} (a local or directory account)`,
      );
    }
    if (existing === undefined) await accounts.createUser({ name, passwordHash: mark });
    await this.syncTeams(name, mapping, claims);
    return name;
  }

  private async syncTeams(user: string, mapping: OidcAccountMapping, claims: Readonly<Record<string, unknown>>): Promise<void> {
    if (mapping.groupsClaim === undefined) return;
    const { accounts } = this.options;
    const groups = groupsOf(claims[mapping.groupsClaim]);
    const governed = new Set(Object.values(mapping.teams));
    const wanted = new Set(groups.flatMap((group) => mapping.teams[group] ?? []));
    const current = await accounts.teamsOf(user);
    for (const team of current) if (governed.has(team) && !wanted.has(team)) await accounts.removeTeamMember(team, user);
    for (const team of wanted) {
      if (current.includes(team)) continue;
      if ((await accounts.addTeamMember(team, user)) === 'no-team') {
        this.options.warn({ team, user, provider: mapping.provider }, 'auth.oidc teams names a team that does not exist');
      }
    }
  }
}

function userNameOf(claim: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new OidcAccountRefused(`the provider's answer has no "${claim}" claim to name the user by (auth.oidc usernameclaim)`);
  }
  const name = value.toLowerCase();
  if (!ACCOUNT_NAME.test(name)) {
    throw new OidcAccountRefused(
      `the "${claim}" claim ("${name.slice(0, 100)}") is not a valid Berth user name (a-z, 0-9, '.', '_', '-'; at most 64): choose another usernameclaim`,
    );
  }
  return name;
}

/** A groups claim: a list of names, or one name. */
function groupsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((group): group is string => typeof group === 'string');
  return typeof value === 'string' ? [value] : [];
}
