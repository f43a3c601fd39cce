// Storage usage in the index, for quotas, the admin API and `berth usage`. A namespace is a
// repository name's first path component; its usage is the size of every distinct digest linked
// into any of its repositories (repository_blobs holds layers, configs and manifests alike), so a
// layer shared by ten repositories of a namespace counts once there, and once in each other
// namespace that links it. Its repositories are those holding at least one manifest.
//
// Cost: a namespace's repositories are one range of repository_blobs' primary key (repository,
// digest), read from the index; each digest's size is one lookup in blobs' primary key. So one
// namespace costs time in proportion to its own links, not to the whole index
// (bench/usage-query.ts: 2.6 ms for 10,000 links on SQLite, beside a namespace of 100,000), and
// the bytes of a few named repositories (a page of the web UI's list) cost their own links. The
// quota check in front of pushes does not run this for each push: it keeps a short-lived
// estimate (registry/quotas.ts).
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database } from './schema.js';

/** One namespace's usage. */
export interface NamespaceUsage {
  readonly namespace: string;
  /** Bytes of the distinct digests linked into the namespace's repositories. */
  readonly bytes: number;
  /** Repositories of the namespace that hold at least one manifest. */
  readonly repositories: number;
}

/** One repository's usage. */
export interface RepositoryUsage {
  readonly repository: string;
  /** Bytes of the digests linked into the repository (shared ones count in each repository). */
  readonly bytes: number;
  /** Links: layers, configs and manifests the repository may read. */
  readonly blobs: number;
  readonly manifests: number;
  readonly tags: number;
}

/** What quotas and usage reports ask of the index. */
export interface UsageIndex {
  /** The namespace's usage, counted now. */
  namespaceUsage(namespace: string): Promise<NamespaceUsage>;
  /** Every namespace that links anything or holds a manifest, by name. */
  allNamespaceUsage(): Promise<NamespaceUsage[]>;
  /** Each repository of the namespace that links anything, by name. */
  repositoryUsage(namespace: string): Promise<RepositoryUsage[]>;
  /** The `bytes` of repositoryUsage for just these repositories (one page of a listing); absent: nothing linked. */
  repositoryBytes(repositories: readonly string[]): Promise<Map<string, number>>;
  /** Whether any repository of the namespace links the digest (one indexed lookup). */
  isLinkedInNamespace(namespace: string, digest: string): Promise<boolean>;
  /** Whether the repository holds a manifest (a push to one that does not creates a repository). */
  hasManifests(repository: string): Promise<boolean>;
}

/**
 * The repositories of a namespace as a key range: the name itself, and the names from "ns/" up
 * to "ns0" ('0' follows '/' in byte order, the order both databases compare these columns in,
 * see migration 3). A LIKE 'ns/%' would read '_' as a wildcard, and names may hold '_'.
 */
function inNamespace(column: 'repository_blobs.repository' | 'manifests.repository' | 'tags.repository', namespace: string) {
  return sql<boolean>`(${sql.ref(column)} = ${namespace} or (${sql.ref(column)} >= ${`${namespace}/`} and ${sql.ref(column)} < ${`${namespace}0`}))`;
}

