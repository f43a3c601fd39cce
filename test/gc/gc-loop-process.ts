// A garbage collector in its own process, running GC in a tight loop over a configuration's
// store and database, as `berth gc` in a cron loop would (SQLite locks are taken by another
// process then). Runs until SIGTERM, then prints how many runs finished and exits.
// Usage: node --import tsx test/gc/gc-loop-process.ts CONFIG_FILE
import { loadConfig } from '../../src/config/index.js';
import { GcAlreadyRunning } from '../../src/registry/index.js';
import { openCommandRegistry } from '../../src/server/command-registry.js';

const configFile = process.argv[2];
if (configFile === undefined) throw new Error('usage: gc-loop-process.ts CONFIG_FILE');
const config = await loadConfig({ file: configFile, env: {} });
const { registry, close } = await openCommandRegistry(config);
let stopping = false;
process.once('SIGTERM', () => {
  stopping = true;
});
let runs = 0;
process.stdout.write('ready\n');
while (!stopping) {
  try {
    await registry.gc.run({ trigger: 'cli', graceMs: Math.floor(Math.random() * 2000), deleteUntagged: true });
    runs++;
  } catch (error) {
    if (!(error instanceof GcAlreadyRunning)) throw error;
  }
}
await close();
process.stdout.write(`runs ${runs}\n`);
