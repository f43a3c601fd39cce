// Pull records against real components: the registry over the filesystem driver and a SQLite
// file. A GET by tag moves the tag's and the manifest's last pull, a GET by digest only the
// manifest's, HEAD nothing; each item is written at most once a minute (a test clock is stepped
// instead of sleeping); and a GET answers while the write of its pull is held at the WAL fsync.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { MetadataStore, openSqlite } from '../metadata/index.js';
import { MediaType, parseRepositoryName, type Digest } from '../oci/index.js';
import { FilesystemDriver } from '../storage/filesystem/filesystem-driver.js';
import { PULL_RECORD_INTERVAL_MS } from './pull-recorder.js';
import { Registry } from './registry.js';

const repository = parseRepositoryName('team/app');
const START = Date.parse('2030-01-01T00:00:00.000Z');

interface Fixture {
  readonly base: string;
  readonly metadata: MetadataStore;
  readonly registry: Registry;
  /** The test clock the registry reads. */
  clock: number;
  /** While set, WAL fsyncs wait for it to resolve (a write held at commit). */
  held: Promise<void> | undefined;
  syncs: number;
  warnings: unknown[];
}

let fixture: Fixture;

beforeEach(async () => {
  const base = await mkdtemp(join(tmpdir(), 'berth-pull-recorder-'));
  const state = { clock: START, held: undefined as Promise<void> | undefined, syncs: 0, warnings: [] as unknown[] };
  const metadata = new MetadataStore(
    openSqlite(join(base, 'metadata.db'), {
      syncWal: async (sync) => {
        state.syncs++;
        await state.held;
        await sync();
      },
    }),
  );
  await metadata.migrate();
  const registry = new Registry(new FilesystemDriver({ rootDirectory: join(base, 'storage') }), metadata, {
    deleteEnabled: true,
    now: () => state.clock,
    warn: (error) => state.warnings.push(error),
  });
  fixture = Object.assign(state, { base, metadata, registry });
});

afterEach(async () => {
  await fixture.registry.pulls.flush();
  await fixture.metadata.close();
  await rm(fixture.base, { recursive: true, force: true });
});

/** Pushes an empty index (it references nothing, so no blobs are needed) under the tag. */
async function pushIndex(tag: string, seed: string): Promise<Digest> {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [], annotations: { seed } }));
  const { digest } = await fixture.registry.manifests.put({
    repository,
    reference: { kind: 'tag', tag },
    bytes,
    contentType: MediaType.ociIndex,
  });
  return digest;
}

async function lastPullOfTag(tag: string): Promise<string | undefined> {
  return (await fixture.metadata.retentionTags(repository)).find((t) => t.tag === tag)?.lastPulledAt;
}

/** The manifest's last pull, read once no tag points at it. */
async function lastPullOfUntagged(digest: Digest): Promise<string | undefined> {
  const untagged = await fixture.metadata.untaggedManifests(repository, new Date(START + 365 * 86_400_000));
  return untagged.find((m) => m.digest === digest.toString())?.lastPulledAt;
}

const iso = (ms: number): string => new Date(ms).toISOString();

