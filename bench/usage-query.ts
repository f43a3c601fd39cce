// How long counting a namespace's usage takes (the query behind quotas, GET /api/v1/usage and
// `berth usage`), on a SQLite file holding one namespace of LINKS links (REPOS repositories, each
// layer linked into SHARED repositories) beside another namespace ten times larger, which the
// key range must not read. Run: node --import tsx bench/usage-query.ts [links] (PostgreSQL too
// with BERTH_TEST_POSTGRES_URL set to a database it may fill). Prints the median of 20 runs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MetadataStore, openSqlite } from '../src/metadata/index.js';
import { openPostgres } from '../src/metadata/postgres.js';
import { Digest } from '../src/oci/digest.js';

const links = Number(process.argv[2] ?? 10_000);
const REPOS = 100;
const SHARED = 4;

async function fill(store: MetadataStore, namespace: string, count: number): Promise<void> {
  const perRepo = Math.ceil(count / REPOS);
  for (let repo = 0; repo < REPOS; repo++) {
    for (let i = 0; i < perRepo; i++) {
      // Each layer is linked into SHARED consecutive repositories: distinct digests = count / SHARED.
      const layer = Math.floor((repo * perRepo + i) / SHARED);
      await store.addBlobToRepository(
        `${namespace}/repo-${repo}`,
        Digest.of(Buffer.from(`${namespace} ${layer}`)).toString(),
        1000 + layer,
      );
    }
  }
}

async function median(label: string, run: () => Promise<unknown>): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  console.log(`${label}: median ${times[10]?.toFixed(2)} ms, max ${times.at(-1)?.toFixed(2)} ms`);
}

async function measure(name: string, store: MetadataStore): Promise<void> {
  await store.migrate();
  const started = performance.now();
  await fill(store, 'team', links);
  await fill(store, 'huge', links * 10);
  console.log(`${name}: filled ${links} + ${links * 10} links in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const usage = await store.usage.namespaceUsage('team');
  console.log(`${name}: team = ${usage.bytes} bytes in ${usage.repositories} repositories`);
  await median(`${name}: namespaceUsage(team), ${links} links`, () => store.usage.namespaceUsage('team'));
  await median(`${name}: repositoryUsage(team)`, () => store.usage.repositoryUsage('team'));
  await median(`${name}: isLinkedInNamespace`, () => store.usage.isLinkedInNamespace('team', Digest.of(Buffer.from('team 7')).toString()));
  await median(`${name}: allNamespaceUsage, ${links * 11} links`, () => store.usage.allNamespaceUsage());
}

const dir = await mkdtemp(join(tmpdir(), 'berth-usage-bench-'));
try {
  const sqlite = new MetadataStore(openSqlite(join(dir, 'metadata.db')));
  try {
    await measure('sqlite', sqlite);
  } finally {
    await sqlite.close();
  }
  const url = process.env.BERTH_TEST_POSTGRES_URL;
  if (url !== undefined) {
    const postgres = new MetadataStore(openPostgres(url, { max: 4 }));
    try {
      await measure('postgresql', postgres);
    } finally {
      await postgres.close();
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
