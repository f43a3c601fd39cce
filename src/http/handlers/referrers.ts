// GET /v2/<name>/referrers/<digest>: the OCI v1.1 referrers API, with the artifactType filter
// and Link pagination.
import { MediaType } from '../../oci/index.js';
import { nextPageLink, pageParams, parseDigest, repositoryParam, type RequestContext } from '../context.js';

export async function listReferrers(ctx: RequestContext): Promise<void> {
  const repository = repositoryParam(ctx);
  const subject = parseDigest(ctx.params.digest);
  // An empty artifactType filters nothing.
  const artifactType = ctx.query.get('artifactType') || undefined;
  const page = pageParams(ctx, ctx.options.paginationMaxEntries);
  const result = await ctx.registry.referrers.list(repository, subject, { ...page, artifactType });
  if (result.filtered) ctx.reply.header('OCI-Filters-Applied', 'artifactType');
  if (result.next !== undefined && page.limit !== undefined) {
    const filter: Record<string, string> = artifactType !== undefined ? { artifactType } : {};
    ctx.reply.header('Link', nextPageLink(`/v2/${repository}/referrers/${subject.toString()}`, page.limit, result.next, filter));
  }
  ctx.reply.code(200).header('Content-Type', MediaType.ociIndex).send(result.index);
}
