// `berth user | team | namespace | token`: account administration from the command line. Users
// live either in an htpasswd file (--htpasswd FILE: bcrypt entries, as `htpasswd -B` writes,
// without needing the Apache tools or a container) or in the metadata database of the
// configuration; teams, namespaces, grants and tokens live in the database. The CLI has the
// database, so it acts as a registry administrator through the same use cases as the admin API.
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { AccountAdmin, validateAccountName, validatePassword, type TokenView } from '../auth/account-admin.js';
import {
  HtpasswdFile,
  htpasswdUserNames,
  parseHtpasswd,
  removeHtpasswdEntry,
  setHtpasswdEntry,
  writeHtpasswdFile,
} from '../auth/htpasswd.js';
import { hashPassword } from '../auth/passwords.js';
import type { Principal } from '../auth/principal.js';
import { loadConfig, type Config } from '../config/index.js';
import { RegistryError } from '../errors/index.js';
import { MetadataStore, openSqlite } from '../metadata/index.js';

/** Whoever runs the CLI can open the database, so they are a registry administrator. */
const CLI_PRINCIPAL: Principal = { kind: 'user', name: 'berth-cli', admin: true, teams: [] };

/** A failure to report in one line (no stack trace), with exit status 1. */
class CliError extends Error {}

interface ConfigOption {
  config?: string;
}

interface PasswordOptions {
  password?: string;
  passwordStdin?: boolean;
}

async function loadCliConfig(file: string | undefined): Promise<Config> {
  return loadConfig({ ...(file !== undefined ? { file } : {}), env: process.env });
}

/** Opens (and migrates) the metadata database of the configuration, runs the work, closes it. */
async function withDatabase<T>(options: ConfigOption, work: (admin: AccountAdmin, store: MetadataStore) => Promise<T>): Promise<T> {
  const config = await loadCliConfig(options.config);
  const postgres = config.metadata.postgres;
  const db = postgres
    ? (await import('../metadata/postgres.js')).openPostgres(postgres.url, { max: 2, statementTimeoutMs: postgres.statementTimeoutMs })
    : openSqlite(config.metadata.sqlite.path);
  const store = new MetadataStore(db);
  try {
    await store.migrate();
    // Grants, team members and tokens may name users of the configured htpasswd file too.
    const htpasswd = config.auth.htpasswd && new HtpasswdFile(config.auth.htpasswd.path);
    const admin = new AccountAdmin({
      accounts: store.accounts,
      bcryptCost: config.auth.bcryptCost,
      userExistsElsewhere: async (name) => (await htpasswd?.lookup(name)) !== undefined,
    });
    return await work(admin, store);
  } finally {
    await store.close();
  }
}

