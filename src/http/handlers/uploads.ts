// Blob uploads: POST (start, monolithic, or mount), PATCH (chunk), PUT (complete), GET (status)
// and DELETE (cancel) under /v2/<name>/blobs/uploads/.
import { RegistryError } from '../../errors/index.js';
import { parseContentRange, type Digest, type RepositoryName } from '../../oci/index.js';
import { rangeHeaderValue, type ChunkOptions, type UploadStatus } from '../../registry/index.js';
import { hasBody, location, parseDigest, parseName, repositoryParam, type RequestContext } from '../context.js';
import { bodyChunks } from '../body-chunks.js';
import { bodyLimitsOf } from '../body-limits.js';

function uploadPath(status: UploadStatus): string {
  return `/v2/${status.repository}/blobs/uploads/${status.id}`;
}

/** 202 with where to send the next chunk and how much has arrived. */
function sendUploadAccepted(ctx: RequestContext, status: UploadStatus, code: 202 | 204): void {
  ctx.reply
    .code(code)
    .header('Location', location(ctx, uploadPath(status)))
    .header('Docker-Upload-UUID', status.id)
    .header('Range', rangeHeaderValue(status.size))
    .header('Content-Length', 0)
    .send();
}

function sendBlobCreated(ctx: RequestContext, repository: RepositoryName, digest: string): void {
  ctx.reply
    .code(201)
    .header('Location', location(ctx, `/v2/${repository}/blobs/${digest}`))
    .header('Docker-Content-Digest', digest)
    .header('Content-Length', 0)
    .send();
}

/** Largest chunk with Content-Range but no Content-Length that is checked in memory. */
const maxUnframedChunk = 16 * 1024 * 1024;

/**
 * The chunk's body and declared range. A chunk whose length is known only at its end (chunked
 * transfer encoding with a Content-Range) is collected and checked before anything is
 * appended, so a refused chunk never grows the upload.
 */
function chunkOf(ctx: RequestContext): { body: AsyncIterable<Uint8Array>; options: ChunkOptions } {
  const header = ctx.request.headers['content-range'];
  if (header === undefined)
    return { body: bodyChunks(ctx.request.raw), options: { signal: ctx.signal, caller: ctx.caller, ...declaredLength(ctx) } };
  const range = parseContentRange(header);
  if (!range) throw new RegistryError('BLOB_UPLOAD_INVALID', { contentRange: header.slice(0, 100) });
  const declared = range.end - range.start + 1;
  const length = ctx.request.headers['content-length'];
  if (length !== undefined && Number(length) !== declared) {
    throw new RegistryError('SIZE_INVALID', { contentRange: header.slice(0, 100), contentLength: length });
  }
  if (length === undefined && declared > maxUnframedChunk) {
    throw new RegistryError('BLOB_UPLOAD_INVALID', {
      contentRange: header.slice(0, 100),
      reason: `a chunk over ${maxUnframedChunk} bytes needs a Content-Length`,
    });
  }
  const body = length === undefined ? exactly(ctx, declared, header) : bodyChunks(ctx.request.raw);
  return { body, options: { range, signal: ctx.signal, caller: ctx.caller, ...declaredLength(ctx) } };
}

/** The body's Content-Length, when the request gives a valid one (quotas judge uploads by it). */
function declaredLength(ctx: RequestContext): { length?: number } {
  const header = ctx.request.headers['content-length'];
  const length = header === undefined ? Number.NaN : Number(header);
  return Number.isSafeInteger(length) && length >= 0 ? { length } : {};
}

/**
 * Yields the body only once it has arrived whole and is exactly `expected` bytes long. What it
 * holds meanwhile is reserved from the request memory budget, and released as it is handed on.
 */
