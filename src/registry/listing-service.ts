// Listings: the tags of a repository and the catalog of repositories, paginated lexically.
import { RegistryError } from '../errors/index.js';
import type { ListingIndex, Page, PageRequest } from '../metadata/index.js';
import type { RepositoryName } from '../oci/index.js';
import type { CatalogLister, TagLister } from './interfaces.js';

export class ListingService implements TagLister, CatalogLister {
  constructor(private readonly metadata: ListingIndex) {}

  async tags(repository: RepositoryName, page: PageRequest): Promise<Page<string>> {
    if (!(await this.metadata.repositoryExists(repository))) {
      throw new RegistryError('NAME_UNKNOWN', { repository });
    }
    return this.metadata.listTags(repository, page);
  }

  async repositories(page: PageRequest): Promise<Page<string>> {
    return this.metadata.listRepositories(page);
  }
}
