// The referrers API (OCI distribution v1.1): the manifests in a repository whose subject is a
// given digest, as an OCI image index. Never "not found": no referrers is an empty index.
import type { MetadataStore, PageRequest } from '../metadata/index.js';
import { MediaType, type Digest, type RepositoryName } from '../oci/index.js';

export interface ReferrersPage {
  /** The serialized image index. */
  readonly index: Buffer;
  /** Whether the artifactType filter was applied (OCI-Filters-Applied). */
  readonly filtered: boolean;
  /** The last digest of this page when more follow, for the Link header. */
  readonly next: string | undefined;
}

interface ReferrerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export class ReferrersService {
  constructor(private readonly metadata: MetadataStore) {}

  async list(
    repository: RepositoryName,
    subject: Digest,
    options: PageRequest & { artifactType?: string | undefined },
  ): Promise<ReferrersPage> {
    const page = await this.metadata.listReferrers(repository, subject.toString(), options);
    const manifests = page.items.map((row) => {
      const descriptor: ReferrerDescriptor = { mediaType: row.media_type, digest: row.digest, size: row.size };
      if (row.artifact_type !== null) descriptor.artifactType = row.artifact_type;
      if (row.annotations !== null) descriptor.annotations = JSON.parse(row.annotations) as Record<string, string>;
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
