// Tag immutability enforced as a decorator of the registry's interfaces (as the pull-through
// cache decorates them): manifest pushes hand the registry the tags a rule protects, which the
// index then writes only when absent or already naming the pushed manifest (one transaction, so
// two pushes racing to create a protected tag cannot both win, and an identical re-push, which
// clients make, is accepted); a DELETE of a protected tag, or by digest of a manifest a protected
// tag points at, is refused. Everything else passes through unchanged.
import type { RepositoryName } from '../oci/index.js';
import { tagImmutable, type ImmutabilityRules } from './immutability.js';
import type {
  ManifestPush,
  ManifestReader,
  ManifestWriter,
  Reference,
  RegistryServices,
  RequestScope,
  StoredManifest,
  WriteScope,
} from './interfaces.js';
import type { ParsedManifest } from '../oci/index.js';

/** What the decorator reads beside the rules: the tags that point at a manifest. */
export interface TagsOfManifest {
  tagsOfManifest(repository: string, digest: string): Promise<string[]>;
}

export class ImmutableManifests implements ManifestReader, ManifestWriter {
  constructor(
    private readonly inner: ManifestReader & ManifestWriter,
    private readonly rules: ImmutabilityRules,
    private readonly index: TagsOfManifest,
  ) {}

  describe(repository: RepositoryName, reference: Reference, accept?: readonly string[], scope?: RequestScope): Promise<StoredManifest> {
    return this.inner.describe(repository, reference, accept, scope);
  }

  get(
    repository: RepositoryName,
    reference: Reference,
    accept?: readonly string[],
    scope?: RequestScope,
  ): Promise<StoredManifest & { bytes: Buffer }> {
    return this.inner.get(repository, reference, accept, scope);
  }

  async put(push: ManifestPush): Promise<StoredManifest & { manifest: ParsedManifest }> {
    const tags = [...(push.reference.kind === 'tag' ? [push.reference.tag] : []), ...(push.extraTags ?? [])];
    const immutableTags = await this.rules.protectedAmong(push.repository, tags);
    return this.inner.put(immutableTags.length === 0 ? push : { ...push, immutableTags });
  }

  async delete(repository: RepositoryName, reference: Reference, scope?: WriteScope): Promise<void> {
    if (reference.kind === 'tag') {
      // Refused by name, whether or not the tag exists yet: checking that it exists first would
      // let a push creating it slip in between the check and the delete.
      if (await this.rules.protects(repository, reference.tag)) throw tagImmutable(repository, reference.tag);
    } else {
      const digest = reference.digest.toString();
      const [held] = await this.rules.protectedAmong(repository, await this.index.tagsOfManifest(repository, digest));
      if (held !== undefined) throw tagImmutable(repository, held, digest);
    }
    return this.inner.delete(repository, reference, scope);
  }
}

/** The services with their manifest writers guarded by the immutability rules. */
export function withTagImmutability(services: RegistryServices, rules: ImmutabilityRules, index: TagsOfManifest): RegistryServices {
  return {
    blobs: services.blobs,
    uploads: services.uploads,
    manifests: new ImmutableManifests(services.manifests, rules, index),
    listings: services.listings,
    referrers: services.referrers,
    assertPushable: (repository) => services.assertPushable(repository),
    health: () => services.health(),
  };
}
