// auth.ldap: signing users in against an LDAP directory or Active Directory (src/auth/ldap/).
// Either search-then-bind (a service account finds the user's entry by a filter, then the
// user's own password is checked by binding as that entry) or direct bind (the entry's DN is
// built from a template). Directory groups map to Berth teams. Settings that only make sense
// together are checked here, so a half-configured directory is refused at start-up.
import path from 'node:path';
import { z } from 'zod';
import { duration, expectedGot, setting } from './setting.js';

export interface LdapConfig {
  /** ldap:// or ldaps:// URL of the directory. */
  url: string;
  /** Upgrade an ldap:// connection with StartTLS before anything is sent. */
  startTls: boolean;
  /** PEM CA bundle the directory's certificate must chain to (ldaps:// or StartTLS); undefined: the system's CAs. */
  caFile: string | undefined;
  timeoutMs: number;
  /** The service account of search-then-bind; undefined: direct bind with userDnTemplate. */
  service: { dn: string; password: string } | undefined;
  /** Where users (and, unless groupBaseDn is set, groups) are searched. */
  baseDn: string;
  /** Search filter with {username}, which is escaped (RFC 4515) before it is put in. */
  userFilter: string;
  /** Direct bind: the user's DN with {username}, escaped as a DN value (RFC 4514). */
  userDnTemplate: string | undefined;
  groups: {
    /** Group search base; undefined: baseDn. */
    baseDn: string;
    /** Group search filter with {dn} (the user's DN) and {username}; undefined: no group search. */
    filter: string | undefined;
    /** Attribute of a group entry that names the group. */
    nameAttribute: string;
    /** Attribute of the user entry listing the DNs of its groups (memberOf); undefined: not read. */
    memberOfAttribute: string | undefined;
    /** Directory group name → Berth team name. */
    teams: Record<string, string>;
    /** A directory group also stands for the Berth team of the same name (when that team exists). */
    sameNameTeams: boolean;
  };
  /** How long a successful bind is remembered (salted hash of user and password, never the password). */
  cacheTtlMs: number;
  /** Connections kept for user binds (the service account has one more of its own). */
  poolSize: number;
}

const LDAP_URL_EXPECTED = 'an ldap:// or ldaps:// URL such as ldaps://ldap.example.com:636';
const ldapUrl = z.string().refine((text) => /^ldaps?:\/\/[^/]/.test(text) && URL.canParse(text), {
  error: (issue) => expectedGot(LDAP_URL_EXPECTED, issue.input),
});

const withPlaceholder = (placeholder: string, example: string) =>
  z.string().refine((text) => text.includes(placeholder), {
    error: (issue) => expectedGot(`text containing ${placeholder}, such as ${example}`, issue.input),
  });

