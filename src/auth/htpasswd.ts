// htpasswd files, as CNCF Distribution reads them (auth.htpasswd.path): one `user:hash` per
// line, `#` comments, bcrypt hashes only. Other hash kinds (MD5 apr1, SHA1, crypt, plain text)
// are skipped with a reason the operator can act on, instead of failing every login. The file
// is re-read when it changes, so `htpasswd -B` or `berth user add --htpasswd` take effect without
// a restart; line-preserving edits and an atomic 0600 write serve the CLI.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { isBcryptHash } from './passwords.js';

export interface HtpasswdSkipped {
  /** 1-based line number. */
  readonly line: number;
  /** The user name of the line ('' when the line has none). */
  readonly user: string;
  readonly reason: string;
}

export interface ParsedHtpasswd {
  users: Map<string, string>;
  skipped: HtpasswdSkipped[];
}

/** Lines split as a text editor would: LF or CRLF. */
function lines(text: string): string[] {
  return text.split(/\r?\n/);
}

function notBcryptReason(hash: string): string {
  const advice = 're-create it with `htpasswd -B` or `berth user add --htpasswd`';
  if (hash.startsWith('$apr1$')) return `MD5 (apr1) hash; only bcrypt is supported: ${advice}`;
  if (hash.startsWith('{SHA}')) return `SHA-1 hash; only bcrypt is supported: ${advice}`;
  if (/^\$[156]\$/.test(hash)) return `crypt(3) hash; only bcrypt is supported: ${advice}`;
  if (/^\$2[aby]\$/.test(hash)) return `malformed bcrypt hash: ${advice}`;
  return `not a bcrypt hash (crypt or plain text); only bcrypt is supported: ${advice}`;
}

/** Splits a trimmed entry at its first ':' (user names cannot contain one; hashes can). */
function splitEntry(line: string): { user: string; hash: string } | undefined {
  const colon = line.indexOf(':');
  return colon === -1 ? undefined : { user: line.slice(0, colon), hash: line.slice(colon + 1) };
}

function isEntry(trimmed: string): boolean {
  return trimmed !== '' && !trimmed.startsWith('#');
}

export function parseHtpasswd(text: string): ParsedHtpasswd {
  const users = new Map<string, string>();
  const lineOf = new Map<string, number>();
  const skipped: HtpasswdSkipped[] = [];
  lines(text).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (!isEntry(trimmed)) return;
    const entry = splitEntry(trimmed);
    if (!entry) {
      skipped.push({ line, user: '', reason: 'no ":" between user name and hash' });
      return;
    }
    if (entry.user === '') {
      skipped.push({ line, user: '', reason: 'empty user name' });
      return;
    }
    if (!isBcryptHash(entry.hash)) {
      skipped.push({ line, user: entry.user, reason: notBcryptReason(entry.hash) });
      return;
    }
    // As Distribution: the last entry for a user wins.
    const earlier = lineOf.get(entry.user);
    if (earlier !== undefined) {
      skipped.push({ line: earlier, user: entry.user, reason: `duplicate entry; line ${line} for the same user is used` });
    }
    users.set(entry.user, entry.hash);
    lineOf.set(entry.user, line);
  });
  skipped.sort((a, b) => a.line - b.line);
  return { users, skipped };
}

export function serializeHtpasswd(users: ReadonlyMap<string, string>): string {
  let text = '';
  for (const [user, hash] of users) text += `${user}:${hash}\n`;
  return text;
}

/**
 * Sets one user's hash, keeping every other line (comments, other users, entries Berth does
 * not understand) as it was: the first entry for the user is replaced and later duplicates
 * removed, or the entry is appended.
 */
export function setHtpasswdEntry(text: string, user: string, hash: string): string {
  const kept: string[] = [];
  let replaced = false;
  for (const raw of withoutFinalNewline(text)) {
    if (entryUser(raw) === user) {
      if (!replaced) kept.push(`${user}:${hash}`);
      replaced = true;
    } else {
      kept.push(raw);
    }
  }
  if (!replaced) kept.push(`${user}:${hash}`);
  return `${kept.join('\n')}\n`;
}

