// `berth user add | passwd | remove | list`: users in an htpasswd file (--htpasswd FILE: bcrypt
// entries, as `htpasswd -B` writes, without needing the Apache tools or a container) or in the
// metadata database of the configuration.
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { validateAccountName } from '../../auth/account-admin.js';
import { htpasswdUserNames, parseHtpasswd, removeHtpasswdEntry, setHtpasswdEntry, writeHtpasswdFile } from '../../auth/htpasswd.js';
import { hashPassword } from '../../auth/passwords.js';
import { CLI_PRINCIPAL, CONFIG_HELP, printJson, withDatabase, type ConfigOption } from './account-database.js';
import { CliError, run } from './cli-error.js';
import { costOf, newPassword, type PasswordOptions } from './password-input.js';

async function readHtpasswd(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

export function registerUserCommands(program: Command): void {
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
      run(
        'user add',
        async (name: string, options: ConfigOption & PasswordOptions & { htpasswd?: string; admin?: boolean; cost?: string }) => {
          validateAccountName('name', name);
          if (options.htpasswd !== undefined) {
            if (options.admin) throw new CliError('--admin applies to database users; for htpasswd users list them in auth.access.admins');
            const text = await readHtpasswd(options.htpasswd);
            if (htpasswdUserNames(text).includes(name))
              throw new CliError(`user ${name} already exists in ${options.htpasswd}; use berth user passwd`);
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
        },
      ),
    );

  user
    .command('passwd')
    .description("set a user's password")
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
