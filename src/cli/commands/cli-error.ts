// How account commands fail: a CliError or a RegistryError from the use cases is reported in
// one line (no stack trace) with exit status 1; anything else is a bug and keeps its trace.
import { RegistryError } from '../../errors/index.js';

/** A failure to report in one line (no stack trace), with exit status 1. */
export class CliError extends Error {}

let running: string | undefined;

/** The command being run (`user add`), as run() was given it: how the audit log names a change made from the command line. */
export function runningCommand(): string | undefined {
  return running;
}

/** Runs a command's work, reporting failures in one line with exit status 1. */
export function run<A extends unknown[]>(command: string, work: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    running = command;
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