/** bcrypt cost: --cost, else auth.bcryptcost of the configuration (default 10). */
async function costOf(options: ConfigOption & { cost?: string }): Promise<number> {
  if (options.cost !== undefined) {
    const cost = Number(options.cost);
    if (!Number.isInteger(cost) || cost < 4 || cost > 31) throw new CliError(`--cost must be a whole number from 4 to 31, got ${options.cost}`);
    return cost;
  }
  return (await loadCliConfig(options.config)).auth.bcryptCost;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Reads lines from the terminal without echoing them. Typed-ahead input can arrive in one chunk
 * with both answers, so what follows the first line is kept for the next prompt.
 */
class HiddenPrompt {
  private pending = '';

  async ask(prompt: string): Promise<string> {
    const stdin = process.stdin;
    // Echo off before the prompt shows: whatever is typed once it is visible must not echo.
    stdin.setRawMode(true);
    process.stderr.write(prompt);
    stdin.setEncoding('utf8');
    return new Promise<string>((resolve, reject) => {
      let value = '';
      const finish = (): void => {
        stdin.off('data', onData);
        stdin.setRawMode(false);
        stdin.pause();
        process.stderr.write('\n');
      };
      const consume = (text: string): boolean => {
        const chars = [...text];
        for (let i = 0; i < chars.length; i++) {
          const char = chars[i] ?? '';
          if (char === '\r' || char === '\n' || char === '\u0004') {
            // A CRLF pair ends one line, not two.
            const rest = chars.slice(char === '\r' && chars[i + 1] === '\n' ? i + 2 : i + 1).join('');
            this.pending = rest;
            finish();
            resolve(value);
            return true;
          }
          if (char === '\u0003') {
            finish();
            reject(new CliError('cancelled'));
            return true;
          }
          if (char === '\u007f' || char === '\b') value = [...value].slice(0, -1).join('');
          else value += char;
        }
        return false;
      };
      const onData = (chunk: string): void => {
        consume(chunk);
      };
      const buffered = this.pending;
      this.pending = '';
      stdin.on('data', onData);
      if (!consume(buffered)) stdin.resume();
    });
  }
}

/** The new password: --password (with a warning), --password-stdin, or asked twice on a terminal. */
async function newPassword(options: PasswordOptions): Promise<string> {
  let password: string;
  if (options.password !== undefined && options.passwordStdin) throw new CliError('give --password or --password-stdin, not both');
  if (options.password !== undefined) {
    console.error('warning: a password given with --password stays in the shell history and is visible to other users in the process list; prefer --password-stdin');
    password = options.password;
  } else if (options.passwordStdin) {
    // One trailing newline is the end of the line, not part of the password (`echo pw | berth ...`).
    password = (await readStdin()).replace(/\r?\n$/, '');
  } else if (process.stdin.isTTY) {
    const prompt = new HiddenPrompt();
    password = await prompt.ask('Password: ');
    const again = await prompt.ask('Repeat password: ');
    if (again !== password) throw new CliError('the passwords do not match');
  } else {
    throw new CliError('no password given: use --password-stdin (or run on a terminal to be asked)');
  }
  validatePassword(password);
  return password;
}

async function readHtpasswd(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

function printTokens(tokens: TokenView[]): void {
  if (tokens.length === 0) {
    console.log('no tokens');
    return;
  }
  for (const token of tokens) {
    const scopes = token.scopes.map((s) => `${s.repository}:${s.actions.join(',')}`).join(' ');
    const state = token.expired ? 'expired' : `expires ${token.expiresAt ?? 'never'}`;
    console.log(`${token.id}  ${token.owner}  ${JSON.stringify(token.name)}  ${scopes}  ${state}  last used ${token.lastUsedAt ?? 'never'}`);
  }
}

/** "repo-glob:pull,push" -> a scope; the glob cannot contain ':', so the last one separates. */
function parseScopeArgument(text: string): { repository: string; actions: string[] } {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) throw new CliError(`--scope ${JSON.stringify(text)}: expected REPOSITORY-GLOB:ACTIONS such as 'team-a/**:pull,push'`);
  return { repository: text.slice(0, colon), actions: text.slice(colon + 1).split(',').filter((a) => a !== '') };
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Runs a command's work, reporting failures in one line with exit status 1. */
function run<A extends unknown[]>(command: string, work: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await work(...args);
    } catch (error) {
      if (error instanceof CliError || error instanceof RegistryError) {
        console.error(`berth ${command}: ${error.message}`);
        process.exitCode = 1;
        return;
      }
      throw error;
    }
  };
}

const CONFIG_HELP = 'configuration file whose metadata database to use (env: BERTH_CONFIG or REGISTRY_CONFIGURATION_PATH; default ./data/berth.db)';

