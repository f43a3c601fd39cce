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

/** Names are never empty, so "after ''" is "from the first". */
const FROM_FIRST = '';

/** ListingIndex over the repositories and tags tables. */
export class ListingQueries implements ListingIndex {
  /**
   * The listings, compiled once for this database (prepared-query.ts), the page's bounds as
   * parameters: a page without n has no LIMIT (SQLite takes about half as long again to run the
   * same query with one), a page with n asks for one row past it.
   */
  private readonly lookups = {
    repositoryExists: preparedQuery(
      (db: Kysely<Database>, repository: string) => db.selectFrom('repositories').select('name').where('name', '=', repository),
      1,
    ),
    tags: preparedQuery((db: Kysely<Database>, repository: string, after: string) => tagsAfter(db, repository, after), 2),
    tagsPage: preparedQuery(
      (db: Kysely<Database>, repository: string, after: string, rows: number) => tagsAfter(db, repository, after).limit(rows),
      3,
    ),
    repositories: preparedQuery((db: Kysely<Database>, after: string) => repositoriesAfter(db, after), 1),
    repositoriesPage: preparedQuery((db: Kysely<Database>, after: string, rows: number) => repositoriesAfter(db, after).limit(rows), 2),
  };

  constructor(private readonly db: Kysely<Database>) {}

  async repositoryExists(repository: string): Promise<boolean> {
    return (await this.lookups.repositoryExists(this.db, repository)).rows.length > 0;
  }

  async listTags(repository: string, page: PageRequest): Promise<Page<string>> {
    const after = page.after ?? FROM_FIRST;
    const { rows } =
      page.limit === undefined
        ? await this.lookups.tags(this.db, repository, after)
        : await this.lookups.tagsPage(this.db, repository, after, page.limit + 1);
    return toPage(
      rows.map((r) => r.name),
      page.limit,
    );
  }

  async listRepositories(page: PageRequest): Promise<Page<string>> {
    const after = page.after ?? FROM_FIRST;
    const { rows } =
      page.limit === undefined
        ? await this.lookups.repositories(this.db, after)
        : await this.lookups.repositoriesPage(this.db, after, page.limit + 1);
    return toPage(
      rows.map((r) => r.name),
      page.limit,
    );
  }
}

/** A repository's tags after a name, in lexical order. */
function tagsAfter(db: Kysely<Database>, repository: string, after: string) {
  return db.selectFrom('tags').select('name').where('repository', '=', repository).where('name', '>', after).orderBy('name');
}

/** Repositories after a name, in lexical order. */
function repositoriesAfter(db: Kysely<Database>, after: string) {
  return db.selectFrom('repositories').select('name').where('name', '>', after).orderBy('name');
}
