// The tags list asks the index once when a repository has tags; these are the answers that need
// its second question (is the name a repository at all?), over a real SQLite index.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RegistryError } from '../errors/index.js';
import { MediaType, parseRepositoryName } from '../oci/index.js';
import { localRegistry, type LocalRegistry } from './testing/local-registry.js';

/** An empty image index: a manifest that references nothing, so it needs no blobs pushed first. */
const EMPTY_INDEX = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }));

describe('ListingService.tags', () => {
  let local: LocalRegistry;
  const repository = parseRepositoryName('team/app');
  before(async () => {
    local = await localRegistry();
    for (const tag of ['a', 'b']) {
      await local.registry.manifests.put({
        repository,
        reference: { kind: 'tag', tag },
        bytes: EMPTY_INDEX,
        contentType: MediaType.ociIndex,
      });
    }
  });
  after(() => local.close());

  it('lists the tags of a repository, in order', async () => {
    assert.deepEqual(await local.registry.listings.tags(repository, { limit: undefined, after: undefined }), {
      items: ['a', 'b'],
      hasMore: false,
    });
  });

  it('answers an empty page past the last tag, not NAME_UNKNOWN', async () => {
    assert.deepEqual(await local.registry.listings.tags(repository, { limit: undefined, after: 'b' }), { items: [], hasMore: false });
    assert.deepEqual(await local.registry.listings.tags(repository, { limit: 0, after: undefined }), { items: [], hasMore: true });
  });

  it('answers NAME_UNKNOWN for a name that is no repository', async () => {
    await assert.rejects(
      local.registry.listings.tags(parseRepositoryName('team/other'), { limit: undefined, after: undefined }),
      (error: unknown) => error instanceof RegistryError && error.definition.code === 'NAME_UNKNOWN',
    );
  });

  it('answers an empty list for a repository whose tags were all deleted', async () => {
    const other = parseRepositoryName('team/untagged');
    await local.registry.manifests.put({
      repository: other,
      reference: { kind: 'tag', tag: 'x' },
      bytes: EMPTY_INDEX,
      contentType: MediaType.ociIndex,
    });
    await local.registry.manifests.delete(other, { kind: 'tag', tag: 'x' });
    assert.deepEqual(await local.registry.listings.tags(other, { limit: undefined, after: undefined }), { items: [], hasMore: false });
  });
});
