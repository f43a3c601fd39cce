// Starts a throwaway PostgreSQL cluster for tests (Debian's postgresql package): initdb into a
// temporary folder, a postmaster on a free loopback port, a fresh database; stop() ends it by
// PID and removes the folder. The cluster uses a linguistic (not C) collation, as a real
// installation usually does, so byte-order bugs show up in tests. With BERTH_TEST_POSTGRES_URL
// set, an existing server is used instead and each call gets a fresh database on it.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, openSync, closeSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';

export interface TestPostgres {
  /** postgres://... of a fresh, empty database. */
  readonly url: string;
  /** How the server sorts text by default: an initdb locale, "icu:en-US", or "external". */
  readonly collation: string;
  /**
   * Creates another database on the same server and returns its URL: empty, or a copy of
   * `template` (the URL of a database nobody is connected to), which is much faster than
   * migrating every test's database from scratch.
   */
  createDatabase(options?: { template?: string }): Promise<string>;
  /** Drops a database made by createDatabase (or url), closing any connections still open to it. */
  dropDatabase(url: string): Promise<void>;
  /** Own cluster: SIGTERM to the postmaster, wait, remove the folder. External: drop our databases. */
  stop(): Promise<void>;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function startPostgres(): Promise<TestPostgres> {
  const external = process.env.BERTH_TEST_POSTGRES_URL;
  if (external) return useExternal(external);
  return startCluster();
}

async function useExternal(adminUrl: string): Promise<TestPostgres> {
  const databases = new Databases(adminUrl);
  const url = await databases.create();
  return {
    url,
    collation: 'external',
    createDatabase: (options) => databases.create(options?.template),
    dropDatabase: (u) => databases.drop(u),
    async stop() {
      await databases.dropAll();
      await databases.close();
    },
  };
}

async function startCluster(): Promise<TestPostgres> {
  const bin = binDir();
  const dir = await mkdtemp(join(tmpdir(), 'berth-pg-'));
  // initdb and postgres refuse to run as root: when we are root, they run as the postgres user.
  const owner = process.getuid?.() === 0 ? userIds('postgres') : undefined;
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', TZ: 'UTC' };
  const { args: localeArgs, collation } = localeOptions();
  try {
    execFileSync(
      join(bin, 'initdb'),
      ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions', ...localeArgs],
      { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], ...owner },
    );
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${stderrOf(error)}`, { cause: error });
  }

  let lastError = '';
  // The port is free when chosen but another process may take it before the postmaster binds
  // it; then the postmaster exits and we try another.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const log = openSync(logFile, 'a');
    const child = spawn(
      join(bin, 'postgres'),
      [
        '-D',
        dataDir,
        '-k',
        dir,
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        // A throwaway cluster: durability buys nothing and costs seconds per test file.
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=200',
      ],
      { cwd: dir, env, stdio: ['ignore', log, log], ...owner },
    );
    closeSync(log);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    if (await waitUntilReady(adminUrl, child)) {
      const cleanupOnExit = (): void => {
        // The test process ends without stop(): do not leave a postmaster or its files behind.
        child.kill('SIGQUIT');
        rmSync(dir, { recursive: true, force: true });
      };
      process.once('exit', cleanupOnExit);
      child.unref();
      const databases = new Databases(adminUrl);
      let url: string;
      try {
        url = await databases.create();
      } catch (error) {
        process.removeListener('exit', cleanupOnExit);
        await databases.close().catch(() => {});
        child.ref();
        child.kill('SIGKILL');
        await exited;
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
      return {
        url,
        collation,
        createDatabase: (options) => databases.create(options?.template),
        dropDatabase: (u) => databases.drop(u),
        async stop() {
          await databases.close();
          process.removeListener('exit', cleanupOnExit);
          child.ref();
          if (child.exitCode === null && child.signalCode === null) {
            // SIGTERM is a smart shutdown (waits for sessions to end); escalate to a fast
            // shutdown, then a kill, if a test left connections open.
            child.kill('SIGTERM');
            const fast = setTimeout(() => child.kill('SIGINT'), 5_000);
            const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
            await exited;
            clearTimeout(fast);
            clearTimeout(kill);
          }
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
    lastError = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`postgres did not start:\n${lastError}`);
}

/** Polls until the server accepts a query; false if the postmaster exits or 30 s pass. */
async function waitUntilReady(adminUrl: string, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const client = new pg.Client({ connectionString: adminUrl });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch {
      // not yet listening, or "the database system is starting up"
    } finally {
      await client.end().catch(() => {});
    }
    await pause(50);
  }
  return false;
}

/** Creates and drops uniquely named databases through one administrative connection. */
class Databases {
  private readonly created = new Set<string>();
  private admin: Promise<{ client: pg.Client; fileCopy: boolean }> | undefined;

  constructor(private readonly adminUrl: string) {}

  async create(template?: string): Promise<string> {
    const name = `berth_test_${randomBytes(6).toString('hex')}`;
    const { fileCopy } = await this.connect();
    const from = template === undefined ? '' : ` TEMPLATE "${databaseName(template)}"`;
    // FILE_COPY (PostgreSQL 15+) copies the template's files instead of logging every page:
    // several times faster for the small databases tests make.
    await this.run(`CREATE DATABASE "${name}"${from}${fileCopy ? ' STRATEGY FILE_COPY' : ''}`);
    this.created.add(name);
    const url = new URL(this.adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  }

  async drop(url: string): Promise<void> {
    const name = databaseName(url);
    if (!this.created.has(name)) throw new Error(`database ${name} was not created by this helper`);
    // FORCE ends sessions a failed test left open.
    await this.run(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    this.created.delete(name);
  }

  async dropAll(): Promise<void> {
    for (const name of [...this.created]) {
      await this.run(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      this.created.delete(name);
    }
  }

  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    if (admin) await (await admin).client.end();
  }

  private async run(statement: string): Promise<void> {
    await (await this.connect()).client.query(statement);
  }

  private connect(): Promise<{ client: pg.Client; fileCopy: boolean }> {
    this.admin ??= (async () => {
      const client = new pg.Client({ connectionString: this.adminUrl });
      client.on('error', () => {});
      await client.connect();
      const { rows } = await client.query<{ version: string }>(`SELECT current_setting('server_version_num') AS version`);
      return { client, fileCopy: Number(rows[0]?.version) >= 150000 };
    })();
    return this.admin;
  }
}

function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

/** The newest Debian PostgreSQL server binaries, or BERTH_TEST_POSTGRES_BINDIR. */
function binDir(): string {
  const configured = process.env.BERTH_TEST_POSTGRES_BINDIR;
  if (configured) return configured;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) throw new Error(`no PostgreSQL server binaries under ${root} (apt-get install postgresql)`);
  return join(root, newest, 'bin');
}

/**
 * en_US.UTF-8 when the system has it; otherwise ICU's en-US (PostgreSQL 15+ built with ICU, as
 * Debian's is), which needs no system locale. Either way not C, so text does not sort by bytes.
 */
function localeOptions(): { args: string[]; collation: string } {
  const available = execFileSync('locale', ['-a'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().toLowerCase());
  if (available.includes('en_us.utf8') || available.includes('en_us.utf-8')) {
    return { args: ['--locale=en_US.UTF-8'], collation: 'en_US.UTF-8' };
  }
  return { args: ['--locale=C.UTF-8', '--locale-provider=icu', '--icu-locale=en-US'], collation: 'icu:en-US' };
}

function userIds(user: string): { uid: number; gid: number } {
  const id = (flag: string): number => Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

function stderrOf(error: unknown): string {
  if (error && typeof error === 'object' && 'stderr' in error) {
    const stderr = (error as { stderr: unknown }).stderr;
    if (Buffer.isBuffer(stderr) || typeof stderr === 'string') return stderr.toString();
  }
  return String(error);
}
