// `berth token create | list | revoke`: API tokens for CI systems (scoped, expiring), in the
// metadata database of the configuration.
import type { Command } from 'commander';
import type { TokenView } from '../../auth/account-admin.js';
import { RegistryError } from '../../errors/index.js';
import { CLI_PRINCIPAL, CONFIG_HELP, printJson, withDatabase, type ConfigOption } from './account-database.js';
import { CliError, run } from './cli-error.js';

function printTokens(tokens: TokenView[]): void {
  if (tokens.length === 0) {
    console.log('no tokens');
    return;
  }
  for (const token of tokens) {
    const scopes = token.scopes.map((s) => `${s.repository}:${s.actions.join(',')}`).join(' ');
    const state = token.expired ? 'expired' : `expires ${token.expiresAt ?? 'never'}`;
    console.log(
      `${token.id}  ${token.owner}  ${JSON.stringify(token.name)}  ${scopes}  ${state}  last used ${token.lastUsedAt ?? 'never'}`,
    );
  }
}

/** "repo-glob:pull,push" -> a scope; the glob cannot contain ':', so the last one separates. */
function parseScopeArgument(text: string): { repository: string; actions: string[] } {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) throw new CliError(`--scope ${JSON.stringify(text)}: expected REPOSITORY-GLOB:ACTIONS such as 'team-a/**:pull,push'`);
  return {
    repository: text.slice(0, colon),
    actions: text
      .slice(colon + 1)
      .split(',')
      .filter((a) => a !== ''),
  };
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** The use case names the admin API's field, expiresIn; on the command line it is --expires. */
function expiresError(error: unknown): unknown {
  const detail: unknown = error instanceof RegistryError ? error.detail : undefined;
  if (typeof detail !== 'object' || detail === null || !('field' in detail) || detail.field !== 'expiresIn') return error;
  return new CliError(`invalid --expires: ${'reason' in detail ? String(detail.reason) : (error as Error).message}`);
}

export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('manage API tokens for CI systems (scoped, expiring)');
  token
    .command('create')
    .description('create an API token and print it (once: only a hash is kept)')
    .requiredOption('--user <user>', "the token's owner; it never grants more than the owner may do")
    .requiredOption('--name <name>', 'what the token is for, e.g. "github-actions"')
    .option('--scope <glob:actions>', "repository glob and actions, e.g. 'team-a/**:pull,push' (repeatable)", collect, [])
    .requiredOption(
      '--expires <duration>',
      'lifetime, at most a year: whole days (d) or hours, minutes and seconds (h, m, s), e.g. 30d or 720h',
    )
    .option('--json', 'print JSON')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(
      run(
        'token create',
        async (options: ConfigOption & { user: string; name: string; scope: string[]; expires: string; json?: boolean }) => {
          if (options.scope.length === 0) throw new CliError("give at least one --scope, e.g. --scope 'team-a/**:pull,push'");
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
        },
      ),
    );
  token
    .command('list')
    .description('list API tokens (never their secrets)')
    .option('--user <user>', "only this user's tokens")
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
