// htpasswd files: parsing as Distribution does (bcrypt only, comments, blank lines), entries of
// other tools ($2y$ from `htpasswd -B`), skipped lines with reasons, line-preserving edits, the
// atomic 0600 write, and the in-memory copy that follows the file on disk.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile, chmod, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  HtpasswdFile,
  htpasswdUserNames,
  parseHtpasswd,
  removeHtpasswdEntry,
  serializeHtpasswd,
  setHtpasswdEntry,
  writeHtpasswdFile,
} from './htpasswd.js';
import { hashPassword, verifyPassword } from './passwords.js';

// The crypt_blowfish test vector for "U*U" as `htpasswd -Bbn` would print it ($2y$).
const U_STAR_U = '$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-htpasswd-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function hasHtpasswdTool(): boolean {
  try {
    execFileSync('htpasswd', ['-h'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

describe('parseHtpasswd', () => {
  it('reads bcrypt entries, ignoring comments, blank lines, indentation and CRLF', async () => {
    const text = [
      '# users of the registry',
      '',
      `alice:${U_STAR_U}`,
      '   ',
      `  bob:${U_STAR_U.replace('$2y$', '$2b$')}  `,
      `carol:${U_STAR_U.replace('$2y$', '$2a$')}\r`,
      `#dave:${U_STAR_U}`,
    ].join('\n');
    const { users, skipped } = parseHtpasswd(text);
    assert.deepEqual([...users.keys()], ['alice', 'bob', 'carol']);
    assert.deepEqual(skipped, []);
    assert.equal(await verifyPassword('U*U', users.get('alice') ?? ''), true);
    assert.equal(await verifyPassword('U*U', users.get('bob') ?? ''), true);
  });

  it('skips entries that are not bcrypt, with the line, user and a reason', () => {
    const text = [
      `ok:${U_STAR_U}`,
      'md5:$apr1$abcdefgh$0123456789abcdefghijkl',
      'sha:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=',
      'crypt:$6$salt$hash',
      'plain:secret',
      'broken:$2y$05$short',
      'no separator here',
      `:${U_STAR_U}`,
    ].join('\n');
    const { users, skipped } = parseHtpasswd(text);
    assert.deepEqual([...users.keys()], ['ok']);
    assert.deepEqual(
      skipped.map((s) => [s.line, s.user]),
      [
        [2, 'md5'],
        [3, 'sha'],
        [4, 'crypt'],
        [5, 'plain'],
        [6, 'broken'],
        [7, ''],
        [8, ''],
      ],
    );
    assert.match(skipped[0]?.reason ?? '', /MD5 \(apr1\).*bcrypt/);
    assert.match(skipped[1]?.reason ?? '', /SHA-1/);
    assert.match(skipped[3]?.reason ?? '', /not a bcrypt hash/);
    assert.match(skipped[4]?.reason ?? '', /malformed bcrypt/);
    for (const entry of skipped) assert.doesNotMatch(entry.reason, /secret|W6ph5/, 'reasons never echo a hash or password');
  });

  it('lets the last entry for a user win, as Distribution does, and reports the earlier one', () => {
    const other = U_STAR_U.replace('CCCCCCCCCCCCCCCCCCCCC.', 'DDDDDDDDDDDDDDDDDDDDD.');
    const { users, skipped } = parseHtpasswd(`alice:${U_STAR_U}\nalice:${other}\n`);
    assert.equal(users.get('alice'), other);
    assert.equal(skipped.length, 1);
    assert.equal(skipped[0]?.line, 1);
    assert.match(skipped[0]?.reason ?? '', /duplicate.*line 2/);
  });

  it('reads a file written by the real htpasswd -B, when the tool is installed', async (t) => {
    if (!hasHtpasswdTool()) {
      t.skip('htpasswd (apache2-utils) is not installed');
      return;
    }
    const line = execFileSync('htpasswd', ['-Bbn', '-C', '5', 'ci', 'from-apache'], { encoding: 'utf8' });
    const { users, skipped } = parseHtpasswd(line);
    assert.deepEqual(skipped, []);
    assert.match(users.get('ci') ?? '', /^\$2y\$05\$/);
    assert.equal(await verifyPassword('from-apache', users.get('ci') ?? ''), true);
  });
});

describe('htpasswd edits', () => {
  it('serializes a map one entry per line and parses back the same', () => {
    const users = new Map([
      ['alice', U_STAR_U],
      ['bob', U_STAR_U],
    ]);
    const text = serializeHtpasswd(users);
    assert.equal(text, `alice:${U_STAR_U}\nbob:${U_STAR_U}\n`);
    assert.deepEqual(parseHtpasswd(text).users, users);
    assert.equal(serializeHtpasswd(new Map()), '');
  });

  it('sets and removes one user, keeping comments, other users and entries it does not understand', () => {
    const original = `# keep me\nmd5:$apr1$abcdefgh$0123456789abcdefghijkl\nalice:${U_STAR_U}\n\nbob:${U_STAR_U}\n`;
    const replaced = setHtpasswdEntry(original, 'alice', 'NEW');
    assert.equal(replaced, `# keep me\nmd5:$apr1$abcdefgh$0123456789abcdefghijkl\nalice:NEW\n\nbob:${U_STAR_U}\n`);
    const appended = setHtpasswdEntry(original, 'carol', 'C');
    assert.equal(appended, `${original}carol:C\n`);
    assert.equal(setHtpasswdEntry('', 'first', 'H'), 'first:H\n');
    assert.equal(setHtpasswdEntry('a:1', 'b', '2'), 'a:1\nb:2\n', 'a file without a final newline');
    assert.equal(setHtpasswdEntry('a:1\na:2\nb:3\n', 'a', '9'), 'a:9\nb:3\n', 'duplicates collapse into one');

    const removed = removeHtpasswdEntry(original, 'alice');
    assert.equal(removed.removed, true);
    assert.equal(removed.text, `# keep me\nmd5:$apr1$abcdefgh$0123456789abcdefghijkl\n\nbob:${U_STAR_U}\n`);
    assert.deepEqual(removeHtpasswdEntry(original, 'nobody'), { text: original, removed: false });
    assert.deepEqual(removeHtpasswdEntry('only:1\n', 'only'), { text: '', removed: true });
    assert.deepEqual(htpasswdUserNames(original), ['md5', 'alice', 'bob']);
  });

  it('writes a new file with mode 0600 and keeps the mode of an existing one', async () => {
    const path = join(dir, 'nested', 'new.htpasswd');
    await writeHtpasswdFile(path, `alice:${U_STAR_U}\n`);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal(await readFile(path, 'utf8'), `alice:${U_STAR_U}\n`);

    const existing = join(dir, 'existing.htpasswd');
    await writeFile(existing, '');
    await chmod(existing, 0o640);
    await writeHtpasswdFile(existing, 'x:y\n');
    assert.equal((await stat(existing)).mode & 0o777, 0o640);
    assert.equal(await readFile(existing, 'utf8'), 'x:y\n');
    assert.deepEqual((await readdir(join(dir, 'nested'))).sort(), ['new.htpasswd'], 'no temporary file left behind');
  });
});

describe('HtpasswdFile', () => {
  it('loads on first lookup and reloads when the file changes', async () => {
    const path = join(dir, 'reload.htpasswd');
    await writeHtpasswdFile(path, `alice:${U_STAR_U}\n`);
    const reloads: { users: number; skipped: number }[] = [];
    const file = new HtpasswdFile(path, {
      checkIntervalMs: 0,
      onReload: (info) => reloads.push({ users: info.users, skipped: info.skipped.length }),
    });
    assert.equal(await file.lookup('alice'), U_STAR_U);
    assert.equal(await file.lookup('bob'), undefined);
    assert.equal(reloads.length, 1, 'an unchanged file is not re-read');

    const bobHash = await hashPassword('bob-password', 4);
    await writeHtpasswdFile(path, `alice:${U_STAR_U}\nbob:${bobHash}\nold:$apr1$x$y\n`);
    assert.equal(await file.lookup('bob'), bobHash);
    assert.deepEqual(reloads.at(-1), { users: 2, skipped: 1 });

    // Same size, new content (a password changed): the rename gives a new inode.
    const newAlice = U_STAR_U.replace('CCCCCCCCCCCCCCCCCCCCC.', 'DDDDDDDDDDDDDDDDDDDDD.');
    await writeHtpasswdFile(path, `alice:${newAlice}\nbob:${bobHash}\nold:$apr1$x$y\n`);
    assert.equal(await file.lookup('alice'), newAlice);

    // Edited in place (as an editor might), with a different size.
    await writeFile(path, `carol:${U_STAR_U}\n`);
    assert.equal(await file.lookup('carol'), U_STAR_U);
    assert.equal(await file.lookup('alice'), undefined);
  });

  it('checks the file at most once per interval', async () => {
    const path = join(dir, 'interval.htpasswd');
    await writeHtpasswdFile(path, `alice:${U_STAR_U}\n`);
    const file = new HtpasswdFile(path, { checkIntervalMs: 3_600_000 });
    assert.equal(await file.lookup('alice'), U_STAR_U);
    await writeHtpasswdFile(path, `bob:${U_STAR_U}\n`);
    assert.equal(await file.lookup('bob'), undefined, 'not re-checked within the interval');
    await file.refresh(true);
    assert.equal(await file.lookup('bob'), U_STAR_U);
  });

  it('reports a missing file, keeps the last good content, and recovers when it returns', async () => {
    const path = join(dir, 'missing.htpasswd');
    const errors: unknown[] = [];
    const file = new HtpasswdFile(path, { checkIntervalMs: 0, onError: (error) => errors.push(error) });
    assert.equal(await file.lookup('alice'), undefined);
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as NodeJS.ErrnoException).code, 'ENOENT');

    await writeHtpasswdFile(path, `alice:${U_STAR_U}\n`);
    assert.equal(await file.lookup('alice'), U_STAR_U);

    await rm(path);
    assert.equal(await file.lookup('alice'), U_STAR_U, 'the last good content stays in use');
    assert.equal(await file.lookup('alice'), U_STAR_U);
    assert.equal(errors.length, 2, 'the same failure is reported once, not on every check');

    await writeHtpasswdFile(path, `bob:${U_STAR_U}\n`);
    assert.equal(await file.lookup('bob'), U_STAR_U);
    assert.equal(await file.lookup('alice'), undefined);
  });

  it('shares one check between concurrent lookups', async () => {
    const path = join(dir, 'concurrent.htpasswd');
    await writeHtpasswdFile(path, `alice:${U_STAR_U}\n`);
    let reloads = 0;
    const file = new HtpasswdFile(path, { onReload: () => reloads++ });
    const results = await Promise.all(Array.from({ length: 20 }, () => file.lookup('alice')));
    assert.ok(results.every((hash) => hash === U_STAR_U));
    assert.equal(reloads, 1);
  });
});