describe('pull records', () => {
  it('a GET by tag records the tag and its manifest; HEAD records nothing', async () => {
    const digest = await pushIndex('v1', 'one');
    await fixture.registry.manifests.describe(repository, { kind: 'tag', tag: 'v1' });
    await fixture.registry.manifests.describe(repository, { kind: 'digest', digest });
    await fixture.registry.pulls.flush();
    assert.equal(await lastPullOfTag('v1'), undefined, 'HEAD is not a pull');

    fixture.clock += 1000;
    await fixture.registry.manifests.get(repository, { kind: 'tag', tag: 'v1' });
    await fixture.registry.pulls.flush();
    assert.equal(await lastPullOfTag('v1'), iso(START + 1000));
    await fixture.registry.manifests.delete(repository, { kind: 'tag', tag: 'v1' });
    assert.equal(await lastPullOfUntagged(digest), iso(START + 1000));
    assert.deepEqual(fixture.warnings, []);
  });

  it('a GET by digest records the manifest, not the tags pointing at it', async () => {
    const digest = await pushIndex('v1', 'one');
    await fixture.registry.manifests.get(repository, { kind: 'digest', digest });
    await fixture.registry.pulls.flush();
    assert.equal(await lastPullOfTag('v1'), undefined);
    await fixture.registry.manifests.delete(repository, { kind: 'tag', tag: 'v1' });
    assert.equal(await lastPullOfUntagged(digest), iso(START));
  });

  it('each tag is written at most once a minute; other tags are not held back by it', async () => {
    await pushIndex('v1', 'one');
    await pushIndex('v2', 'two');
    const pull = async (tag: string) => {
      await fixture.registry.manifests.get(repository, { kind: 'tag', tag });
      await fixture.registry.pulls.flush();
    };
    await pull('v1');
    fixture.clock = START + PULL_RECORD_INTERVAL_MS - 1;
    await pull('v1');
    assert.equal(await lastPullOfTag('v1'), iso(START), 'a second pull within the minute writes nothing');
    await pull('v2');
    assert.equal(await lastPullOfTag('v2'), iso(START + PULL_RECORD_INTERVAL_MS - 1));
    fixture.clock = START + PULL_RECORD_INTERVAL_MS;
    await pull('v1');
    assert.equal(await lastPullOfTag('v1'), iso(START + PULL_RECORD_INTERVAL_MS), 'a minute later it is written again');
  });

  it('many pulls of one tag within the minute cost one write', async () => {
    await pushIndex('v1', 'one');
    const syncsBefore = fixture.syncs;
    await Promise.all(Array.from({ length: 50 }, () => fixture.registry.manifests.get(repository, { kind: 'tag', tag: 'v1' })));
    await fixture.registry.pulls.flush();
    assert.equal(fixture.syncs - syncsBefore, 1, 'one committed write, one fsync');
    assert.equal(await lastPullOfTag('v1'), iso(START));
  });

  it('a GET answers while the write of its pull is held at commit', async () => {
    await pushIndex('v1', 'one');
    let release = (): void => undefined;
    fixture.held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const syncsBefore = fixture.syncs;
    const got = await fixture.registry.manifests.get(repository, { kind: 'tag', tag: 'v1' });
    assert.equal(got.mediaType, MediaType.ociIndex);
    let flushed = false;
    const flushing = fixture.registry.pulls.flush().then(() => {
      flushed = true;
    });
    // Let the background writer reach the held fsync.
    for (let i = 0; i < 100 && fixture.syncs === syncsBefore; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(fixture.syncs, syncsBefore + 1, 'the pull write is waiting for its fsync');
    // More GETs answer meanwhile, and the index still serves reads.
    const again = await fixture.registry.manifests.get(repository, { kind: 'tag', tag: 'v1' });
    assert.equal(again.digest.toString(), got.digest.toString());
    assert.equal(flushed, false);
    release();
    fixture.held = undefined;
    await flushing;
    assert.equal(await lastPullOfTag('v1'), iso(START));
  });

  it('a failed write is reported, not thrown, and the next pull after the minute records', async () => {
    await pushIndex('v1', 'one');
    fixture.held = Promise.reject(new Error('disk on fire'));
    fixture.held.catch(() => undefined);
    await fixture.registry.manifests.get(repository, { kind: 'tag', tag: 'v1' });
    await fixture.registry.pulls.flush();
    fixture.held = undefined;
    assert.equal(fixture.warnings.length, 1);
    assert.match(String(fixture.warnings[0]), /disk on fire/);
    fixture.clock += PULL_RECORD_INTERVAL_MS;
    await fixture.registry.manifests.get(repository, { kind: 'tag', tag: 'v1' });
    await fixture.registry.pulls.flush();
    assert.equal(await lastPullOfTag('v1'), iso(START + PULL_RECORD_INTERVAL_MS));
  });
});
