// HTTP conformance for content discovery: the tags list and the catalog, their lexical order,
// n/last pagination with Link: <...>; rel="next", invalid page sizes and unknown repositories.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { assertOciError, getJson, nextLink, ociManifest, pushImageBlobs, pushManifest, uniqueRepo } from './support.js';

interface TagList {
  name: string;
  tags: string[] | null;
}

interface Catalog {
  repositories: string[];
}

/** Sorts like Go's sort.Strings (byte order); the names here are ASCII, so code units suffice. */
function lexical(values: readonly string[]): string[] {
  return [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Follows Link rel="next" from a first page; returns every entry in order and the page count. */
async function pageThrough<T>(
  baseUrl: string,
  firstPath: string,
  entries: (body: T) => readonly string[],
  pageSize: number,
): Promise<{ all: string[]; pages: number }> {
  const all: string[] = [];
  let path: string | undefined = firstPath;
  let pages = 0;
  while (path !== undefined) {
    const { response, body }: { response: Response; body: T } = await getJson<T>(new URL(path, baseUrl));
    const page = entries(body);
    assert.ok(page.length <= pageSize, `page of ${page.length} > n=${pageSize}`);
    all.push(...page);
    pages++;
    assert.ok(pages < 100, 'pagination does not end');
    path = nextLink(response.headers.get('link'));
    if (path !== undefined) assert.equal(page.length, pageSize, 'a page followed by a Link is full');
  }
  return { all, pages };
}

describe('tags list and catalog', { timeout: 120_000 }, () => {
  let registry: TestRegistry;
  /** Every repository this file pushes to (the registry is fresh, so this is the catalog). */
  const pushedRepos = new Set<string>();

  async function pushTags(repo: string, tags: readonly string[]): Promise<void> {
    const { config, layers } = await pushImageBlobs(registry.url, repo, 'oci');
    const manifest = ociManifest(config, layers);
    for (const tag of tags) await pushManifest(registry.url, repo, tag, manifest);
    pushedRepos.add(repo);
  }

  before(async () => {
    registry = await startRegistry();
  });
  after(async () => {
    await registry.stop();
  });

  describe('tags list', () => {
    const repo = uniqueRepo('tags');
    // Pushed out of order; in byte order: 1.0 A-upper a.b beta_1 latest v1 v10 v2
    const tags = ['v2', 'latest', 'v10', 'a.b', 'A-upper', '1.0', 'beta_1', 'v1'];
    const sorted = lexical(tags);
    const tagsUrl = (query = ''): string => `${registry.url}/v2/${repo}/tags/list${query}`;

    before(async () => {
      await pushTags(repo, tags);
    });

    it('lists every tag once under the repository name', async () => {
      const { response, body } = await getJson<TagList>(tagsUrl());
      assert.match(response.headers.get('content-type') ?? '', /^application\/json\b/);
      assert.equal(body.name, repo);
      assert.deepEqual(lexical(body.tags ?? []), sorted);
    });

    it('lists tags in lexical order', {
      skip: testTarget === 'reference' && 'Distribution 2.8 lists tags in directory order',
    }, async () => {
      const { body } = await getJson<TagList>(tagsUrl());
      assert.deepEqual(body.tags, sorted);
    });

    it('?n=2 returns the first two tags and a Link to the next page', {
      skip: testTarget === 'reference' && 'Distribution 2.8 does not paginate tags',
    }, async () => {
      const { response, body } = await getJson<TagList>(tagsUrl('?n=2'));
      assert.deepEqual(body.tags, sorted.slice(0, 2));
      const link = response.headers.get('link');
      assert.match(link ?? '', /^<[^>]+>; rel="next"$/);
      const next = new URL(nextLink(link) ?? '', registry.url);
      assert.equal(next.pathname, `/v2/${repo}/tags/list`);
      assert.equal(next.searchParams.get('n'), '2');
      assert.equal(next.searchParams.get('last'), sorted[1]);
    });

    it('following Link pages through every tag once, in order', {
      skip: testTarget === 'reference' && 'Distribution 2.8 does not paginate tags',
    }, async () => {
      for (const n of [1, 2, 3, tags.length - 1]) {
        const { all, pages } = await pageThrough<TagList>(registry.url, `/v2/${repo}/tags/list?n=${n}`, (body) => body.tags ?? [], n);
        assert.deepEqual(all, sorted, `n=${n}`);
        assert.equal(new Set(all).size, all.length, 'no duplicates');
        assert.ok(pages >= Math.ceil(tags.length / n), `n=${n}: ${pages} pages`);
      }
    });

    it('?n=2&last=x continues after x (x need not be a tag)', {
      skip: testTarget === 'reference' && 'Distribution 2.8 does not paginate tags',
    }, async () => {
      const { body } = await getJson<TagList>(tagsUrl('?n=2&last=a.b'));
      assert.deepEqual(body.tags, ['beta_1', 'latest']);
      const between = await getJson<TagList>(tagsUrl('?n=3&last=b'));
      assert.deepEqual(between.body.tags, ['beta_1', 'latest', 'v1']);
      const lastOnly = await getJson<TagList>(tagsUrl('?last=v1'));
      assert.deepEqual(lastOnly.body.tags, ['v10', 'v2']);
    });

    it('the last page has no Link; n larger than the list returns everything without a Link', {
      skip: testTarget === 'reference' && 'Distribution 2.8 does not paginate tags',
    }, async () => {
      const end = await getJson<TagList>(tagsUrl(`?n=2&last=${sorted[sorted.length - 2] ?? ''}`));
      assert.deepEqual(end.body.tags, sorted.slice(-1));
      assert.equal(end.response.headers.get('link'), null);
      const big = await getJson<TagList>(tagsUrl('?n=100'));
      assert.deepEqual(big.body.tags, sorted);
      assert.equal(big.response.headers.get('link'), null);
    });

    it('?n=0 returns an empty list without a Link', {
      skip: testTarget === 'reference' && 'Distribution 2.8 does not paginate tags',
    }, async () => {
      const { response, body } = await getJson<TagList>(tagsUrl('?n=0'));
      assert.deepEqual(body.tags ?? [], []);
      assert.equal(response.headers.get('link'), null);
    });

    for (const n of ['abc', '-1', '100000', '1.5']) {
      it(`?n=${n} answers 400 PAGINATION_NUMBER_INVALID`, {
        skip: testTarget === 'reference' && 'Berth-only: Distribution 2.8 ignores n on tags',
      }, async () => {
        await assertOciError(await fetch(tagsUrl(`?n=${n}`)), 400, 'PAGINATION_NUMBER_INVALID');
      });
    }

    it('?n=1000 (the maximum) is accepted', { skip: testTarget === 'reference' && 'Berth-only: the maximum page size' }, async () => {
      const { body } = await getJson<TagList>(tagsUrl('?n=1000'));
      assert.deepEqual(body.tags, sorted);
    });

    it('an unknown repository answers 404 NAME_UNKNOWN', async () => {
      await assertOciError(await fetch(`${registry.url}/v2/${uniqueRepo('never')}/tags/list`), 404, 'NAME_UNKNOWN');
    });

    it('a multi-segment repository lists its tags', async () => {
      const deep = `${uniqueRepo('tags')}/c/d`;
      await pushTags(deep, ['one', 'two']);
      const { body } = await getJson<TagList>(`${registry.url}/v2/${deep}/tags/list`);
      assert.equal(body.name, deep);
      assert.deepEqual(lexical(body.tags ?? []), ['one', 'two']);
    });
  });

  describe('catalog', () => {
    before(async () => {
      for (const repo of ['zeta/app', 'alpha', 'alpha/beta', 'mid/x/y', 'beta', 'gamma9']) {
        await pushTags(repo, ['latest']);
      }
    });

    it('lists every repository in lexical order', async () => {
      const { response, body } = await getJson<Catalog>(`${registry.url}/v2/_catalog`);
      assert.match(response.headers.get('content-type') ?? '', /^application\/json\b/);
      assert.deepEqual(body.repositories, lexical([...pushedRepos]));
    });

    it('?n=2 returns the first two and a Link of the form <...>; rel="next"', async () => {
      const expected = lexical([...pushedRepos]);
      const { response, body } = await getJson<Catalog>(`${registry.url}/v2/_catalog?n=2`);
      assert.deepEqual(body.repositories, expected.slice(0, 2));
      const link = response.headers.get('link');
      assert.match(link ?? '', /^<[^>]+>; rel="next"$/);
      const next = new URL(nextLink(link) ?? '', registry.url);
      assert.equal(next.pathname, '/v2/_catalog');
      assert.equal(next.searchParams.get('n'), '2');
      assert.equal(next.searchParams.get('last'), expected[1]);
    });

    it('following Link pages through every repository once, in order', async () => {
      const expected = lexical([...pushedRepos]);
      for (const n of [1, 2, 3, expected.length - 1]) {
        const { all } = await pageThrough<Catalog>(registry.url, `/v2/_catalog?n=${n}`, (body) => body.repositories, n);
        assert.deepEqual(all, expected, `n=${n}`);
        assert.equal(new Set(all).size, all.length, 'no duplicates');
      }
    });

    it('?n=2&last=x continues after x', async () => {
      const { body } = await getJson<Catalog>(`${registry.url}/v2/_catalog?n=2&last=alpha/beta`);
      const expected = lexical([...pushedRepos]);
      const after = expected.filter((name) => name > 'alpha/beta').slice(0, 2);
      assert.deepEqual(body.repositories, after);
    });

    it('the last page has no Link', async () => {
      const expected = lexical([...pushedRepos]);
      const { response, body } = await getJson<Catalog>(`${registry.url}/v2/_catalog?n=${expected.length + 5}`);
      assert.deepEqual(body.repositories, expected);
      assert.equal(response.headers.get('link'), null);
    });

    // [n, whether Distribution 2.8 accepts it instead (it checks only the maximum)]
    for (const [n, referenceAccepts] of [
      ['abc', true],
      ['-1', true],
      ['100000', false],
    ] as const) {
      it(`?n=${n} answers 400 PAGINATION_NUMBER_INVALID`, {
        skip: testTarget === 'reference' && referenceAccepts && 'Distribution 2.8 ignores this n',
      }, async () => {
        await assertOciError(await fetch(`${registry.url}/v2/_catalog?n=${n}`), 400, 'PAGINATION_NUMBER_INVALID');
      });
    }

    it('orders names by the whole string, not path segment by segment', {
      skip: testTarget === 'reference' && 'Distribution 2.8 orders the catalog by a directory walk',
    }, async () => {
      // '-' (0x2d) sorts before '/' (0x2f): "order-b" < "order/a" as strings.
      await pushTags('order/a', ['latest']);
      await pushTags('order-b', ['latest']);
      const { body } = await getJson<Catalog>(`${registry.url}/v2/_catalog`);
      assert.deepEqual(body.repositories, lexical([...pushedRepos]));
      const { all } = await pageThrough<Catalog>(registry.url, '/v2/_catalog?n=2', (b) => b.repositories, 2);
      assert.deepEqual(all, lexical([...pushedRepos]));
    });
  });
});
