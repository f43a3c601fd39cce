// Committed metadata survives a killed process: a child process commits a manifest and its tag
// to a SQLite file, then SIGKILLs itself (no close(), no WAL checkpoint), and the file reopened
// here holds both. SQLite's other behaviour is tested in-process in src/metadata/sqlite.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MetadataStore } from '../../src/metadata/metadata-store.js';
import { openSqlite } from '../../src/metadata/sqlite.js';
import { Digest } from '../../src/oci/digest.js';

describe('sqlite metadata database', () => {
  const manifestDigest = Digest.of(Buffer.from('manifest')).toString();

  it('keeps committed data when the process is killed without closing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-metadata-'));
    const path = join(dir, 'metadata.db');
    try {
      // A child process commits, then SIGKILLs itself: no close(), no WAL checkpoint.
      const script = join(dir, 'writer.mts');
      await writeFile(
        script,
        [
          `import { openSqlite } from ${JSON.stringify(new URL('../../src/metadata/sqlite.ts', import.meta.url).href)};`,
          `import { MetadataStore } from ${JSON.stringify(new URL('../../src/metadata/metadata-store.ts', import.meta.url).href)};`,
          `const store = new MetadataStore(openSqlite(${JSON.stringify(path)}));`,
          'await store.migrate();',
          `await store.putManifest({ repository: 'crash', digest: ${JSON.stringify(manifestDigest)},`,
          "  mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1, artifactType: undefined,",
          "  subjectDigest: undefined, references: [], tags: ['latest'] });",
          "process.kill(process.pid, 'SIGKILL');",
        ].join('\n'),
      );
      const child = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(child.signal, 'SIGKILL', `the writer was killed (stderr: ${child.stderr})`);

      const store = new MetadataStore(openSqlite(path));
      try {
        await store.migrate();
        assert.equal((await store.findManifestByTag('crash', 'latest'))?.digest, manifestDigest);
        assert.equal(await store.repositoryExists('crash'), true);
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
