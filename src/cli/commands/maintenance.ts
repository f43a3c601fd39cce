// `berth maintenance readonly on|off|status`: the runtime switch of read-only mode, written
// straight into the settings table of the configuration's metadata database. It works while
// registries serve that database: each reads the switch every 2 seconds, so they refuse (or
// accept again) writes within seconds. The configuration file's
// storage.maintenance.readonly.enabled: true keeps a registry read-only whatever the switch says.
import type { Command } from 'commander';
import { readReadOnlySwitch, writeReadOnlySwitch } from '../../registry/read-only-mode.js';
import { CONFIG_HELP, loadCliConfig, withDatabase, type ConfigOption } from './account-database.js';
import { CliError, run } from './cli-error.js';

const STATES = ['on', 'off', 'status'] as const;

/** One line saying what the registry does, from the switch and the file's setting. */
function describe(runtime: boolean, fromFile: boolean): string {
  const effective = runtime || fromFile ? 'on: pulls work, pushes and deletes are refused' : 'off: pushes and deletes are accepted';
  return `read-only mode ${effective} (runtime switch: ${runtime ? 'on' : 'off'}; storage.maintenance.readonly.enabled: ${fromFile})`;
}

export function registerMaintenanceCommands(program: Command): void {
  const maintenance = program.command('maintenance').description('maintenance switches of a running registry');
  maintenance
    .command('readonly')
    .description(
      "switch read-only mode on or off for every registry serving the configuration's database (they follow within seconds), or show it",
    )
    .argument('<state>', 'on, off or status')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(
      run('maintenance readonly', async (state: string, options: ConfigOption) => {
        if (!(STATES as readonly string[]).includes(state)) throw new CliError(`expected on, off or status, got ${JSON.stringify(state)}`);
        const fromFile = (await loadCliConfig(options.config)).storage.maintenance.readonly.enabled;
        await withDatabase(options, async (_admin, store, changed) => {
          if (state !== 'status') {
            await writeReadOnlySwitch(store.accounts, state === 'on');
            changed();
          }
          console.log(describe(await readReadOnlySwitch(store.accounts), fromFile));
          if (state === 'off' && fromFile) {
            console.log(
              'the configuration file keeps the registry read-only: set storage.maintenance.readonly.enabled to false and restart',
            );
          }
        });
      }),
    );
}
