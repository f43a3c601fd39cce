// Listings: GET /v2/<name>/tags/list and GET /v2/_catalog, with n/last pagination and Link.
import type { Page, PageRequest } from '../../registry/index.js';
import { nextPageLink, pageParams, repositoryParam, type RequestContext } from '../context.js';

export async function listTags(ctx: RequestContext): Promise<void> {
  const repository = repositoryParam(ctx);
  // Without n, all tags: that is what Distribution does and what clients expect.
  const page = pageParams(ctx, undefined);
  const result = await ctx.registry.listings.tags(repository, page);
  const last = result.items.at(-1);
  if (result.hasMore && page.limit !== undefined && last !== undefined) {
    ctx.reply.header('Link', nextPageLink(`/v2/${repository}/tags/list`, page.limit, last));
  }
  ctx.reply.header('Content-Type', 'application/json').send(JSON.stringify({ name: repository, tags: result.items }));
}

export async function listCatalog(ctx: RequestContext): Promise<void> {
  const page = pageParams(ctx, ctx.options.catalogDefaultEntries);
  const result = ctx.access.principal === undefined ? await ctx.registry.listings.repositories(page) : await visibleRepositories(ctx, page);
  const last = result.items.at(-1);
  if (result.hasMore && page.limit !== undefined && last !== undefined) {
    ctx.reply.header('Link', nextPageLink('/v2/_catalog', page.limit, last));
  }
  ctx.reply.header('Content-Type', 'application/json').send(JSON.stringify({ repositories: result.items }));
}

/** A catalog page of only the repositories the caller may pull, read on until the page is full. */
async function visibleRepositories(ctx: RequestContext, page: PageRequest): Promise<Page<string>> {
  const items: string[] = [];
  let after = page.after;
  for (;;) {
    const batch = await ctx.registry.listings.repositories({ limit: page.limit, after });
    for (const [index, name] of batch.items.entries()) {
      if (!(await ctx.access.mayList(name))) continue;
      items.push(name);
      if (page.limit !== undefined && items.length === page.limit) {
        return { items, hasMore: index < batch.items.length - 1 || batch.hasMore };
      }
    }
    if (!batch.hasMore) return { items, hasMore: false };
    after = batch.items.at(-1);
  }
}
