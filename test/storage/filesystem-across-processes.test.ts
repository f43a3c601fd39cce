// Content written by one process and continued by another: a child process starts an upload
// with the filesystem driver and closes it, and this process appends to it and commits (what a
// restarted server does with an upload in progress). The driver's in-process tests are in
// src/storage/filesystem/filesystem-driver.test.ts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { FilesystemDriver } from '../../src/storage/filesystem/filesystem-driver.js';
import { readAll } from '../../src/storage/testing/driver-suite.js';

const run = promisify(execFile);
const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

describe('filesystem driver across processes', () => {
  let base = '';

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'berth-fs-driver-'));
  });

  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('continues an upload that another process wrote and closed', async () => {
    const root = join(base, 'root');
    const key = 'resumed/upload';
    const driverUrl = new URL('../../src/storage/filesystem/filesystem-driver.ts', import.meta.url).href;
    const script = join(base, 'write-first-part.mjs');
    await writeFile(
      script,
      [
        `import { FilesystemDriver } from ${JSON.stringify(driverUrl)};`,
        `const driver = new FilesystemDriver({ rootDirectory: process.argv[2] });`,
        `const writer = await driver.writer(${JSON.stringify(key)}, { append: false });`,
        `await writer.write(Buffer.from('written by the first process; '));`,
        `await writer.close();`,
      ].join('\n'),
    );
    await run(process.execPath, ['--import', 'tsx', script, root], { cwd: projectRoot });

    const driver = new FilesystemDriver({ rootDirectory: root });
    const writer = await driver.writer(key, { append: true });
    assert.equal(writer.size, 'written by the first process; '.length);
    await writer.write(Buffer.from('continued by the second'));
    await writer.commit();
    assert.equal((await readAll(await driver.reader(key))).toString(), 'written by the first process; continued by the second');
  });
});
