// What start-up checks before the registry opens anything: the files the configuration names
// (TLS certificate and key, token keys, the LDAP directory's CA file; client certificates need
// client CAs), whether the blob root and the SQLite directory are
// directories Berth can write (a temporary file is created and removed: the only test that
// read-only mounts, immutable directories, permissions and root squashing all answer alike),
// and whether a database set up for authentication is about to be served with authentication
// off. `berth serve` (through buildApp) and `berth config check` both call these functions,
// so the check cannot pass what serve then rejects. Problems are ConfigErrors naming the key,
// the path and what is wrong, all of them at once. The token and LDAP code (jose, ldapts) is
// imported only when the configuration has something for it to check: a server without them
// would otherwise keep both loaded for its whole life.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, type Config, type ConfigIssue } from '../config/index.js';
import { AccountStore, openSqliteReadOnly, type AccessControlCounts, type MetadataDatabase } from '../metadata/index.js';
import { readTlsMaterial } from './tls-material.js';

export interface StartupCheckOptions {
  /**
   * serve: create missing data directories, then check them. config check: create nothing;
   * a directory that does not exist yet is checked through the nearest parent that does.
   */
  readonly create: boolean;
}

/** Where the probe files go; removed at once, and named so that nobody mistakes them for data. */
const PROBE_PREFIX = '.berth-write-check-';

/**
 * Runs the start-up checks; resolves with warnings (to log or print), or throws a ConfigError
 * listing every problem.
 */
export async function checkStartup(config: Config, options: StartupCheckOptions): Promise<string[]> {
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  const problem = (key: string, message: string): void => {
    issues.push({ kind: 'invalid-value', key, message, source: undefined, suggestion: undefined });
  };

  if (config.http.tls) {
    try {
      await readTlsMaterial(config.http.tls);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      issues.push(...error.issues);
    }
  }
  const auth = config.auth;
  if (auth.mode === 'token' && auth.tokenServer.signingKey !== undefined) {
    const { loadSigningKeyFile } = await import('../auth/token/signing-key.js');
    await loadSigningKeyFile(auth.tokenServer.signingKey).catch((error: unknown) =>
      problem('auth.tokenserver.signingkey', messageOf(error)),
    );
  }
  if (auth.mode === 'external-token' && auth.externalToken) {
    const { externalTokenVerifierFromFiles } = await import('../auth/token/external-token-verifier.js');
    await externalTokenVerifierFromFiles(auth.externalToken).catch((error: unknown) => problem('auth.token', messageOf(error)));
  }
  if (auth.ldap?.caFile !== undefined) {
    const { tlsOptionsOf } = await import('../auth/ldap/index.js');
    try {
      tlsOptionsOf(auth.ldap);
    } catch (error) {
      problem('auth.ldap.cafile', messageOf(error));
    }
  }
  if (auth.clientCertificates !== undefined && (config.http.tls?.clientcas.length ?? 0) === 0) {
    problem('auth.clientcertificates', 'needs http.tls with clientcas: the CAs that client certificates are verified against');
  }
  if (auth.htpasswd) {
    // Not fatal for serve (the file is re-read when it appears), but rarely meant.
    const info = await stat(auth.htpasswd.path).catch(() => undefined);
    if (!info?.isFile()) {
      warnings.push(
        `auth.htpasswd.path: ${auth.htpasswd.path} ${info ? 'is not a file' : 'does not exist'}: no htpasswd user can sign in until it does`,
      );
    }
  }

  if (!config.storage.s3) {
    const root = config.storage.filesystem.rootdirectory;
    const key = 'storage.filesystem.rootdirectory';
    const purpose = 'Berth writes blobs and uploads there';
    if (await checkDirectory(key, root, purpose, options, problem, warnings)) {
      // A read-only mount below the root stops pushes just the same.
      for (const sub of ['blobs', 'uploads']) {
        const dir = path.join(root, sub);
        if ((await stat(dir).catch(() => undefined))?.isDirectory()) await probeWritable(key, dir, purpose, problem, warnings);
      }
    }
  }
  if (!config.metadata.postgres && config.metadata.sqlite.path !== ':memory:') {
    const file = config.metadata.sqlite.path;
    const key = 'metadata.sqlite.path';
    const purpose = `SQLite keeps the database ${path.basename(file)} and its -wal and -shm files there`;
    if (await checkDirectory(key, path.dirname(file), purpose, options, problem, warnings)) {
      for (const candidate of [file, `${file}-wal`, `${file}-shm`]) {
        const info = await stat(candidate).catch(() => undefined);
        if (info === undefined) continue;
        if (!info.isFile()) {
          problem(key, `${candidate} is not a file`);
          continue;
        }
        await access(candidate, constants.R_OK | constants.W_OK).catch((error: unknown) =>
          problem(key, `${candidate} is not writable (${reasonOf(error)}): the database must be written to serve pushes`),
        );
      }
    }
  }

  if (issues.length > 0) throw new ConfigError(issues);
  return warnings;
}

