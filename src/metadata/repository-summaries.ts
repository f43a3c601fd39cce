// What the web UI lists: pages of repository names (optionally those containing a text), each
// with its tag count and last push, and a repository's tags with their manifest's media type,
// size, push and pull times. Every query walks a primary key or an index range: a page of the
// catalog reads the repositories' primary key from the cursor on (a filter reads further, but
// only names), and the summaries of a page are one grouped range read per repository of
// tags' primary key (repository, name), so a page costs the same with 10,000 repositories.
import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.js';

export interface RepositorySummary {
  readonly name: string;
  readonly tags: number;
  /** The most recent tag push, ISO 8601; null when the repository has no tags. */
  readonly lastPush: string | null;
}

export interface TagSummary {
  readonly name: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly artifactType: string | null;
  /** Bytes of the distinct blobs (layers, configs) the manifest and, for an index, its children reference. */
  readonly size: number;
  readonly pushedAt: string;
  readonly lastPulledAt: string | null;
}

/** Escapes LIKE's wildcards ('_' occurs in repository names), with '\' as the escape character. */
function likeContaining(text: string): string {
  return `%${text.replace(/[\\%_]/g, (match) => `\\${match}`)}%`;
}

export class RepositorySummaries {
  constructor(private readonly db: Kysely<Database>) {}

  /** Up to `limit` repository names after `after`, in lexical order, containing `contains` when given. */
  async names(options: { after?: string | undefined; limit: number; contains?: string | undefined }): Promise<string[]> {
    let query = this.db.selectFrom('repositories').select('name').orderBy('name').limit(options.limit);
    if (options.after !== undefined) query = query.where('name', '>', options.after);
    if (options.contains !== undefined && options.contains !== '') {
      query = query.where(sql<boolean>`name like ${likeContaining(options.contains)} escape '\\'`);
    }
    return (await query.execute()).map((row) => row.name);
  }

  /** Tag count and last push of each named repository, in the order given. */
  async summaries(names: readonly string[]): Promise<RepositorySummary[]> {
    if (names.length === 0) return [];
    const rows = await this.db
      .selectFrom('tags')
      .select((eb) => ['repository', eb.fn.countAll<number | string>().as('tags'), eb.fn.max('updated_at').as('last_push')])
      .where('repository', 'in', names)
      .groupBy('repository')
      .execute();
    const byName = new Map(rows.map((row) => [row.repository, row]));
    return names.map((name) => {
      const row = byName.get(name);
      return { name, tags: Number(row?.tags ?? 0), lastPush: row?.last_push ?? null };
    });
  }

  /** The repository's tags after `after`, by name, up to `limit`. */
  async tags(repository: string, options: { after?: string | undefined; limit: number }): Promise<TagSummary[]> {
    let query = this.db
      .selectFrom('tags')
      .innerJoin('manifests', (join) =>
        join.onRef('manifests.repository', '=', 'tags.repository').onRef('manifests.digest', '=', 'tags.manifest_digest'),
      )
      .select([
        'tags.name as name',
        'tags.manifest_digest as digest',
        'tags.updated_at as pushed_at',
        'tags.last_pulled_at as last_pulled_at',
        'manifests.media_type as media_type',
        'manifests.artifact_type as artifact_type',
      ])
      .where('tags.repository', '=', repository)
      .orderBy('tags.name')
      .limit(options.limit);
    if (options.after !== undefined) query = query.where('tags.name', '>', options.after);
    const rows = await query.execute();
    const sizes = await this.sizes(repository, [...new Set(rows.map((row) => row.digest))]);
    return rows.map((row) => ({
      name: row.name,
      digest: row.digest,
      mediaType: row.media_type,
      artifactType: row.artifact_type,
      size: sizes.get(row.digest) ?? 0,
      pushedAt: row.pushed_at,
      lastPulledAt: row.last_pulled_at,
    }));
  }

  /** Bytes of the distinct blobs each manifest references, through its children for an index. */
  private async sizes(repository: string, digests: readonly string[]): Promise<Map<string, number>> {
    const result = new Map<string, number>();
    if (digests.length === 0) return result;
    const children = await this.db
      .selectFrom('manifest_references')
      .select(['manifest_digest', 'referenced_digest'])
      .where('repository', '=', repository)
      .where('kind', '=', 'manifest')
      .where('manifest_digest', 'in', digests)
      .execute();
    const all = [...new Set([...digests, ...children.map((row) => row.referenced_digest)])];
    const blobs = await this.db
      .selectFrom('manifest_references')
      .innerJoin('blobs', 'blobs.digest', 'manifest_references.referenced_digest')
      .select(['manifest_references.manifest_digest as manifest', 'blobs.digest as digest', 'blobs.size as size'])
      .where('manifest_references.repository', '=', repository)
      .where('manifest_references.kind', '=', 'blob')
      .where('manifest_references.manifest_digest', 'in', all)
      .execute();
    const blobsOf = new Map<string, Map<string, number>>();
    for (const row of blobs) {
      const map = blobsOf.get(row.manifest) ?? new Map<string, number>();
      map.set(row.digest, Number(row.size));
      blobsOf.set(row.manifest, map);
    }
    for (const digest of digests) {
      const distinct = new Map(blobsOf.get(digest) ?? []);
      for (const child of children) {
        if (child.manifest_digest !== digest) continue;
        for (const [blob, size] of blobsOf.get(child.referenced_digest) ?? []) distinct.set(blob, size);
      }
      let total = 0;
      for (const size of distinct.values()) total += size;
      result.set(digest, total);
    }
    return result;
  }
}
