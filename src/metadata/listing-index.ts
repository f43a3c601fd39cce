// Listings in the index: whether a repository exists, its tags, and the catalog of repositories,
// each paginated lexically. Tools that watch for new versions poll tag lists, so their queries
// are prepared once and, on SQLite, answered without the driver (prepared-query.ts).
import type { Kysely } from 'kysely';
import { toPage, type Page, type PageRequest } from './page.js';
import { preparedQuery } from './prepared-query.js';
import type { Database } from './schema.js';

/** What the registry asks of the index for the tags list and the catalog. */
export interface ListingIndex {
  repositoryExists(repository: string): Promise<boolean>;
  listTags(repository: string, page: PageRequest): Promise<Page<string>>;
  /** Repositories that hold at least one manifest, in lexical order. */
  listRepositories(page: PageRequest): Promise<Page<string>>;
}

/**
 * Stands for "no limit" in the prepared listings: one query shape serves every page (a lookup
 * compiled once, prepared-query.ts), so a page without n asks for this many rows.
 */
const ALL_ROWS = 2 ** 31 - 1;

/** Names are never empty, so "after ''" is "from the first". */
const FROM_FIRST = '';

/** ListingIndex over the repositories and tags tables. */
export class ListingQueries implements ListingIndex {
  /** The listings, compiled once for this database (prepared-query.ts); a page's bounds are parameters. */
  private readonly lookups = {
    repositoryExists: preparedQuery(
      (db: Kysely<Database>, repository: string) => db.selectFrom('repositories').select('name').where('name', '=', repository),
      1,
    ),
    tags: preparedQuery(
      (db: Kysely<Database>, repository: string, after: string, rows: number) =>
        db.selectFrom('tags').select('name').where('repository', '=', repository).where('name', '>', after).orderBy('name').limit(rows),
      3,
    ),
    repositories: preparedQuery(
      (db: Kysely<Database>, after: string, rows: number) =>
        db.selectFrom('repositories').select('name').where('name', '>', after).orderBy('name').limit(rows),
      2,
    ),
  };

  constructor(private readonly db: Kysely<Database>) {}

  async repositoryExists(repository: string): Promise<boolean> {
    return (await this.lookups.repositoryExists(this.db, repository)).rows.length > 0;
  }

  async listTags(repository: string, page: PageRequest): Promise<Page<string>> {
    const { rows } = await this.lookups.tags(this.db, repository, page.after ?? FROM_FIRST, rowsFor(page));
    return toPage(
      rows.map((r) => r.name),
      page.limit,
    );
  }

  async listRepositories(page: PageRequest): Promise<Page<string>> {
    const { rows } = await this.lookups.repositories(this.db, page.after ?? FROM_FIRST, rowsFor(page));
    return toPage(
      rows.map((r) => r.name),
      page.limit,
    );
  }
}

/** Rows to fetch for a page: one past its limit, so the page knows whether more follow. */
function rowsFor(page: PageRequest): number {
  return page.limit === undefined ? ALL_ROWS : page.limit + 1;
}