/** UsageIndex over repository_blobs, blobs, manifests and tags. */
export class UsageQueries implements UsageIndex {
  /** postgres: the dialect, for the one expression that differs (the namespace of a name). */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly postgres: boolean,
  ) {}

  async namespaceUsage(namespace: string): Promise<NamespaceUsage> {
    // `in (subquery)` counts each digest once, however many repositories link it.
    const bytes = await this.db
      .selectFrom('blobs')
      .select(sql<string | number | null>`sum(blobs.size)`.as('bytes'))
      .where('blobs.digest', 'in', (sub) =>
        sub.selectFrom('repository_blobs').select('repository_blobs.digest').where(inNamespace('repository_blobs.repository', namespace)),
      )
      .executeTakeFirst();
    const repositories = await this.db
      .selectFrom('manifests')
      .select(sql<string | number>`count(distinct manifests.repository)`.as('count'))
      .where(inNamespace('manifests.repository', namespace))
      .executeTakeFirst();
    return { namespace, bytes: Number(bytes?.bytes ?? 0), repositories: Number(repositories?.count ?? 0) };
  }

  async allNamespaceUsage(): Promise<NamespaceUsage[]> {
    const linked = await this.db
      .selectFrom((sub) =>
        sub
          .selectFrom('repository_blobs')
          .select([this.namespaceOf('repository_blobs.repository').as('namespace'), 'repository_blobs.digest'])
          .distinct()
          .as('linked'),
      )
      .innerJoin('blobs', 'blobs.digest', 'linked.digest')
      .select(['linked.namespace', sql<string | number>`sum(blobs.size)`.as('bytes')])
      .groupBy('linked.namespace')
      .execute();
    const repositories = await this.db
      .selectFrom('manifests')
      .select([
        this.namespaceOf('manifests.repository').as('namespace'),
        sql<string | number>`count(distinct manifests.repository)`.as('count'),
      ])
      .groupBy(this.namespaceOf('manifests.repository'))
      .execute();
    const usage = new Map<string, { namespace: string; bytes: number; repositories: number }>();
    for (const row of linked) usage.set(row.namespace, { namespace: row.namespace, bytes: Number(row.bytes), repositories: 0 });
    for (const row of repositories) {
      const entry = usage.get(row.namespace) ?? { namespace: row.namespace, bytes: 0, repositories: 0 };
      entry.repositories = Number(row.count);
      usage.set(row.namespace, entry);
    }
    return [...usage.values()].sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0));
  }

  async repositoryUsage(namespace: string): Promise<RepositoryUsage[]> {
    const links = await this.linkTotals(inNamespace('repository_blobs.repository', namespace));
    const manifests = await this.db
      .selectFrom('manifests')
      .select(['manifests.repository', sql<string | number>`count(*)`.as('count')])
      .where(inNamespace('manifests.repository', namespace))
      .groupBy('manifests.repository')
      .execute();
    const tags = await this.db
      .selectFrom('tags')
      .select(['tags.repository', sql<string | number>`count(*)`.as('count')])
      .where(inNamespace('tags.repository', namespace))
      .groupBy('tags.repository')
      .execute();
    const manifestCount = new Map(manifests.map((row) => [row.repository, Number(row.count)]));
    const tagCount = new Map(tags.map((row) => [row.repository, Number(row.count)]));
    return links.map((row) => ({
      repository: row.repository,
      bytes: Number(row.bytes),
      blobs: Number(row.blobs),
      manifests: manifestCount.get(row.repository) ?? 0,
      tags: tagCount.get(row.repository) ?? 0,
    }));
  }

  async repositoryBytes(repositories: readonly string[]): Promise<Map<string, number>> {
    if (repositories.length === 0) return new Map();
    // One range of repository_blobs' primary key per repository: a page costs its own links.
    const links = await this.linkTotals(sql<boolean>`${sql.ref('repository_blobs.repository')} in (${sql.join(repositories)})`);
    return new Map(links.map((row) => [row.repository, Number(row.bytes)]));
  }

  /** Bytes and links of each repository the condition keeps, by name. */
  private linkTotals(condition: RawBuilder<boolean>) {
    return this.db
      .selectFrom('repository_blobs')
      .innerJoin('blobs', 'blobs.digest', 'repository_blobs.digest')
      .select([
        'repository_blobs.repository',
        sql<string | number>`sum(blobs.size)`.as('bytes'),
        sql<string | number>`count(*)`.as('blobs'),
      ])
      .where(condition)
      .groupBy('repository_blobs.repository')
      .orderBy('repository_blobs.repository')
      .execute();
  }

  async isLinkedInNamespace(namespace: string, digest: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('repository_blobs')
      .select('repository_blobs.repository')
      .where('repository_blobs.digest', '=', digest)
      .where(inNamespace('repository_blobs.repository', namespace))
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  async hasManifests(repository: string): Promise<boolean> {
    const row = await this.db.selectFrom('manifests').select('digest').where('repository', '=', repository).limit(1).executeTakeFirst();
    return row !== undefined;
  }

  /** The namespace of a repository column, in SQL: its text up to the first '/'. */
  private namespaceOf(column: 'repository_blobs.repository' | 'manifests.repository') {
    const ref = sql.ref(column);
    return this.postgres
      ? sql<string>`split_part(${ref}, '/', 1)`
      : sql<string>`case when instr(${ref}, '/') = 0 then ${ref} else substr(${ref}, 1, instr(${ref}, '/') - 1) end`;
  }
}
