// Listings: GET /v2/<name>/tags/list and GET /v2/_catalog, with n/last pagination and Link.
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
  const result = await ctx.registry.listings.repositories(page);
  const last = result.items.at(-1);
  if (result.hasMore && page.limit !== undefined && last !== undefined) {
    ctx.reply.header('Link', nextPageLink('/v2/_catalog', page.limit, last));
  }
  ctx.reply.header('Content-Type', 'application/json').send(JSON.stringify({ repositories: result.items }));
}