/**
 * Refuses to serve a database set up for authentication (users, grants or private namespaces,
 * as `berth user add` and `berth namespace ...` write them) with authentication off, which
 * would serve every private repository to anyone, unless auth.openaccess says so.
 */
export async function checkOpenAccess(config: Config, readCounts: () => Promise<AccessControlCounts>, database: string): Promise<void> {
  if (config.auth.mode !== 'none' || config.auth.openAccess) return;
  const counts = await readCounts();
  const held = [
    count(counts.users, 'user'),
    count(counts.grants, 'namespace grant'),
    count(counts.privateNamespaces, 'private namespace'),
  ].filter((part): part is string => part !== undefined);
  if (held.length === 0) return;
  const list = held.length === 1 ? held[0] : `${held.slice(0, -1).join(', ')} and ${held.at(-1) ?? ''}`;
  throw new ConfigError([
    {
      kind: 'invalid-value',
      key: 'auth',
      message:
        `the metadata database (${database}) holds ${list} but authentication is off, so every repository would be served to anyone: ` +
        'configure authentication (auth.tokenserver.enabled: true, or auth.htpasswd.path; see docs/security.md), ' +
        'or set auth.openaccess: true (BERTH_AUTH_OPENACCESS=true) to serve everything openly',
      source: undefined,
      suggestion: undefined,
    },
  ]);
}

/** How the database is named in messages: the SQLite file, or just "PostgreSQL" (its URL may hold a password). */
export function databaseLabel(config: Config): string {
  return config.metadata.postgres ? 'PostgreSQL' : config.metadata.sqlite.path;
}

/**
 * `berth config check`: the start-up checks without creating anything, and the database check
 * when the database can be read. Resolves with warnings; throws a ConfigError on problems.
 */
export async function checkAsServeWould(config: Config): Promise<string[]> {
  const warnings = await checkStartup(config, { create: false });
  if (config.auth.mode !== 'none' || config.auth.openAccess) return warnings;
  const counts = await readAccessControlCounts(config);
  if ('notChecked' in counts) {
    warnings.push(
      `not checked whether the database holds users, grants or private namespaces (serve refuses those with authentication off): ${counts.notChecked}`,
    );
    return warnings;
  }
  await checkOpenAccess(config, () => Promise.resolve(counts), databaseLabel(config));
  return warnings;
}

/**
 * For `config check`: the access-control counts of the configured database when it can be read
 * without changing anything (SQLite opened read-only; PostgreSQL within a few seconds), else
 * why not. A SQLite file that does not exist yet holds nothing.
 */
