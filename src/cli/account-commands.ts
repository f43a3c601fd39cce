// `berth user | team | namespace | token`: account administration from the command line. Users
// live either in an htpasswd file or in the metadata database of the configuration; teams,
// namespaces, grants and tokens live in the database. One file per command under commands/.
import type { Command } from 'commander';
import { registerNamespaceCommands } from './commands/namespace.js';
import { registerTeamCommands } from './commands/team.js';
import { registerTokenCommands } from './commands/token.js';
import { registerUserCommands } from './commands/user.js';

/** Adds `user`, `team`, `namespace` and `token` to the berth command. */
export function registerAccountCommands(program: Command): void {
  registerUserCommands(program);
  registerTeamCommands(program);
  registerNamespaceCommands(program);
  registerTokenCommands(program);
}
