// End to end with real clients: after buildah and skopeo push to several repositories (nested
// names included), GET /v2/_catalog lists exactly those repositories, also when paged with ?n=
// and Link headers, and skopeo list-tags lists each repository's tags.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ContainerClients, dockerRef, type BuiltImage } from '../helpers/clients.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { stopRegistry } from './support.js';

/** Repositories and the tags each gets. */
const PUSHED: Readonly<Record<string, readonly string[]>> = {
  'e2e-catalog/alpha': ['1', '2', 'latest'],
  'e2e-catalog/beta/nested': ['v1'],
  'e2e-catalog/gamma': ['1.0.0'],
  zeta: ['edge'],
};

async function catalogPage(url: string): Promise<{ repositories: string[]; next: string | undefined }> {
  const response = await fetch(url);
  assert.equal(response.status, 200, `GET ${url}`);
  const body: unknown = await response.json();
  assert.ok(typeof body === 'object' && body !== null && 'repositories' in body && Array.isArray(body.repositories));
  const repositories = body.repositories.map(String);
  const link = response.headers.get('link');
  const match = link ? /<([^>]+)>;\s*rel="?next"?/.exec(link) : null;
  return { repositories, next: match?.[1] };
}

describe('catalog and tag lists', { concurrency: false }, () => {
  let registry: TestRegistry | undefined;
  let clients: ContainerClients | undefined;
  let image: BuiltImage;

  const env = (): { registry: TestRegistry; clients: ContainerClients } => {
    assert.ok(registry && clients, 'before() did not finish');
    return { registry, clients };
  };

  before(async () => {
    registry = await startRegistry();
    clients = await ContainerClients.create();
    image = await clients.buildImage({ name: 'localhost/e2e/catalog:1', layers: [[512, 16 * 1024]] });
    for (const [repo, tags] of Object.entries(PUSHED)) {
      const [first, ...rest] = tags;
      assert.ok(first);
      await clients.buildahPush(image.name, `${registry.hostPort}/${repo}:${first}`);
      for (const tag of rest) {
        await clients.skopeoCopy(dockerRef(registry.hostPort, repo, first), dockerRef(registry.hostPort, repo, tag));
      }
    }
  });

  after(async () => {
    await clients?.cleanup();
    await stopRegistry(registry);
  });

  it('GET /v2/_catalog lists every pushed repository, sorted', async () => {
    const { registry } = env();
    const page = await catalogPage(`${registry.url}/v2/_catalog`);
    assert.deepEqual(page.repositories, Object.keys(PUSHED).sort());
  });

  it('GET /v2/_catalog?n=2 pages through the same list with Link headers', async () => {
    const { registry } = env();
    const seen: string[] = [];
    let url: string | undefined = `${registry.url}/v2/_catalog?n=2`;
    for (let pages = 0; url !== undefined; pages += 1) {
      assert.ok(pages < 10, 'pagination does not end');
      const page = await catalogPage(url);
      assert.ok(page.repositories.length <= 2, `page of at most 2: ${page.repositories.join(', ')}`);
      seen.push(...page.repositories);
      url = page.next === undefined ? undefined : new URL(page.next, registry.url).toString();
    }
    assert.deepEqual(seen, Object.keys(PUSHED).sort());
  });

  it('skopeo list-tags lists the tags of each repository', async () => {
    const { registry, clients } = env();
    for (const [repo, tags] of Object.entries(PUSHED)) {
      assert.deepEqual(await clients.listTags(registry.hostPort, repo), [...tags].sort(), repo);
    }
  });

  it('every tag resolves to the same manifest', async () => {
    const { registry, clients } = env();
    const digests = new Set<string>();
    for (const [repo, tags] of Object.entries(PUSHED)) {
      for (const tag of tags) digests.add(await clients.manifestDigest(dockerRef(registry.hostPort, repo, tag)));
    }
    assert.equal(digests.size, 1, [...digests].join(', '));
  });
});