export const ldapSection = z
  .strictObject({
    url: setting(ldapUrl, {
      kind: 'string',
      origin: 'berth',
      description: 'The directory: ldap://host[:port] or ldaps://host[:port]. Setting auth.ldap turns authentication on.',
      expected: LDAP_URL_EXPECTED,
      defaultText: 'none',
    }),
    starttls: setting(z.boolean().default(false), {
      kind: 'boolean',
      origin: 'berth',
      description: 'Upgrade an ldap:// connection with StartTLS before binding (refused with ldaps://).',
      expected: 'true or false',
      defaultText: 'false',
    }),
    cafile: setting(z.string().min(1).optional(), {
      kind: 'string',
      origin: 'berth',
      description: "PEM CA certificate(s) the directory's certificate must chain to (ldaps:// or StartTLS); by default the system's CAs.",
      expected: 'a file path',
      defaultText: 'none',
    }),
    timeout: duration({
      defaultText: '5s',
      minMs: 1,
      minText: '1ms',
      info: {
        origin: 'berth',
        description: 'How long connecting to the directory, and each bind or search, may take; longer counts as the directory being down.',
      },
    }),
    binddn: setting(z.string().min(1).optional(), {
      kind: 'string',
      origin: 'berth',
      description: "Search-then-bind: the service account's DN, which searches for the user's entry (needs auth.ldap.bindpassword).",
      expected: 'a DN such as cn=berth,ou=services,dc=example,dc=org',
      defaultText: 'none',
    }),
    bindpassword: setting(z.string().min(1).optional(), {
      kind: 'string',
      origin: 'berth',
      description: "The service account's password (better given in the environment than in the file).",
      expected: 'a string',
      defaultText: 'none',
    }),
    basedn: setting(z.string().min(1), {
      kind: 'string',
      origin: 'berth',
      description: 'Where user entries are searched (and groups, unless auth.ldap.groupbasedn is set).',
      expected: 'a DN such as ou=people,dc=example,dc=org',
      defaultText: 'none',
    }),
    userfilter: setting(withPlaceholder('{username}', '(uid={username})').default('(uid={username})'), {
      kind: 'string',
      origin: 'berth',
      description:
        'Search-then-bind: the filter that finds a user; {username} is replaced by the escaped user name (Active Directory: (sAMAccountName={username})).',
      expected: 'an LDAP filter containing {username}',
      defaultText: '(uid={username})',
    }),
    userdn: setting(withPlaceholder('{username}', 'uid={username},ou=people,dc=example,dc=org').optional(), {
      kind: 'string',
      origin: 'berth',
      description: "Direct bind (instead of auth.ldap.binddn): the user's DN, with {username} replaced by the escaped user name.",
      expected: 'a DN template containing {username}',
      defaultText: 'none',
    }),
    groupbasedn: setting(z.string().min(1).optional(), {
      kind: 'string',
      origin: 'berth',
      description: 'Where groups are searched; by default auth.ldap.basedn.',
      expected: 'a DN such as ou=groups,dc=example,dc=org',
      defaultText: 'none',
    }),
    groupfilter: setting(z.string().min(1).optional(), {
      kind: 'string',
      origin: 'berth',
      description:
        "The filter that finds a user's groups; {dn} is the user's escaped DN, {username} the escaped user name, e.g. (member={dn}). Unset: no group search.",
      expected: 'an LDAP filter such as (&(objectClass=groupOfNames)(member={dn}))',
      defaultText: 'none',
    }),
    groupnameattribute: setting(z.string().min(1).default('cn'), {
      kind: 'string',
      origin: 'berth',
      description: 'The attribute of a group entry found by auth.ldap.groupfilter that names the group.',
      expected: 'an attribute name',
      defaultText: 'cn',
    }),
    memberofattribute: setting(z.string().min(1).optional(), {
      kind: 'string',
      origin: 'berth',
      description:
        "The attribute of the user's entry listing its groups' DNs (memberOf in Active Directory and with OpenLDAP's memberof overlay); a group is named by its DN's first value.",
      expected: 'an attribute name',
      defaultText: 'none',
    }),
    teams: setting(z.record(z.string().min(1), z.string().min(1)).default({}), {
      kind: 'structured',
      origin: 'berth',
      description:
        "Directory group name → Berth team: at every sign-in the user's membership of these teams is set to follow the directory (added and removed).",
      expected: 'a mapping such as {registry-admins: admins, developers: dev}',
      defaultText: 'none',
    }),
    samenameteams: setting(z.boolean().default(false), {
      kind: 'boolean',
      origin: 'berth',
      description:
        'A directory group also stands for the existing Berth team of the same name; every team of a directory user then follows the directory.',
      expected: 'true or false',
      defaultText: 'false',
    }),
    cachettl: duration({
      defaultText: '60s',
      minMs: 0,
      minText: '0s',
      info: {
        origin: 'berth',
        description:
          'How long a successful directory sign-in is remembered (by a salted hash of user and password), so a pull storm is not a bind storm; 0s binds every time.',
      },
    }),
    poolsize: setting(z.int().min(1).max(64).default(4), {
      kind: 'integer',
      origin: 'berth',
      description: "Connections kept open for users' binds (the service account's searches use one more).",
      expected: 'a whole number from 1 to 64',
      defaultText: '4',
    }),
  })
  .superRefine((ldap, ctx) => {
    const refuse = (key: string, message: string): void => {
      ctx.addIssue({ code: 'custom', path: [key], input: ldap[key as keyof typeof ldap], message });
    };
    if ((ldap.binddn === undefined) === (ldap.userdn === undefined)) {
      refuse('binddn', 'auth.ldap needs exactly one of binddn (search-then-bind with a service account) and userdn (direct bind)');
    }
    if (ldap.binddn !== undefined && ldap.bindpassword === undefined)
      refuse('bindpassword', 'auth.ldap.binddn needs auth.ldap.bindpassword');
    if (ldap.starttls && ldap.url.startsWith('ldaps:'))
      refuse('starttls', 'auth.ldap.starttls upgrades ldap:// connections; ldaps:// is TLS already');
  })
  .optional();

type LdapFile = z.output<typeof ldapSection>;

export function toLdapConfig(ldap: LdapFile, cwd: string): LdapConfig | undefined {
  if (ldap === undefined) return undefined;
  return {
    url: ldap.url,
    startTls: ldap.starttls,
    caFile: ldap.cafile === undefined ? undefined : path.resolve(cwd, ldap.cafile),
    timeoutMs: ldap.timeout,
    service: ldap.binddn === undefined ? undefined : { dn: ldap.binddn, password: ldap.bindpassword ?? '' },
    baseDn: ldap.basedn,
    userFilter: ldap.userfilter,
    userDnTemplate: ldap.userdn,
    groups: {
      baseDn: ldap.groupbasedn ?? ldap.basedn,
      filter: ldap.groupfilter,
      nameAttribute: ldap.groupnameattribute,
      memberOfAttribute: ldap.memberofattribute,
      teams: ldap.teams,
      sameNameTeams: ldap.samenameteams,
    },
    cacheTtlMs: ldap.cachettl,
    poolSize: ldap.poolsize,
  };
}
