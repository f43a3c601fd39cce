// Where a new password comes from on the command line: --password (with a warning),
// --password-stdin, or asked twice on a terminal without echo; and the bcrypt cost to hash it with.
import { read } from 'read';
import { validatePassword } from '../../auth/account-admin.js';
import { loadCliConfig, type ConfigOption } from './account-database.js';
import { CliError } from './cli-error.js';

export interface PasswordOptions {
  password?: string;
  passwordStdin?: boolean;
}

/** bcrypt cost: --cost, else auth.bcryptcost of the configuration (default 10). */
export async function costOf(options: ConfigOption & { cost?: string }): Promise<number> {
  if (options.cost !== undefined) {
    const cost = Number(options.cost);
    if (!Number.isInteger(cost) || cost < 4 || cost > 31)
      throw new CliError(`--cost must be a whole number from 4 to 31, got ${options.cost}`);
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
 * Asks for one line on the terminal without echoing it (read: the line editor is in raw mode
 * before the prompt shows, and its output is muted after it). Ctrl-C cancels; so does Ctrl-D,
 * which closes read's line editor without settling its promise: the event loop then runs dry.
 * Lines typed ahead of their prompt are not kept (the prompt waits for the line again).
 */
async function askHidden(prompt: string): Promise<string> {
  let cancel = (): void => {};
  const closed = new Promise<never>((_resolve, reject) => {
    cancel = () => reject(new CliError('cancelled'));
  });
  process.once('beforeExit', cancel);
  try {
    return await Promise.race([read({ prompt, silent: true, terminal: true, output: process.stderr }), closed]);
  } catch (error) {
    if (error instanceof Error && error.message === 'canceled') throw new CliError('cancelled');
    throw error;
  } finally {
    process.off('beforeExit', cancel);
    // The muted line editor did not echo the Enter either.
    process.stderr.write('\n');
  }
}

/** The new password: --password (with a warning), --password-stdin, or asked twice on a terminal. */
export async function newPassword(options: PasswordOptions): Promise<string> {
  let password: string;
  if (options.password !== undefined && options.passwordStdin) throw new CliError('give --password or --password-stdin, not both');
  if (options.password !== undefined) {
    console.error(
      'warning: a password given with --password stays in the shell history and is visible to other users in the process list; prefer --password-stdin',
    );
    password = options.password;
  } else if (options.passwordStdin) {
    // One trailing newline is the end of the line, not part of the password (`echo pw | berth ...`).
    password = (await readStdin()).replace(/\r?\n$/, '');
  } else if (process.stdin.isTTY) {
    password = await askHidden('Password: ');
    const again = await askHidden('Repeat password: ');
    if (again !== password) throw new CliError('the passwords do not match');
  } else {
    throw new CliError('no password given: use --password-stdin (or run on a terminal to be asked)');
  }
  validatePassword(password);
  return password;
}
