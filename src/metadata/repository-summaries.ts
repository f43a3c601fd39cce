// What the web UI lists: pages of repository names (optionally those containing a text, or below
// a namespace), each with its tag count and last push, newest push first on request; the
// namespaces below a namespace; and a repository's tags with their manifest's media type, size,
// push and pull times, by name or newest push first. Queries walk a primary key or an index
// range: a page of the catalog reads the repositories' primary key from the cursor on (a filter
// reads further, but only names; a namespace is a key range), the summaries of a page are one
// grouped range read per repository of tags' primary key (repository, name), the namespaces are
// one index seek each (a skip scan), and a repository's tags are one range of tags' primary key.
// The one exception is the order by last push, which has no index of its own: it groups every
// repository's tags (one pass over tags' primary key; docs/admin-api.md gives its cost).
import { type Kysely, type RawBuilder, sql } from 'kysely';
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

/** Which repositories a listing covers. */
export interface RepositoryFilter {
  /** Only names containing this text. */
  readonly contains?: string | undefined;
  /** Only repositories below this namespace ("team-a" covers "team-a/app" and "team-a/x/y"). */
  readonly namespace?: string | undefined;
}

/** The order of a listing: by name, or the most recent push first (ties by name). */
export type ListingOrder = 'name' | 'last-push';

/** The smallest text after every name that starts with `prefix` ("a/" becomes "a0"). */
function prefixEnd(prefix: string): string {
  return `${prefix.slice(0, -1)}${String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)}`;
}

/** Escapes LIKE's wildcards ('_' occurs in repository names), with '\' as the escape character. */
function likeContaining(text: string): string {
  return `%${text.replace(/[\\%_]/g, (match) => `\\${match}`)}%`;
}

/** The conditions on a column of repository names that keep only the filter's names. */
function filterConditions(column: 'name' | 'repository', filter: RepositoryFilter): RawBuilder<boolean>[] {
  const conditions: RawBuilder<boolean>[] = [];
  if (filter.namespace !== undefined) {
    const prefix = `${filter.namespace}/`;
    conditions.push(sql<boolean>`${sql.ref(column)} >= ${prefix}`, sql<boolean>`${sql.ref(column)} < ${prefixEnd(prefix)}`);
  }
  if (filter.contains !== undefined && filter.contains !== '') {
    conditions.push(sql<boolean>`${sql.ref(column)} like ${likeContaining(filter.contains)} escape '\\'`);
  }
  return conditions;
}

export class RepositorySummaries {
  constructor(private readonly db: Kysely<Database>) {}

  /** Up to `limit` repository names after `after`, in lexical order, within the filter. */
  async names(options: { after?: string | undefined; limit: number } & RepositoryFilter): Promise<string[]> {
    let query = this.db.selectFrom('repositories').select('name').orderBy('name').limit(options.limit);
    if (options.after !== undefined) query = query.where('name', '>', options.after);
    for (const condition of filterConditions('name', options)) query = query.where(condition);
    return (await query.execute()).map((row) => row.name);
  }

  /**
   * Up to `limit` repositories within the filter, the most recently pushed first (ties by name),
   * then those without tags by name, after the repository `after` as it stands now. The tagged
   * ones come from one grouped pass over tags' primary key (no join); the untagged ones, read
   * only once the tagged ones run out, from the repositories' key.
   */
  async byLastPush(options: { after?: string | undefined; limit: number } & RepositoryFilter): Promise<RepositorySummary[]> {
    const { after, limit } = options;
    const cursor = after === undefined ? undefined : (await this.summaries([after]))[0];
    const found: RepositorySummary[] = [];
    // A cursor without tags is among the untagged repositories already.
    if (cursor === undefined || cursor.lastPush !== null) {
      const lastPush = sql<string>`max(updated_at)`;
      let query = this.db
        .selectFrom('tags')
        .select((eb) => ['repository', eb.fn.countAll<number | string>().as('tags'), lastPush.as('last_push')])
        .groupBy('repository')
        .orderBy(lastPush, 'desc')
        .orderBy('repository')
        .limit(limit);
      for (const condition of filterConditions('repository', options)) query = query.where(condition);
      if (cursor?.lastPush) {
        const pushed = cursor.lastPush;
        query = query.having((eb) =>
          eb.or([eb(lastPush, '<', pushed), eb.and([eb(lastPush, '=', pushed), eb('repository', '>', cursor.name)])]),
        );
      }
      for (const row of await query.execute()) found.push({ name: row.repository, tags: Number(row.tags), lastPush: row.last_push });
    }
    if (found.length < limit) {
      let query = this.db
        .selectFrom('repositories')
        .select('name')
        .where(({ not, exists, selectFrom }) =>
          not(exists(selectFrom('tags').select('tags.name').whereRef('tags.repository', '=', 'repositories.name'))),
        )
        .orderBy('name')
        .limit(limit - found.length);
      for (const condition of filterConditions('name', options)) query = query.where(condition);
      if (cursor !== undefined && cursor.lastPush === null) query = query.where('name', '>', cursor.name);
      for (const row of await query.execute()) found.push({ name: row.name, tags: 0, lastPush: null });
    }
    return found;
  }

  /**
   * The namespaces directly below `parent` (top-level ones without it) that hold repositories,
   * in lexical order, up to `limit` (the first `limit` met walking the names): one index seek
   * each, jumping over every name below the one found. A repository named like a namespace ("a" beside "a/b") is not one itself.
   */
  async namespaces(parent: string | undefined, limit: number): Promise<string[]> {
    const prefix = parent === undefined ? '' : `${parent}/`;
    const end = prefix === '' ? undefined : prefixEnd(prefix);
    const found: string[] = [];
    let from = prefix;
    let inclusive = true;
    while (found.length < limit) {
      let query = this.db
        .selectFrom('repositories')
        .select('name')
        .where('name', inclusive ? '>=' : '>', from)
        .orderBy('name')
        .limit(1);
      if (end !== undefined) query = query.where('name', '<', end);
      const row = await query.executeTakeFirst();
      if (row === undefined) break;
      const slash = row.name.indexOf('/', prefix.length);
      if (slash === -1) {
        // A repository directly at this level: go on after it.
        from = row.name;
        inclusive = false;
        continue;
      }
      const namespace = row.name.slice(0, slash);
      found.push(namespace);
      from = prefixEnd(`${namespace}/`);
      inclusive = true;
    }
    // Found in the order of their names' first repositories: "team-b/x" comes before "team/y"
    // ('-' sorts before '/'), but the namespace "team" before "team-b".
    return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
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

  /** The repository's tags after the tag `after`, by name or newest push first (ties by name), up to `limit`. */
  async tags(repository: string, options: { after?: string | undefined; limit: number; order?: ListingOrder }): Promise<TagSummary[]> {
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
      .limit(options.limit);
    const after = options.after;
    if (options.order === 'last-push') {
      query = query.orderBy('tags.updated_at', 'desc').orderBy('tags.name');
      if (after !== undefined) {
        const cursor = await this.db
          .selectFrom('tags')
          .select('updated_at')
          .where('repository', '=', repository)
          .where('name', '=', after)
          .executeTakeFirst();
        // A cursor tag deleted meanwhile has no place in the order any more: the listing ends there.
        const pushed = cursor?.updated_at ?? '';
        query = query.where((eb) =>
          eb.or([eb('tags.updated_at', '<', pushed), eb.and([eb('tags.updated_at', '=', pushed), eb('tags.name', '>', after)])]),
        );
      }
    } else {
      query = query.orderBy('tags.name');
      if (after !== undefined) query = query.where('tags.name', '>', after);
    }
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