/** Removes every entry of the user, keeping the other lines; `removed` is false when there was none. */
export function removeHtpasswdEntry(text: string, user: string): { text: string; removed: boolean } {
  const all = withoutFinalNewline(text);
  const kept = all.filter((raw) => entryUser(raw) !== user);
  return { text: kept.length === 0 ? '' : `${kept.join('\n')}\n`, removed: kept.length !== all.length };
}

/** Every user name with an entry (bcrypt or not), in file order, each once. */
export function htpasswdUserNames(text: string): string[] {
  const names = new Set<string>();
  for (const raw of lines(text)) {
    const user = entryUser(raw);
    if (user !== undefined && user !== '') names.add(user);
  }
  return [...names];
}

function entryUser(raw: string): string | undefined {
  const trimmed = raw.trim();
  return isEntry(trimmed) ? splitEntry(trimmed)?.user : undefined;
}

function withoutFinalNewline(text: string): string[] {
  if (text === '') return [];
  const all = lines(text);
  if (all.at(-1) === '') all.pop();
  return all;
}

/**
 * Replaces the file's content atomically (write a temporary file beside it, then rename), so
 * a server re-reading it never sees half a file. New files are created with mode 0600; an
 * existing file keeps its mode.
 */
export async function writeHtpasswdFile(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  let mode = 0o600;
  try {
    mode = (await stat(path)).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, text, { mode, flag: 'wx' });
    // writeFile's mode is masked by the umask; chmod is not.
    await chmod(temporary, mode);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export interface HtpasswdFileOptions {
  /** Called after each (re)load with the number of users and the lines skipped. */
  onReload?(info: { users: number; skipped: HtpasswdSkipped[] }): void;
  /** Called when the file cannot be read (once per distinct failure); the last good content stays in use. */
  onError?(error: unknown): void;
  /** How often at most the file's mtime and size are checked; default 1000 ms. */
  checkIntervalMs?: number;
}

/** An htpasswd file kept in memory and re-read when it changes on disk. */
export class HtpasswdFile {
  private users = new Map<string, string>();
  /** mtime, size and inode of the content in memory; undefined before the first good read. */
  private stamp: string | undefined;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | undefined;
  private lastError: string | undefined;
  private readonly checkIntervalMs: number;

  constructor(
    readonly path: string,
    private readonly options: HtpasswdFileOptions = {},
  ) {
    this.checkIntervalMs = options.checkIntervalMs ?? 1000;
  }

  /** The user's bcrypt hash, or undefined when the file has no (usable) entry for them. */
  async lookup(user: string): Promise<string | undefined> {
    await this.refresh();
    return this.users.get(user);
  }

  /** Re-reads the file if it changed; `force` ignores the check interval. */
  async refresh(force = false): Promise<void> {
    // Concurrent lookups share one check instead of each statting the file (and wait for it,
    // so none answers from the content before the first load).
    if (this.refreshing) return this.refreshing;
    if (!force && performance.now() - this.checkedAt < this.checkIntervalMs) return;
    this.refreshing = this.check().finally(() => {
      this.refreshing = undefined;
    });
    await this.refreshing;
  }

  private async check(): Promise<void> {
    this.checkedAt = performance.now();
    try {
      const before = await stat(this.path);
      const stamp = `${before.mtimeMs}:${before.size}:${before.ino}`;
      if (stamp === this.stamp) return;
      const text = await readFile(this.path, 'utf8');
      const parsed = parseHtpasswd(text);
      this.users = parsed.users;
      this.stamp = stamp;
      this.lastError = undefined;
      this.options.onReload?.({ users: parsed.users.size, skipped: parsed.skipped });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== this.lastError) {
        this.lastError = message;
        this.options.onError?.(error);
      }
      // Checked again next time: a file being replaced reappears.
      this.stamp = undefined;
    }
  }
}
