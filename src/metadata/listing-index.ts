// Listings in the index: whether a repository exists, its tags, and the catalog of repositories,
// each paginated lexically.
import type { Kysely } from 'kysely';
import { toPage, type Page, type PageRequest } from './page.js';
import type { Database } from './schema.js';

/** What the registry asks of the index for the tags list and the catalog. */
export interface ListingIndex {
  repositoryExists(repository: string): Promise<boolean>;
  listTags(repository: string, page: PageRequest): Promise<Page<string>>;
  /** Repositories that hold at least one manifest, in lexical order. */
  listRepositories(page: PageRequest): Promise<Page<string>>;
}

/** ListingIndex over the repositories and tags tables. */
export class ListingQueries implements ListingIndex {
  constructor(private readonly db: Kysely<Database>) {}

  async repositoryExists(repository: string): Promise<boolean> {
    const row = await this.db.selectFrom('repositories').select('name').where('name', '=', repository).executeTakeFirst();
    return row !== undefined;
  }

  async listTags(repository: string, page: PageRequest): Promise<Page<string>> {
    let query = this.db.selectFrom('tags').select('name').where('repository', '=', repository).orderBy('name');
    if (page.after !== undefined) query = query.where('name', '>', page.after);
    if (page.limit !== undefined) query = query.limit(page.limit + 1);
    return toPage(
      (await query.execute()).map((r) => r.name),
      page.limit,
    );
  }

  async listRepositories(page: PageRequest): Promise<Page<string>> {
    let query = this.db.selectFrom('repositories').select('name').orderBy('name');
    if (page.after !== undefined) query = query.where('name', '>', page.after);
    if (page.limit !== undefined) query = query.limit(page.limit + 1);
    return toPage(
      (await query.execute()).map((r) => r.name),
      page.limit,
    );
  }
}
