// The referrers API (OCI distribution v1.1): the manifests in a repository whose subject is a
// given digest, as an OCI image index. Never "not found": no referrers is an empty index.
import type { ManifestIndex, PageRequest } from '../metadata/index.js';
import { MediaType, type Digest, type RepositoryName } from '../oci/index.js';
import type { ReferrerLister, ReferrersPage } from './interfaces.js';

interface ReferrerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Readonly<Record<string, string>>;
}

export class ReferrersService implements ReferrerLister {
  constructor(private readonly metadata: Pick<ManifestIndex, 'listReferrers'>) {}

  async list(
    repository: RepositoryName,
    subject: Digest,
    options: PageRequest & { artifactType?: string | undefined },
  ): Promise<ReferrersPage> {
    const page = await this.metadata.listReferrers(repository, subject.toString(), options);
    const manifests = page.items.map((row) => {
      const descriptor: ReferrerDescriptor = { mediaType: row.mediaType, digest: row.digest, size: row.size };
      if (row.artifactType !== undefined) descriptor.artifactType = row.artifactType;
      if (row.annotations !== undefined) descriptor.annotations = row.annotations;
      return descriptor;
    });
    const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests };
    return {
      index: Buffer.from(JSON.stringify(index)),
      filtered: options.artifactType !== undefined,
      next: page.hasMore ? page.items.at(-1)?.digest : undefined,
    };
  }
}
