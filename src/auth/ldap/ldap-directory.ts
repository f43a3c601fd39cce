// Checks a user name and password against an LDAP directory (OpenLDAP, Active Directory) and
// reads the user's groups. Search-then-bind: the service account searches for exactly one entry
// matching the user filter, then the password is checked by binding as that entry. Direct bind:
// the entry's DN comes from a template. Groups come from a group search (member={dn}) or from
// an attribute of the user's entry (memberOf), or both.
//
// An empty password is refused before anything is sent: LDAP servers take a bind with a DN and
// no password as an anonymous ("unauthenticated") bind and answer success.
import type { Client, Entry } from 'ldapts';
import { BindPool, ConnectionFactory, DirectoryUnavailable, isWrongCredentials, ServiceConnection } from './connections.js';
import { fillDn, fillFilter, firstDnValue } from './templates.js';

export interface LdapDirectoryOptions {
  readonly url: string;
  readonly startTls: boolean;
  readonly caFile: string | undefined;
  readonly timeoutMs: number;
  readonly service: { readonly dn: string; readonly password: string } | undefined;
  readonly baseDn: string;
  readonly userFilter: string;
  readonly userDnTemplate: string | undefined;
  readonly groups: {
    readonly baseDn: string;
    readonly filter: string | undefined;
    readonly nameAttribute: string;
    readonly memberOfAttribute: string | undefined;
  };
  readonly poolSize: number;
}

/** A user the directory accepted. */
export interface DirectoryEntry {
  readonly dn: string;
  /** The names of the user's groups, each once. */
  readonly groups: readonly string[];
}

export class LdapDirectory {
  private readonly binds: BindPool;
  private readonly service: ServiceConnection | undefined;

  /** Throws when the CA file cannot be read (the start-up check). */
  constructor(private readonly options: LdapDirectoryOptions) {
    const factory = new ConnectionFactory(options);
    this.binds = new BindPool(factory, options.poolSize);
    this.service = options.service && new ServiceConnection(factory, options.service);
  }

  /**
   * The user's entry when the password is right; undefined for an unknown user or a wrong
   * password; DirectoryUnavailable when the directory does not answer.
   */
  async authenticate(username: string, password: string): Promise<DirectoryEntry | undefined> {
    if (password === '') return undefined;
    try {
      const found = await this.findUser(username);
      if (found === undefined) return undefined;
      return await this.binds.use(async (client) => {
        try {
          await client.bind(found.dn, password);
        } catch (error) {
          if (isWrongCredentials(error)) return undefined;
          throw error;
        }
        // Direct bind has no service account: the user reads their own entry and groups.
        const entry = found.entry ?? (await this.readOwnEntry(client, found.dn));
        return { dn: found.dn, groups: await this.groupsOf(client, username, found.dn, entry) };
      });
    } catch (error) {
      throw error instanceof DirectoryUnavailable ? error : new DirectoryUnavailable(error);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.binds.closeAll(), this.service?.close()]);
  }

  /** The user's DN, and with search-then-bind the entry the search found. */
  private async findUser(username: string): Promise<{ dn: string; entry: Entry | undefined } | undefined> {
    if (this.service === undefined) return { dn: fillDn(this.options.userDnTemplate ?? '', username), entry: undefined };
    const filter = fillFilter(this.options.userFilter, { username });
    const memberOf = this.options.groups.memberOfAttribute;
    const { searchEntries } = await this.service.use((client) =>
      client.search(this.options.baseDn, { scope: 'sub', filter, attributes: memberOf === undefined ? ['1.1'] : [memberOf], sizeLimit: 2 }),
    );
    // None, or more than one (a filter that is not unique): nobody to bind as.
    const [entry] = searchEntries;
    return searchEntries.length === 1 && entry !== undefined ? { dn: entry.dn, entry } : undefined;
  }

  private async readOwnEntry(client: Client, dn: string): Promise<Entry | undefined> {
    const memberOf = this.options.groups.memberOfAttribute;
    if (memberOf === undefined) return undefined;
    const { searchEntries } = await client.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: [memberOf] });
    return searchEntries[0];
  }

  private async groupsOf(bound: Client, username: string, dn: string, entry: Entry | undefined): Promise<string[]> {
    const groups = this.options.groups;
    const names = new Set<string>();
    if (groups.memberOfAttribute !== undefined && entry !== undefined) {
      for (const groupDn of values(entry, groups.memberOfAttribute)) {
        const name = firstDnValue(groupDn);
        if (name !== undefined) names.add(name);
      }
    }
    if (groups.filter !== undefined) {
      const filter = fillFilter(groups.filter, { dn, username });
      const search = (client: Client) => client.search(groups.baseDn, { scope: 'sub', filter, attributes: [groups.nameAttribute] });
      const { searchEntries } = this.service === undefined ? await search(bound) : await this.service.use(search);
      for (const group of searchEntries) for (const name of values(group, groups.nameAttribute)) names.add(name);
    }
    return [...names].sort();
  }
}

/** An attribute's values as text; attribute names are matched without regard to case, as LDAP does. */
function values(entry: Entry, attribute: string): string[] {
  const key = Object.keys(entry).find((name) => name.toLowerCase() === attribute.toLowerCase());
  const value = key === undefined ? undefined : entry[key];
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((item) => (Buffer.isBuffer(item) ? item.toString('utf8') : item));
}
