// Manifests: GET, HEAD, PUT and DELETE /v2/<name>/manifests/<reference>.
import { RegistryError } from '../../errors/index.js';
import { isValidTag } from '../../oci/index.js';
import type { Reference, StoredManifest } from '../../registry/index.js';
import {
  acceptedTypes,
  contentType,
  location,
  parseReference,
  readBody,
  repositoryParam,
  requestScope,
  type RequestContext,
} from '../context.js';

function manifestHeaders(ctx: RequestContext, manifest: StoredManifest): void {
  const digest = manifest.digest.toString();
  ctx.reply
    .header('Content-Type', manifest.mediaType)
    .header('Docker-Content-Digest', digest)
    .header('ETag', `"${digest}"`)
    .header('Content-Length', manifest.size);
}

/**
 * The reference of a GET, HEAD or DELETE. One that is neither a digest nor a valid tag names no
 * manifest: 404 MANIFEST_UNKNOWN, as Distribution answers (its route does not match such a
 * reference) and the OCI conformance suite expects of `.INVALID_MANIFEST_NAME`. A PUT to it
 * stays 400 TAG_INVALID: there the client asked to create that tag. A malformed digest is 400
 * DIGEST_INVALID either way.
 */
function existingReference(ctx: RequestContext, repository: string): Reference {
  const value = ctx.params.reference ?? '';
  if (!value.includes(':') && !isValidTag(value)) {
    throw new RegistryError('MANIFEST_UNKNOWN', { repository, reference: value.slice(0, 300) });
  }
  return parseReference(value);
}

export async function headManifest(ctx: RequestContext): Promise<void> {
  const repository = repositoryParam(ctx);
  const reference = existingReference(ctx, repository);
  const manifest = await ctx.registry.manifests.describe(repository, reference, acceptedTypes(ctx), requestScope(ctx));
  manifestHeaders(ctx, manifest);
  ctx.reply.code(200).send();
}

export async function getManifest(ctx: RequestContext): Promise<void> {
  const repository = repositoryParam(ctx);
  const reference = existingReference(ctx, repository);
  const manifest = await ctx.registry.manifests.get(repository, reference, acceptedTypes(ctx), requestScope(ctx));
  manifestHeaders(ctx, manifest);
  ctx.reply.code(200).send(manifest.bytes);
}

export async function putManifest(ctx: RequestContext): Promise<void> {
  const repository = repositoryParam(ctx);
  ctx.registry.assertPushable(repository);
  const reference = parseReference(ctx.params.reference ?? '');
  const extraTags = ctx.query.getAll('tag');
  if (extraTags.length > ctx.options.maxTagsPerPush) {
    throw new RegistryError(
      'TAG_INVALID',
      { tags: extraTags.length, maximum: ctx.options.maxTagsPerPush },
      {
        message: `at most ${ctx.options.maxTagsPerPush} tags per manifest push`,
      },
    );
  }
  const badTag = extraTags.find((tag) => !isValidTag(tag));
  if (badTag !== undefined) throw new RegistryError('TAG_INVALID', { tag: badTag.slice(0, 300) });
  const bytes = await readBody(ctx, ctx.options.manifestMaxBytes);
  const stored = await ctx.registry.manifests.put({
    repository,
    reference,
    bytes,
    contentType: contentType(ctx),
    extraTags,
    scope: ctx,
  });
  const digest = stored.digest.toString();
  ctx.reply
    .code(201)
    .header('Location', location(ctx, `/v2/${repository}/manifests/${digest}`))
    .header('Docker-Content-Digest', digest)
    .header('Content-Length', 0);
  if (stored.manifest.subject) ctx.reply.header('OCI-Subject', stored.manifest.subject.digest.toString());
  // One OCI-Tag header line per tag (an array becomes several lines, not one overwritten).
  if (extraTags.length > 0) ctx.reply.header('OCI-Tag', extraTags);
  ctx.reply.send();
}

export async function deleteManifest(ctx: RequestContext): Promise<void> {
  const repository = repositoryParam(ctx);
  await ctx.registry.manifests.delete(repository, existingReference(ctx, repository), ctx);
  ctx.reply.code(202).header('Content-Length', 0).send();
}