function registerUserCommands(program: Command): void {
  const user = program
    .command('user')
    .description('manage users: in an htpasswd file (--htpasswd FILE) or in the metadata database of the configuration');

  user
    .command('add')
    .description('add a user (the password is asked twice on a terminal, or read with --password-stdin)')
    .argument('<name>', 'user name: a-z, 0-9, ".", "_", "-", up to 64 characters')
    .option('--htpasswd <file>', 'write to this htpasswd file (created with mode 0600 if missing) instead of the database')
    .option('--password-stdin', 'read the password from standard input')
    .option('--password <password>', 'the password (for scripts; it stays in the shell history)')
    .option('--admin', 'make the user a registry administrator (database users only)')
    .option('--cost <n>', 'bcrypt cost (default: auth.bcryptcost of the configuration, 10)')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(
      run('user add', async (name: string, options: ConfigOption & PasswordOptions & { htpasswd?: string; admin?: boolean; cost?: string }) => {
        validateAccountName('name', name);
        if (options.htpasswd !== undefined) {
          if (options.admin) throw new CliError('--admin applies to database users; for htpasswd users list them in auth.access.admins');
          const text = await readHtpasswd(options.htpasswd);
          if (htpasswdUserNames(text).includes(name)) throw new CliError(`user ${name} already exists in ${options.htpasswd}; use berth user passwd`);
          const password = await newPassword(options);
          const hash = await hashPassword(password, await costOf(options));
          await writeHtpasswdFile(options.htpasswd, setHtpasswdEntry(text, name, hash));
          console.log(`added ${name} to ${options.htpasswd}`);
          return;
        }
        const password = await newPassword(options);
        await withDatabase(options, async (admin) => {
          const created = await admin.createUser(CLI_PRINCIPAL, { name, password, admin: options.admin ?? false });
          console.log(`added ${created.name}${created.admin ? ' (registry administrator)' : ''}`);
        });
      }),
    );

  user
    .command('passwd')
    .description('set a user\'s password')
    .argument('<name>', 'user name')
    .option('--htpasswd <file>', 'the htpasswd file to change instead of the database')
    .option('--password-stdin', 'read the password from standard input')
    .option('--password <password>', 'the password (for scripts; it stays in the shell history)')
    .option('--cost <n>', 'bcrypt cost (default: auth.bcryptcost of the configuration, 10)')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(
      run('user passwd', async (name: string, options: ConfigOption & PasswordOptions & { htpasswd?: string; cost?: string }) => {
        if (options.htpasswd !== undefined) {
          const text = await readHtpasswd(options.htpasswd);
          if (!htpasswdUserNames(text).includes(name)) throw new CliError(`no user ${name} in ${options.htpasswd}`);
          const password = await newPassword(options);
          const hash = await hashPassword(password, await costOf(options));
          await writeHtpasswdFile(options.htpasswd, setHtpasswdEntry(text, name, hash));
          console.log(`changed the password of ${name} in ${options.htpasswd}`);
          return;
        }
        validateAccountName('name', name);
        const password = await newPassword(options);
        await withDatabase(options, async (admin) => {
          await admin.setPassword(CLI_PRINCIPAL, name, password);
          console.log(`changed the password of ${name}`);
        });
      }),
    );

  user
    .command('remove')
    .description('remove a user (from the database: with their team memberships, grants and API tokens)')
    .argument('<name>', 'user name')
    .option('--htpasswd <file>', 'the htpasswd file to change instead of the database')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(
      run('user remove', async (name: string, options: ConfigOption & { htpasswd?: string }) => {
        if (options.htpasswd !== undefined) {
          const { text, removed } = removeHtpasswdEntry(await readHtpasswd(options.htpasswd), name);
          if (!removed) throw new CliError(`no user ${name} in ${options.htpasswd}`);
          await writeHtpasswdFile(options.htpasswd, text);
          console.log(`removed ${name} from ${options.htpasswd}`);
          return;
        }
        await withDatabase(options, async (admin) => {
          await admin.deleteUser(CLI_PRINCIPAL, name);
          console.log(`removed ${name}`);
        });
      }),
    );

  user
    .command('list')
    .description('list users')
    .option('--htpasswd <file>', 'list the users of this htpasswd file instead of the database')
    .option('--json', 'print JSON')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(
      run('user list', async (options: ConfigOption & { htpasswd?: string; json?: boolean }) => {
        if (options.htpasswd !== undefined) {
          const { users, skipped } = parseHtpasswd(await readHtpasswd(options.htpasswd));
          if (options.json) {
            printJson({ users: [...users.keys()], skipped });
            return;
          }
          for (const name of users.keys()) console.log(name);
          for (const entry of skipped) console.error(`warning: ${options.htpasswd}:${entry.line} ${entry.user}: ${entry.reason}`);
          return;
        }
        await withDatabase(options, async (admin) => {
          const users = await admin.listUsers(CLI_PRINCIPAL);
          if (options.json) printJson({ users });
          else for (const u of users) console.log(`${u.name}${u.admin ? '  admin' : ''}`);
        });
      }),
    );
}

