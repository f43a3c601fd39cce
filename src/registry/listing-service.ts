// Listings: the tags of a repository and the catalog of repositories, paginated lexically.
import { RegistryError } from '../errors/index.js';
import type { ListingIndex, Page, PageRequest } from '../metadata/index.js';
import type { RepositoryName } from '../oci/index.js';
import type { CatalogLister, TagLister } from './interfaces.js';

export class ListingService implements TagLister, CatalogLister {
  constructor(private readonly metadata: ListingIndex) {}

  /**
   * One query for a repository with tags: a tag exists only in a repository the index knows (a
   * manifest push records both in one transaction, and repositories are never removed), so only
   * an empty page asks whether the name is a repository at all (NAME_UNKNOWN) or one without
   * tags (or past its last).
   */
  async tags(repository: RepositoryName, page: PageRequest): Promise<Page<string>> {
    const result = await this.metadata.listTags(repository, page);
    if (result.items.length === 0 && !(await this.metadata.repositoryExists(repository))) {
      throw new RegistryError('NAME_UNKNOWN', { repository });
    }
    return result;
  }

  async repositories(page: PageRequest): Promise<Page<string>> {
    return this.metadata.listRepositories(page);
  }
}
