// Where a new password comes from on the command line: --password (with a warning),
// --password-stdin, or asked twice on a terminal without echo; and the bcrypt cost to hash it with.
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
export async function newPassword(options: PasswordOptions): Promise<string> {
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