async function* exactly(ctx: RequestContext, expected: number, contentRange: string): AsyncIterable<Uint8Array> {
  const limits = bodyLimitsOf(ctx.request.raw);
  const parts: Buffer[] = [];
  let received = 0;
  try {
    for await (const part of bodyChunks(ctx.request.raw)) {
      received += part.length;
      if (received > expected) break;
      limits?.reserve(part.length);
      parts.push(part);
    }
    if (received !== expected) {
      throw new RegistryError('SIZE_INVALID', { contentRange: contentRange.slice(0, 100), received });
    }
    for (let part = parts.shift(); part !== undefined; part = parts.shift()) {
      limits?.release(part.length);
      yield part;
    }
  } finally {
    for (const part of parts) limits?.release(part.length);
  }
}

export async function startUpload(ctx: RequestContext): Promise<void> {
  const repository = repositoryParam(ctx);
  ctx.registry.assertPushable(repository);
  const mount = ctx.query.get('mount');
  const from = ctx.query.get('from');
  if (mount !== null && from !== null) {
    const digest = parseDigest(mount);
    const source = parseName(from);
    // A mount reads the source repository: without pull there, it silently becomes an ordinary
    // upload, so the answer does not reveal what the source holds.
    const mounted = (await ctx.access.mayPull(source)) && (await ctx.registry.blobs.mount(repository, source, digest, ctx));
    if (mounted) return sendBlobCreated(ctx, repository, digest.toString());
    // Not mountable: fall through to an ordinary upload, as the spec asks.
  }
  const monolithicDigest = ctx.query.get('digest');
  const digest = monolithicDigest === null ? undefined : parseDigest(monolithicDigest);
  const status = await ctx.registry.uploads.start(repository);
  if (digest) {
    const body = hasBody(ctx) ? bodyChunks(ctx.request.raw) : undefined;
    try {
      const blob = await ctx.registry.uploads.complete(repository, status.id, digest, body, {
        signal: ctx.signal,
        caller: ctx.caller,
        ...declaredLength(ctx),
      });
      return sendBlobCreated(ctx, repository, blob.digest.toString());
    } catch (error) {
      // The client never learnt this upload's id, so it cannot resume it: drop the bytes now
      // rather than leave them to the purge (on a full disk they would block every push).
      await ctx.registry.uploads.cancel(repository, status.id).catch(() => undefined);
      throw error;
    }
  }
  sendUploadAccepted(ctx, status, 202);
}

export async function patchUpload(ctx: RequestContext): Promise<void> {
  const repository = repositoryParam(ctx);
  const { body, options } = chunkOf(ctx);
  const status = await ctx.registry.uploads.append(repository, ctx.params.uuid ?? '', body, options);
  sendUploadAccepted(ctx, status, 202);
}

export async function putUpload(ctx: RequestContext): Promise<void> {
  const repository = repositoryParam(ctx);
  const id = ctx.params.uuid ?? '';
  let digest: Digest;
  let chunk: ReturnType<typeof chunkOf>;
  try {
    digest = parseDigest(ctx.query.get('digest'));
    chunk = chunkOf(ctx);
  } catch (error) {
    // An unknown upload is reported as such before a bad digest or range. Only here: complete()
    // checks the session itself, so a good request reads it (and stats the bytes) once.
    await ctx.registry.uploads.status(repository, id);
    throw error;
  }
  const body = hasBody(ctx) ? chunk.body : undefined;
  const blob = await ctx.registry.uploads.complete(repository, id, digest, body, chunk.options);
  sendBlobCreated(ctx, repository, blob.digest.toString());
}

export async function getUploadStatus(ctx: RequestContext): Promise<void> {
  const repository = repositoryParam(ctx);
  const status = await ctx.registry.uploads.status(repository, ctx.params.uuid ?? '');
  sendUploadAccepted(ctx, status, 204);
}

export async function cancelUpload(ctx: RequestContext): Promise<void> {
  const repository = repositoryParam(ctx);
  await ctx.registry.uploads.cancel(repository, ctx.params.uuid ?? '');
  ctx.reply.code(204).send();
}
