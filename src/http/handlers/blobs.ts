// Blob reads: GET and HEAD /v2/<name>/blobs/<digest>, with single byte ranges.
import { RegistryError } from '../../errors/index.js';
import { parseRangeHeader } from '../../oci/index.js';
import { parseDigest, repositoryParam, type RequestContext } from '../context.js';
import { contentSource } from '../content-source.js';
import { sendBody } from '../send-body.js';

function blobHeaders(ctx: RequestContext, digest: string): void {
  ctx.reply
    .header('Docker-Content-Digest', digest)
    .header('Content-Type', 'application/octet-stream')
    .header('Accept-Ranges', 'bytes')
    .header('ETag', `"${digest}"`)
    // Content-addressed: the bytes behind a digest never change.
    .header('Cache-Control', 'max-age=31536000');
}

export async function headBlob(ctx: RequestContext): Promise<void> {
  const repository = repositoryParam(ctx);
  const digest = parseDigest(ctx.params.digest);
  const { size } = await contentSource(ctx).headBlob(repository, digest);
  blobHeaders(ctx, digest.toString());
  ctx.reply.header('Content-Length', size).code(200).send();
}

export async function getBlob(ctx: RequestContext): Promise<void> {
  const repository = repositoryParam(ctx);
  const digest = parseDigest(ctx.params.digest);
  const source = contentSource(ctx);
  const redirect = await source.redirectUrl(repository, digest);
  if (redirect !== undefined) {
    // The object store serves the bytes (and any Range) itself.
    ctx.reply.code(307).header('Location', redirect).header('Docker-Content-Digest', digest.toString()).send();
    return;
  }
  if (ctx.request.headers.range === undefined) {
    // The whole blob: one lookup, and on a cache miss one upstream request, not a HEAD first.
    const content = await source.openBlob(repository, digest, undefined);
    blobHeaders(ctx, digest.toString());
    ctx.reply.code(200).header('Content-Length', content.size);
    await sendBody(ctx, content.stream);
    return;
  }
  const { size } = await source.statBlob(repository, digest);
  const range = parseRangeHeader(ctx.request.headers.range, size);
  if (range === 'unsatisfiable') {
    throw new RegistryError('RANGE_INVALID', { size, range: ctx.request.headers.range }, {
      headers: { 'Content-Range': `bytes */${size}` },
    });
  }
  const content = await source.openBlob(repository, digest, range);
  blobHeaders(ctx, digest.toString());
  if (range) {
    ctx.reply
      .code(206)
      .header('Content-Range', `bytes ${range.start}-${range.end}/${size}`)
      .header('Content-Length', range.end - range.start + 1);
  } else {
    ctx.reply.code(200).header('Content-Length', size);
  }
  await sendBody(ctx, content.stream);
}

export async function deleteBlob(ctx: RequestContext): Promise<void> {
  const repository = repositoryParam(ctx);
  await ctx.registry.blobs.delete(repository, parseDigest(ctx.params.digest));
  ctx.reply.code(202).header('Content-Length', 0).send();
}