function registerTeamCommands(program: Command): void {
  const team = program.command('team').description('manage teams and their members (in the metadata database)');
  team
    .command('add')
    .argument('<name>', 'team name')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(
      run('team add', async (name: string, options: ConfigOption) => {
        await withDatabase(options, async (admin) => {
          await admin.createTeam(CLI_PRINCIPAL, name);
          console.log(`added team ${name}`);
        });
      }),
    );
  team
    .command('remove')
    .description('remove a team with its memberships and grants')
    .argument('<name>', 'team name')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(
      run('team remove', async (name: string, options: ConfigOption) => {
        await withDatabase(options, async (admin) => {
          await admin.deleteTeam(CLI_PRINCIPAL, name);
          console.log(`removed team ${name}`);
        });
      }),
    );
  team
    .command('list')
    .description('list teams and their members')
    .option('--json', 'print JSON')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(
      run('team list', async (options: ConfigOption & { json?: boolean }) => {
        await withDatabase(options, async (admin) => {
          const teams = await Promise.all((await admin.listTeams(CLI_PRINCIPAL)).map((t) => admin.getTeam(CLI_PRINCIPAL, t.name)));
          if (options.json) printJson({ teams });
          else for (const t of teams) console.log(`${t.name}: ${t.members.join(', ')}`);
        });
      }),
    );
  const member = team.command('member').description('add or remove team members');
  member
    .command('add')
    .argument('<team>', 'team name')
    .argument('<user>', 'user name (a database or htpasswd user)')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(
      run('team member add', async (teamName: string, userName: string, options: ConfigOption) => {
        await withDatabase(options, async (admin) => {
          await admin.addTeamMember(CLI_PRINCIPAL, teamName, userName);
          console.log(`added ${userName} to team ${teamName}`);
        });
      }),
    );
  member
    .command('remove')
    .argument('<team>', 'team name')
    .argument('<user>', 'user name')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(
      run('team member remove', async (teamName: string, userName: string, options: ConfigOption) => {
        await withDatabase(options, async (admin) => {
          await admin.removeTeamMember(CLI_PRINCIPAL, teamName, userName);
          console.log(`removed ${userName} from team ${teamName}`);
        });
      }),
    );
}

/** --user U or --team T, exactly one. */
function subjectOf(options: { user?: string; team?: string }): { kind: 'user' | 'team'; subject: string } {
  if ((options.user === undefined) === (options.team === undefined)) throw new CliError('give exactly one of --user and --team');
  return options.user !== undefined ? { kind: 'user', subject: options.user } : { kind: 'team', subject: options.team ?? '' };
}

function registerNamespaceCommands(program: Command): void {
  const namespace = program
    .command('namespace')
    .description('manage repository namespaces (the first path component of a name): visibility and role grants');
  namespace
    .command('set')
    .description('create a namespace or change its visibility')
    .argument('<name>', 'namespace, e.g. team-a for team-a/app')
    .requiredOption('--visibility <visibility>', 'public (anyone may pull) or private')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(
      run('namespace set', async (name: string, options: ConfigOption & { visibility: string }) => {
        await withDatabase(options, async (admin) => {
          const stored = await admin.setNamespaceVisibility(CLI_PRINCIPAL, name, options.visibility);
          console.log(`namespace ${stored.name} is ${stored.visibility}`);
        });
      }),
    );
  namespace
    .command('grant')
    .description('give a user or team a role on a namespace (replacing its earlier role there)')
    .argument('<name>', 'namespace')
    .option('--user <user>', 'the user')
    .option('--team <team>', 'the team')
    .requiredOption('--role <role>', 'pull, push, delete or admin (each includes the ones before it)')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(
      run('namespace grant', async (name: string, options: ConfigOption & { user?: string; team?: string; role: string }) => {
        const { kind, subject } = subjectOf(options);
        await withDatabase(options, async (admin) => {
          const grant = await admin.setGrant(CLI_PRINCIPAL, name, kind, subject, options.role);
          console.log(`${grant.kind} ${grant.subject} has role ${grant.role} on ${name}`);
        });
      }),
    );
  namespace
    .command('revoke')
    .description('remove a user\'s or team\'s role on a namespace')
    .argument('<name>', 'namespace')
    .option('--user <user>', 'the user')
    .option('--team <team>', 'the team')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(
      run('namespace revoke', async (name: string, options: ConfigOption & { user?: string; team?: string }) => {
        const { kind, subject } = subjectOf(options);
        await withDatabase(options, async (admin) => {
          await admin.revokeGrant(CLI_PRINCIPAL, name, kind, subject);
          console.log(`revoked the role of ${kind} ${subject} on ${name}`);
        });
      }),
    );
  namespace
    .command('list')
    .description('list namespaces with their visibility and grants')
    .option('--json', 'print JSON')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(
      run('namespace list', async (options: ConfigOption & { json?: boolean }) => {
        await withDatabase(options, async (admin) => {
          const namespaces = await Promise.all(
            (await admin.listNamespaces(CLI_PRINCIPAL)).map(async (ns) => ({ ...ns, grants: await admin.listGrants(CLI_PRINCIPAL, ns.name) })),
          );
          if (options.json) {
            printJson({ namespaces });
            return;
          }
          for (const ns of namespaces) {
            const grants = ns.grants.map((g) => `${g.kind}:${g.subject}=${g.role}`).join(' ');
            console.log(`${ns.name}  ${ns.visibility}${grants === '' ? '' : `  ${grants}`}`);
          }
        });
      }),
    );
}