export async function readAccessControlCounts(config: Config): Promise<AccessControlCounts | { notChecked: string }> {
  const postgres = config.metadata.postgres;
  let db: MetadataDatabase;
  if (postgres) {
    const { openPostgres } = await import('../metadata/postgres.js');
    db = openPostgres(postgres.url, { max: 1, statementTimeoutMs: 5_000, connectionTimeoutMs: 5_000 });
  } else {
    const file = config.metadata.sqlite.path;
    if (file === ':memory:' || (await stat(file).catch(() => undefined)) === undefined) {
      return { users: 0, grants: 0, privateNamespaces: 0 };
    }
    try {
      db = openSqliteReadOnly(file);
    } catch (error) {
      return { notChecked: `cannot open ${file} read-only: ${messageOf(error)}` };
    }
  }
  try {
    return await new AccountStore(db).accessControlCounts();
  } catch (error) {
    return { notChecked: `cannot read the accounts in ${databaseLabel(config)}: ${messageOf(error)}` };
  } finally {
    await db.destroy().catch(() => undefined);
  }
}

// ---- directories

/**
 * Checks that `dir` is (or, with create, becomes; without, could become) a directory Berth can
 * write. True when it exists as one afterwards, so that callers may look inside.
 */
async function checkDirectory(
  key: string,
  dir: string,
  purpose: string,
  options: StartupCheckOptions,
  problem: (key: string, message: string) => void,
  warnings: string[],
): Promise<boolean> {
  if (options.create) {
    try {
      await mkdir(dir, { recursive: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ENOTDIR') {
        const blocker = await firstNonDirectory(dir);
        problem(key, `${blocker ?? dir} is a file, not a directory: ${purpose}`);
      } else {
        problem(key, `cannot create ${dir} (${reasonOf(error)}): ${purpose}`);
      }
      return false;
    }
  }
  const existing = await nearestExisting(dir);
  if (existing === undefined) {
    problem(key, `cannot find ${dir} or any parent of it`);
    return false;
  }
  if (!existing.isDirectory) {
    problem(key, `${existing.path} is a file, not a directory: ${purpose}`);
    return false;
  }
  if (existing.path !== dir) {
    // config check: serve would create it; the parent must let it.
    return probeWritable(key, existing.path, purpose, problem, warnings, dir).then(() => false);
  }
  return probeWritable(key, dir, purpose, problem, warnings).then(() => true);
}

/** Creates and removes an empty file in dir; a failure is a problem, a full disk a warning. */
async function probeWritable(
  key: string,
  dir: string,
  purpose: string,
  problem: (key: string, message: string) => void,
  warnings: string[],
  toCreate?: string,
): Promise<void> {
  const probe = path.join(dir, `${PROBE_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const handle = await open(probe, 'wx');
    await handle.close();
    await rm(probe, { force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      // Pulls still work on a full disk; pushes fail with 507 until space is freed.
      warnings.push(`${key}: ${dir} is full (${reasonOf(error)}): pushes fail until space is freed`);
      return;
    }
    const what = toCreate === undefined ? `${dir} is not writable` : `cannot create ${toCreate}: ${dir} is not writable`;
    problem(key, `${what} (${reasonOf(error)}): ${purpose}`);
  }
}

async function nearestExisting(dir: string): Promise<{ path: string; isDirectory: boolean } | undefined> {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    try {
      const info = await stat(current);
      return { path: current, isDirectory: info.isDirectory() };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') {
        const blocker = await firstNonDirectory(current);
        return blocker === undefined ? undefined : { path: blocker, isDirectory: false };
      }
      if (code !== 'ENOENT') throw error;
    }
    if (path.dirname(current) === current) return undefined;
  }
}

/** The first component of dir, from the root down, that exists and is not a directory. */
async function firstNonDirectory(dir: string): Promise<string | undefined> {
  const parts = path.resolve(dir).split(path.sep);
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join(path.sep) || path.sep;
    const info = await stat(prefix).catch(() => undefined);
    if (info === undefined) return undefined;
    if (!info.isDirectory()) return prefix;
  }
  return undefined;
}

// ---- messages

function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EROFS':
      return 'read-only file system';
    case 'EACCES':
      return 'permission denied';
    case 'EPERM':
      return 'operation not permitted';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    default:
      return code ?? messageOf(error);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function count(n: number, noun: string): string | undefined {
  if (n === 0) return undefined;
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
