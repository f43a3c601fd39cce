// A throwaway OpenLDAP server (Debian's slapd) for the directory sign-in tests: a slapd.conf in a
// temporary directory (mdb backend, the memberof overlay), listening on random loopback ports
// (ldap://, and ldaps:// when given a certificate), filled with a service account, users and
// groups through the protocol itself. Stopped by PID; it can be stopped and started again on the
// same ports and data (the "directory is down" tests).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { freePort } from './ports.js';

export const BASE_DN = 'dc=example,dc=org';
export const PEOPLE_DN = `ou=people,${BASE_DN}`;
export const GROUPS_DN = `ou=groups,${BASE_DN}`;
/** The service account Berth searches with. */
export const SERVICE_ACCOUNT = { dn: `cn=berth,ou=services,${BASE_DN}`, password: 'berth-service-pw' };

/**
 * The `ldap:` lines of a Berth configuration (indented to go under `auth:`) for search-then-bind
 * with the service account below PEOPLE_DN; `extra` lines (unindented keys) go into the mapping.
 */
export function ldapConfigLines(url: string, extra: readonly string[] = []): string[] {
  return [
    '  ldap:',
    `    url: ${url}`,
    `    binddn: "${SERVICE_ACCOUNT.dn}"`,
    `    bindpassword: ${SERVICE_ACCOUNT.password}`,
    `    basedn: "${PEOPLE_DN}"`,
    ...extra.map((line) => `    ${line}`),
  ];
}

export interface DirectoryUser {
  readonly uid: string;
  readonly password: string;
}

export interface SlapdOptions {
  /** Also serve ldaps:// (and StartTLS) with this certificate and key (PEM files). */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  readonly users: readonly DirectoryUser[];
  /** Group cn → member uids. */
  readonly groups: Readonly<Record<string, readonly string[]>>;
}

export interface Slapd {
  /** ldap://127.0.0.1:PORT */
  readonly url: string;
  /** ldaps://127.0.0.1:PORT when started with tls (the certificate must name 127.0.0.1). */
  readonly ldapsUrl: string | undefined;
  userDn(uid: string): string;
  groupDn(cn: string): string;
  addMember(group: string, uid: string): Promise<void>;
  removeMember(group: string, uid: string): Promise<void>;
  /** Stops the server (SIGTERM, then SIGKILL); the data stays for start(). */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

const ROOT = { dn: `cn=admin,${BASE_DN}`, password: 'admin-secret' };

export async function startSlapd(options: SlapdOptions): Promise<Slapd> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-slapd-'));
  await mkdir(join(dir, 'db'));
  const port = await freePort();
  const tlsPort = options.tls === undefined ? undefined : await freePort();
  const conf = join(dir, 'slapd.conf');
  await writeFile(
    conf,
    [
      ...['core', 'cosine', 'inetorgperson', 'nis'].map((schema) => `include /etc/ldap/schema/${schema}.schema`),
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      'moduleload memberof',
      `pidfile ${join(dir, 'slapd.pid')}`,
      ...(options.tls === undefined ? [] : [`TLSCertificateFile ${options.tls.certFile}`, `TLSCertificateKeyFile ${options.tls.keyFile}`]),
      'database mdb',
      `suffix "${BASE_DN}"`,
      `rootdn "${ROOT.dn}"`,
      `rootpw ${ROOT.password}`,
      `directory ${join(dir, 'db')}`,
      'maxsize 67108864',
      'overlay memberof',
      '',
    ].join('\n'),
  );
  const urls = [`ldap://127.0.0.1:${port}/`, ...(tlsPort === undefined ? [] : [`ldaps://127.0.0.1:${tlsPort}/`])];
  const url = `ldap://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let output = '';

  const start = async (): Promise<void> => {
    output = '';
    const started = spawn('/usr/sbin/slapd', ['-f', conf, '-h', urls.join(' '), '-d', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    started.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    started.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child = started;
    for (let attempt = 0; ; attempt++) {
      if (started.exitCode !== null) throw new Error(`slapd exited with ${started.exitCode}:\n${output}`);
      try {
        await withRoot(url, async () => undefined);
        return;
      } catch (error) {
        if (attempt > 200) throw new Error(`slapd did not answer: ${String(error)}\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };

  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (running?.pid === undefined || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    process.kill(running.pid, 'SIGTERM');
    const timer = setTimeout(() => running.pid !== undefined && process.kill(running.pid, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const userDn = (uid: string): string => `uid=${uid},${PEOPLE_DN}`;
  const groupDn = (cn: string): string => `cn=${cn},${GROUPS_DN}`;

  await start();
  try {
    await withRoot(url, async (client) => {
      await client.add(BASE_DN, { objectClass: ['top', 'dcObject', 'organization'], o: 'Example', dc: 'example' });
      for (const ou of ['people', 'groups', 'services']) {
        await client.add(`ou=${ou},${BASE_DN}`, { objectClass: ['organizationalUnit'], ou });
      }
      await client.add(SERVICE_ACCOUNT.dn, {
        objectClass: ['organizationalRole', 'simpleSecurityObject'],
        cn: 'berth',
        userPassword: SERVICE_ACCOUNT.password,
      });
      for (const user of options.users) {
        await client.add(userDn(user.uid), {
          objectClass: ['inetOrgPerson'],
          uid: user.uid,
          cn: user.uid,
          sn: user.uid,
          userPassword: user.password,
        });
      }
      for (const [cn, members] of Object.entries(options.groups)) {
        // groupOfNames needs a member: the service account stands in for an empty group.
        const dns = members.length === 0 ? [SERVICE_ACCOUNT.dn] : members.map(userDn);
        await client.add(groupDn(cn), { objectClass: ['groupOfNames'], cn, member: dns });
      }
    });
  } catch (error) {
    await stop();
    throw new Error(`could not fill slapd: ${String(error)}\n${output}`);
  }

  const changeMember = (operation: 'add' | 'delete', group: string, uid: string): Promise<void> =>
    withRoot(url, (client) =>
      client.modify(groupDn(group), new Change({ operation, modification: new Attribute({ type: 'member', values: [userDn(uid)] }) })),
    );

  return {
    url,
    ldapsUrl: tlsPort === undefined ? undefined : `ldaps://127.0.0.1:${tlsPort}`,
    userDn,
    groupDn,
    addMember: (group, uid) => changeMember('add', group, uid),
    removeMember: (group, uid) => changeMember('delete', group, uid),
    stop,
    start,
    destroy: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function withRoot<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ url, timeout: 5_000, connectTimeout: 5_000 });
  try {
    await client.bind(ROOT.dn, ROOT.password);
    return await work(client);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}