/** The use case names the admin API's field, expiresIn; on the command line it is --expires. */
function expiresError(error: unknown): unknown {
  const detail: unknown = error instanceof RegistryError ? error.detail : undefined;
  if (typeof detail !== 'object' || detail === null || !('field' in detail) || detail.field !== 'expiresIn') return error;
  return new CliError(`invalid --expires: ${'reason' in detail ? String(detail.reason) : (error as Error).message}`);
}

function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('manage API tokens for CI systems (scoped, expiring)');
  token
    .command('create')
    .description('create an API token and print it (once: only a hash is kept)')
    .requiredOption('--user <user>', 'the token\'s owner; it never grants more than the owner may do')
    .requiredOption('--name <name>', 'what the token is for, e.g. "github-actions"')
    .option('--scope <glob:actions>', 'repository glob and actions, e.g. \'team-a/**:pull,push\' (repeatable)', collect, [])
    .requiredOption('--expires <duration>', 'lifetime, at most a year: whole days (d) or hours, minutes and seconds (h, m, s), e.g. 30d or 720h')
    .option('--json', 'print JSON')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(
      run('token create', async (options: ConfigOption & { user: string; name: string; scope: string[]; expires: string; json?: boolean }) => {
        if (options.scope.length === 0) throw new CliError('give at least one --scope, e.g. --scope \'team-a/**:pull,push\'');
        const scopes = options.scope.map(parseScopeArgument);
        await withDatabase(options, async (admin) => {
          const created = await admin
            .createToken(CLI_PRINCIPAL, { user: options.user, name: options.name, scopes, expiresIn: options.expires })
            .catch((error: unknown) => {
              throw expiresError(error);
            });
          if (options.json) {
            printJson(created);
            return;
          }
          console.log(created.token);
          console.error(`token ${created.id} for ${created.owner}, expires ${created.expiresAt ?? 'never'}; it is shown only now`);
        });
      }),
    );
  token
    .command('list')
    .description('list API tokens (never their secrets)')
    .option('--user <user>', 'only this user\'s tokens')
    .option('--json', 'print JSON')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(
      run('token list', async (options: ConfigOption & { user?: string; json?: boolean }) => {
        await withDatabase(options, async (admin) => {
          const tokens = await admin.listTokens(CLI_PRINCIPAL, options.user !== undefined ? { user: options.user } : { all: true });
          if (options.json) printJson({ tokens });
          else printTokens(tokens);
        });
      }),
    );
  token
    .command('revoke')
    .argument('<id>', 'the token id (the 16 hex characters after berth_)')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(
      run('token revoke', async (id: string, options: ConfigOption) => {
        await withDatabase(options, async (admin) => {
          await admin.deleteToken(CLI_PRINCIPAL, id);
          console.log(`revoked token ${id}`);
        });
      }),
    );
}

/** Adds `user`, `team`, `namespace` and `token` to the berth command. */
export function registerAccountCommands(program: Command): void {
  registerUserCommands(program);
  registerTeamCommands(program);
  registerNamespaceCommands(program);
  registerTokenCommands(program);
}
