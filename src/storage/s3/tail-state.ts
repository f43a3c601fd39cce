// What a replacing writer (append=false) remembers of the unfinished content it replaces, so
// that it removes that content's tail and upload only while they are provably still the ones
// it saw at open (see s3-writer.ts): the sidecar's ETag and LastModified and the upload it names.
import { HeadObjectCommand, type HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import { sendOptions, type S3Context } from './s3-context.js';
import { isNotFound } from './s3-errors.js';
import { parseTail } from './unfinished-upload.js';

/**
 * A tail sidecar as a replacing writer saw it: enough to recognise it later as the same
 * state (ETag and LastModified of the sidecar, the upload it names).
 */
export interface TailState {
  readonly etag: string | undefined;
  readonly modifiedAt: number | undefined;
  /** The upload holding its parts; undefined without parts, or when the tail is damaged. */
  readonly uploadId: string | undefined;
}

/**
 * The state of key's tail sidecar, or undefined when it has none. A damaged tail is still
 * reported (without an upload), so that replacing content is never blocked by it.
 */
export async function readTailState(context: S3Context, key: string, signal: AbortSignal | undefined): Promise<TailState | undefined> {
  let head: HeadObjectCommandOutput;
  try {
    head = await context.client.send(new HeadObjectCommand({ Bucket: context.bucket, Key: context.keys.tail(key) }), sendOptions(signal));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  let uploadId: string | undefined;
  try {
    uploadId = parseTail(context.name, key, head).uploadId;
  } catch {
    uploadId = undefined;
  }
  return { etag: head.ETag, modifiedAt: head.LastModified?.getTime(), uploadId };
}

/** True when two readings are of the same tail: nobody wrote it in between. */
export function sameTail(a: TailState, b: TailState): boolean {
  return a.etag === b.etag && a.modifiedAt === b.modifiedAt && a.uploadId === b.uploadId;
}
