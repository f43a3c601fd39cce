// A directory's users as Berth accounts: what the authenticator consults for user names with no
// local password. When the directory accepts a password, the user's row is created on first
// sign-in (no password stored: its password_hash holds DIRECTORY_ACCOUNT_MARK, which marks where
// the account comes from and matches no password), and the user's memberships of the teams the
// directory governs are set to its groups, added and removed, at every sign-in. Grants to those
// teams then follow directory membership through the one access policy.
//
// A directory that cannot be reached fails closed: the sign-in gets 401 with a message that says
// so, and the outage is logged. Local users (htpasswd, database) never reach this code.
import type { AccountStore } from '../../metadata/index.js';
import { ACCOUNT_NAME } from '../accounts/validation.js';
import { AuthenticationFailed } from '../authenticator.js';
import { DirectoryUnavailable } from './connections.js';
import type { LdapDirectory } from './ldap-directory.js';

/** The password_hash of an account the directory created: not a bcrypt hash, so no password matches it. */
export const DIRECTORY_ACCOUNT_MARK = '!directory:ldap';

/** What sign-ins against the directory need to say when something goes wrong. */
export interface DirectoryLog {
  warn(details: Record<string, unknown>, message: string): void;
}

export interface TeamMapping {
  /** Directory group → Berth team. */
  readonly teams: Readonly<Record<string, string>>;
  /** A group also stands for the existing team of its name, and every team of a directory user follows the directory. */
  readonly sameNameTeams: boolean;
}

/** The authenticator's PasswordDirectory for auth.ldap. */
export class DirectoryAccounts {
  readonly accountMark = DIRECTORY_ACCOUNT_MARK;

  constructor(
    private readonly directory: LdapDirectory,
    private readonly accounts: AccountStore,
    private readonly mapping: TeamMapping,
    readonly rememberMs: number,
    private readonly log: DirectoryLog,
  ) {}

  async verify(user: string, password: string): Promise<boolean> {
    // Only names Berth accepts for accounts: the directory's own matching (often case-blind)
    // must not give one person two Berth accounts.
    if (!ACCOUNT_NAME.test(user)) return false;
    let entry: Awaited<ReturnType<LdapDirectory['authenticate']>>;
    try {
      entry = await this.directory.authenticate(user, password);
    } catch (error) {
      if (!(error instanceof DirectoryUnavailable)) throw error;
      this.log.warn({ err: error, user }, 'LDAP sign-in failed: the directory cannot be reached');
      throw new AuthenticationFailed('the user directory (LDAP) cannot be reached; directory users cannot sign in until it answers');
    }
    if (entry === undefined) return false;
    await this.accounts.createUser({ name: user, passwordHash: DIRECTORY_ACCOUNT_MARK });
    await this.syncTeams(user, entry.groups);
    return true;
  }

  /** Sets the user's memberships of directory-governed teams to those its groups map to. */
  private async syncTeams(user: string, groups: readonly string[]): Promise<void> {
    const wanted = new Set<string>();
    for (const group of groups) {
      const mapped = this.mapping.teams[group];
      if (mapped !== undefined) wanted.add(mapped);
      if (this.mapping.sameNameTeams) wanted.add(group);
    }
    const current = await this.accounts.teamsOf(user);
    const governed = this.mapping.sameNameTeams ? current : current.filter((team) => Object.values(this.mapping.teams).includes(team));
    for (const team of governed) if (!wanted.has(team)) await this.accounts.removeTeamMember(team, user);
    for (const team of wanted) {
      if (current.includes(team)) continue;
      // A group whose team does not exist (yet) is no error: same-name groups are mostly not teams.
      if ((await this.accounts.addTeamMember(team, user)) === 'no-team' && !this.mapping.sameNameTeams) {
        this.log.warn({ team, user }, 'auth.ldap.teams names a team that does not exist');
      }
    }
  }
}
