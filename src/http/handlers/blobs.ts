// Blob reads: GET and HEAD /v2/<name>/blobs/<digest>, with single byte ranges, and DELETE.
import { RegistryError } from '../../errors/index.js';
import { parseRangeHeader, type ByteRange } from '../../oci/index.js';
import type { BlobRead } from '../../registry/index.js';
import { parseDigest, repositoryParam, requestScope, type RequestContext } from '../context.js';
import { sendBody } from '../send-body.js';

/** A GET without Range: the whole blob, or a redirect to the object store when it offers one. */
const WHOLE_OR_REDIRECT: BlobRead = { redirect: true };

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
  const { size } = await ctx.registry.blobs.stat(repository, digest, requestScope(ctx));
  blobHeaders(ctx, digest.toString());
  ctx.reply.header('Content-Length', size).code(200).send();
}

/**
 * One call to the registry: one lookup of the repository's link, and on a cache miss one upstream
 * request (a Range needs the size first, so there the cache asks the upstream for it).
 */
export async function getBlob(ctx: RequestContext): Promise<void> {
  const repository = repositoryParam(ctx);
  const digest = parseDigest(ctx.params.digest);
  const header = ctx.request.headers.range;
  const read = header === undefined ? WHOLE_OR_REDIRECT : { redirect: true, range: (size: number) => byteRange(header, size) };
  const content = await ctx.registry.blobs.open(repository, digest, read, requestScope(ctx));
  if ('location' in content) {
    // The object store serves the bytes (and any Range) itself.
    ctx.reply.code(307).header('Location', content.location).header('Docker-Content-Digest', digest.toString()).send();
    return;
  }
  blobHeaders(ctx, digest.toString());
  const { size, range } = content;
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

/** The Range header's one range within the blob; undefined (the whole blob) for one it ignores. */
function byteRange(header: string, size: number): ByteRange | undefined {
  const range = parseRangeHeader(header, size);
  if (range === 'unsatisfiable') {
    throw new RegistryError('RANGE_INVALID', { size, range: header }, { headers: { 'Content-Range': `bytes */${size}` } });
  }
  return range;
}

export async function deleteBlob(ctx: RequestContext): Promise<void> {
  const repository = repositoryParam(ctx);
  await ctx.registry.blobs.delete(repository, parseDigest(ctx.params.digest), ctx);
  ctx.reply.code(202).header('Content-Length', 0).send();
}
