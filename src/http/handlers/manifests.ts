// Manifests: GET, HEAD and PUT /v2/<name>/manifests/<reference>.
import { RegistryError } from '../../errors/index.js';
import { isValidTag } from '../../oci/index.js';
import type { StoredManifest } from '../../registry/index.js';
import {
  acceptedTypes,
  contentType,
  location,
  parseReference,
  readBody,
  repositoryParam,
  type RequestContext,
} from '../context.js';
import { assertHosted, contentSource } from '../content-source.js';

function manifestHeaders(ctx: RequestContext, manifest: StoredManifest): void {
  const digest = manifest.digest.toString();
  ctx.reply
    .header('Content-Type', manifest.mediaType)
    .header('Docker-Content-Digest', digest)
    .header('ETag', `"${digest}"`)
    .header('Content-Length', manifest.size);
}

export async function headManifest(ctx: RequestContext): Promise<void> {
  const repository = repositoryParam(ctx);
  const reference = parseReference(ctx.params.reference ?? '');
  const manifest = await contentSource(ctx).describeManifest(repository, reference, acceptedTypes(ctx));
  manifestHeaders(ctx, manifest);
  ctx.reply.code(200).send();
}

export async function getManifest(ctx: RequestContext): Promise<void> {
  const repository = repositoryParam(ctx);
  const reference = parseReference(ctx.params.reference ?? '');
  const manifest = await contentSource(ctx).getManifest(repository, reference, acceptedTypes(ctx));
  manifestHeaders(ctx, manifest);
  ctx.reply.code(200).send(manifest.bytes);
}

export async function putManifest(ctx: RequestContext): Promise<void> {
  const repository = repositoryParam(ctx);
  assertHosted(ctx, repository);
  const reference = parseReference(ctx.params.reference ?? '');
  const extraTags = ctx.query.getAll('tag');
  if (extraTags.length > ctx.options.maxTagsPerPush) {
    throw new RegistryError('TAG_INVALID', { tags: extraTags.length, maximum: ctx.options.maxTagsPerPush }, {
      message: `at most ${ctx.options.maxTagsPerPush} tags per manifest push`,
    });
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
  await ctx.registry.manifests.delete(repository, parseReference(ctx.params.reference ?? ''));
  ctx.reply.code(202).header('Content-Length', 0).send();
}
