// The LDAP sign-in row (issue 19): authenticated manifest pulls at c=16 by a directory user
// against the same pulls by a database user, on one Berth configured with both (auth.ldap on a
// throwaway slapd, test/helpers/slapd.ts). The directory user's column stands where Berth's
// stands, the database user's in the first reference's column, so B/R is LDAP / database: the
// goal is within 2x (the bind cache, auth.ldap.cachettl, working: one bind, not one per pull).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { ldapConfigLines, startSlapd, type Slapd } from '../../test/helpers/slapd.js';
import { expectStatus, HttpClient } from './http-client.js';
import type { BenchOptions } from './options.js';
import { MANIFEST_ACCEPT, pushImage, smallImage } from './registry-ops.js';
import { startBerth, type ReferenceRegistry, type ServerProcess } from './servers.js';
import type { MetricSpec, Target, Workload } from './workload.js';
import { smallRequests } from './workloads.js';

const CONCURRENCY = 16;
const REPO = 'bench/ldap';
const DIRECTORY_USER = { uid: 'ldap-puller', password: 'ldap-puller-password' };
const DATABASE_USER = { name: 'db-puller', password: 'db-puller-password' };
const ADMIN = { name: 'bench-admin', password: 'bench-admin-password' };

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Within 2x of the database user: at least half the rate, at most twice the CPU per request. */
function ldapGoal(metric: MetricSpec): MetricSpec {
  const { goal: _goal, ...rest } = metric;
  if (metric.key === 'rps') return { ...rest, goal: { min: 0.5 } };
  if (metric.key === 'cpuMsPerRequest') return { ...rest, goal: { max: 2 } };
  return rest;
}

export function ldapWorkloads(options: BenchOptions): Workload[] {
  const pull = smallRequests(options, {
    id: 'auth-ldap-pull',
    title: `authenticated manifest GET by tag, LDAP user / database user (Basic, bind cache auth.ldap.cachettl 60s), c=${CONCURRENCY}`,
    method: 'GET',
    path: `/v2/${REPO}/manifests/latest`,
    headers: { Accept: MANIFEST_ACCEPT },
    concurrency: CONCURRENCY,
    setup: (target) => pushImage(target.client, REPO, 'latest', smallImage),
    runHeaders: async (target) => ({
      Authorization:
        target.name === 'berth' ? basic(DIRECTORY_USER.uid, DIRECTORY_USER.password) : basic(DATABASE_USER.name, DATABASE_USER.password),
    }),
    primeMs: 4 * options.warmupMs,
  });
  return [{ ...pull, metrics: pull.metrics.map(ldapGoal) }];
}

export interface LdapTargets {
  /** The directory user as 'berth', the database user in the first reference's column: one server. */
  readonly targets: readonly Target[];
  readonly slapd: Slapd;
}

/**
 * Starts slapd and one Berth signing users in against it, and creates the database user;
 * `track` gets the server and clients as soon as they exist (the caller stops them). The
 * caller destroys `slapd` at the end.
 */
export async function startLdapTargets(
  dir: string,
  options: BenchOptions,
  references: readonly ReferenceRegistry[],
  track: (server: ServerProcess | undefined, client: HttpClient) => void,
  onSlapd: (slapd: Slapd) => void,
): Promise<LdapTargets> {
  const slapd = await startSlapd({ users: [DIRECTORY_USER], groups: {} });
  onSlapd(slapd);
  // The administrator who creates the database user lives in an htpasswd file.
  await mkdir(dir, { recursive: true });
  const htpasswd = join(dir, 'htpasswd');
  await writeFile(htpasswd, `${ADMIN.name}:${bcrypt.hashSync(ADMIN.password, options.bcryptCost)}\n`, { mode: 0o600 });
  const server = await startBerth(join(dir, 'berth-ldap'), options, {}, undefined, undefined, [
    'auth:',
    `  htpasswd: {realm: bench, path: ${JSON.stringify(htpasswd)}}`,
    `  bcryptcost: ${options.bcryptCost}`,
    ...ldapConfigLines(slapd.url),
    '  access:',
    `    admins: [${ADMIN.name}]`,
  ]);
  const admin = new HttpClient(server.url, 4, { authorization: basic(ADMIN.name, ADMIN.password) });
  track(server, admin);
  const created = await admin.request(
    'POST',
    '/api/v1/users',
    { 'content-type': 'application/json' },
    Buffer.from(JSON.stringify(DATABASE_USER)),
  );
  expectStatus(created, 201, 'POST /api/v1/users (the database user)');
  const client = (authorization: string): HttpClient => {
    const made = new HttpClient(server.url, 64, { authorization });
    track(undefined, made);
    return made;
  };
  const referenceName = references[0]?.name ?? 'reference';
  return {
    slapd,
    targets: [
      // Pushes (setup) need rights: every signed-in user has them with no access rules.
      { name: 'berth', server, client: client(basic(DIRECTORY_USER.uid, DIRECTORY_USER.password)) },
      { name: referenceName, server, client: client(basic(DATABASE_USER.name, DATABASE_USER.password)) },
    ],
  };
}
