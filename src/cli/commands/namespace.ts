// `berth namespace set | grant | revoke | list`: namespace visibility and the roles users and
// teams hold there, in the metadata database of the configuration.
import type { Command } from 'commander';
import { CLI_PRINCIPAL, CONFIG_HELP, printJson, withDatabase, type ConfigOption } from './account-database.js';
import { CliError, run } from './cli-error.js';

/** --user U or --team T, exactly one. */
function subjectOf(options: { user?: string; team?: string }): { kind: 'user' | 'team'; subject: string } {
  if ((options.user === undefined) === (options.team === undefined)) throw new CliError('give exactly one of --user and --team');
  return options.user !== undefined ? { kind: 'user', subject: options.user } : { kind: 'team', subject: options.team ?? '' };
}

export function registerNamespaceCommands(program: Command): void {
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
    .description("remove a user's or team's role on a namespace")
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
            (await admin.listNamespaces(CLI_PRINCIPAL)).map(async (ns) => ({
              ...ns,
              grants: await admin.listGrants(CLI_PRINCIPAL, ns.name),
            })),
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
