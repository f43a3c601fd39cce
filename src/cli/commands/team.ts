// `berth team add | remove | list | member add | member remove`: teams and their members, in the
// metadata database of the configuration.
import type { Command } from 'commander';
import { CLI_PRINCIPAL, CONFIG_HELP, printJson, withDatabase, type ConfigOption } from './account-database.js';
import { run } from './cli-error.js';

export function registerTeamCommands(program: Command): void {
  const team = program.command('team').description('manage teams and their members (in the metadata database)');
  team
    .command('add')
    .argument('<name>', 'team name')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(
      run('team add', async (name: string, options: ConfigOption) => {
        await withDatabase(options, async (admin, _store, changed) => {
          await admin.createTeam(CLI_PRINCIPAL, name);
          changed();
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
