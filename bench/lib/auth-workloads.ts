// The authenticated-pull rows (issue "Security"). They run on their own servers, so every other
// workload still measures open registries: a Berth and a reference configured alike with Basic
// auth over the same htpasswd file (one bcrypt entry), and a Berth in token mode for a Berth-only
// row with Bearer tokens from its /token endpoint (the reference has no token server).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { HttpClient, expectStatus } from './http-client.js';
import type { BenchOptions } from './options.js';
import { MANIFEST_ACCEPT, pushImage, smallImage, type Blob } from './registry-ops.js';
import { startBerth, startReference, type ReferenceRegistry, type RegistryAuth, type ServerProcess } from './servers.js';
import type { Target, Workload } from './workload.js';
import { formatSize, smallRequests } from './workloads.js';

const USER = 'bench';
const PASSWORD = 'bench-pull-password';
const REALM = 'bench';
const REPO = 'bench/auth';
const CONCURRENCY = 16;
/**
 * The reference runs bcrypt on every request, so its 16 connections get their answers in rounds
 * (about 1.4 s apart at cost 10 here): each window spans at least two whole rounds.
 */
const MIN_REQUESTS = 2 * CONCURRENCY;

/**
 * These servers are fresh, while the open pair has been warmed up by every row before: each row
 * first sends its own request, untimed, for four warm-up periods (2 s in a full run).
 */
function primeMs(options: BenchOptions): number {
  return 4 * options.warmupMs;
}
/** What a client sends on every request in Basic mode (both registries accept nothing less). */
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

/** The rows, by the servers they run on: the Basic pair, or Berth alone in token mode. */
export interface AuthWorkloads {
  readonly basic: readonly Workload[];
  readonly token: readonly Workload[];
}

/** The servers of the rows that were selected (an empty list for a kind that was not). */
export interface AuthTargets {
  readonly basic: readonly Target[];
  readonly token: readonly Target[];
}

function smallLayer(): Blob {
  const layer = smallImage.layers[0];
  if (layer === undefined) throw new Error('the small image has no layer');
  return layer;
}

/** Pushes the small image (three 4 KiB layers) with the target client's credentials. */
async function seed(target: Target): Promise<void> {
  await pushImage(target.client, REPO, 'latest', smallImage);
}

/** A pull token from Berth's token server, asked for with Basic credentials as docker does. */
async function bearer(target: Target): Promise<Record<string, string>> {
  const scope = encodeURIComponent(`repository:${REPO}:pull`);
  const got = await target.client.request('GET', `/token?service=berth&scope=${scope}`);
  expectStatus(got, 200, `GET /token on ${target.name}`);
  const token = (JSON.parse(got.body.toString('utf8')) as { token?: unknown }).token;
  if (typeof token !== 'string' || token === '')
    throw new Error(`GET /token on ${target.name}: no token in ${got.body.toString('utf8', 0, 200)}`);
  return { Authorization: `Bearer ${token}` };
}

export function authWorkloads(options: BenchOptions): AuthWorkloads {
  const layer = smallLayer();
  const manifestPath = `/v2/${REPO}/manifests/latest`;
  return {
    basic: [
      smallRequests(options, {
        id: `auth-manifest-get-c${CONCURRENCY}`,
        title: `authenticated manifest GET by tag (Basic, htpasswd bcrypt cost ${options.bcryptCost}), c=${CONCURRENCY}`,
        method: 'GET',
        path: manifestPath,
        headers: { Accept: MANIFEST_ACCEPT, Authorization: BASIC },
        concurrency: CONCURRENCY,
        setup: seed,
        minRequests: MIN_REQUESTS,
        primeMs: primeMs(options),
      }),
      smallRequests(options, {
        id: `auth-blob-get-c${CONCURRENCY}`,
        title: `authenticated blob GET ${formatSize(layer.bytes.length)} (Basic, htpasswd bcrypt cost ${options.bcryptCost}), c=${CONCURRENCY}`,
        method: 'GET',
        path: `/v2/${REPO}/blobs/${layer.digest}`,
        headers: { Authorization: BASIC },
        concurrency: CONCURRENCY,
        setup: seed,
        minRequests: MIN_REQUESTS,
        primeMs: primeMs(options),
      }),
    ],
    token: [
      smallRequests(options, {
        id: `auth-token-manifest-get-c${CONCURRENCY}`,
        title: `authenticated manifest GET by tag (Bearer token from Berth's /token; Berth only), c=${CONCURRENCY}`,
        method: 'GET',
        path: manifestPath,
        headers: { Accept: MANIFEST_ACCEPT },
        concurrency: CONCURRENCY,
        setup: seed,
        minRequests: MIN_REQUESTS,
        primeMs: primeMs(options),
        runHeaders: bearer,
        berthOnly: true,
      }),
    ],
  };
}

/**
 * Writes an htpasswd file with one bcrypt entry of the given cost, in the `$2y$` form that
 * `htpasswd -B` writes (bcryptjs writes `$2b$`, the same algorithm; both registries read either).
 */
export async function writeHtpasswd(path: string, cost: number): Promise<void> {
  const hash = bcrypt.hashSync(PASSWORD, cost);
  await writeFile(path, `${USER}:$2y$${hash.slice('$2b$'.length)}\n`, { mode: 0o600 });
}

/**
 * Starts the servers the selected rows need, all at once, with one htpasswd file; `track`
 * receives each server and client as soon as it exists, so the caller stops and closes them
 * even when another fails to start.
 */
export async function startAuthTargets(
  dir: string,
  options: BenchOptions,
  references: readonly ReferenceRegistry[],
  want: { readonly basic: boolean; readonly token: boolean },
  track: (server: ServerProcess, client: HttpClient) => void,
): Promise<AuthTargets> {
  const htpasswd = join(dir, 'htpasswd');
  await mkdir(dir, { recursive: true });
  await writeHtpasswd(htpasswd, options.bcryptCost);
  const basicAuth: RegistryAuth = { mode: 'htpasswd', realm: REALM, path: htpasswd };
  const tokenAuth: RegistryAuth = { mode: 'token', path: htpasswd };
  const target = async (name: Target['name'], start: Promise<ServerProcess>): Promise<Target> => {
    const server = await start;
    const client = new HttpClient(server.url, 64, { authorization: BASIC });
    track(server, client);
    return { name, server, client };
  };
  const starting = [
    ...(want.basic
      ? [
          target('berth', startBerth(join(dir, 'berth-basic'), options, {}, basicAuth)),
          ...references.map((reference) =>
            target(reference.name, startReference(join(dir, `${reference.name}-basic`), reference, basicAuth)),
          ),
        ]
      : []),
    ...(want.token ? [target('berth', startBerth(join(dir, 'berth-token'), options, {}, tokenAuth))] : []),
  ];
  const settled = await Promise.allSettled(starting);
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed?.status === 'rejected') throw failed.reason;
  const targets = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const basicCount = want.basic ? 1 + references.length : 0;
  return { basic: targets.slice(0, basicCount), token: targets.slice(basicCount) };
}
