// What S3 writers that died leave behind, found and removed (StorageDriver.sweepAbandonedWrites):
// multipart uploads nobody will complete, and tail sidecars of unfinished content nobody will
// continue (unfinished-upload.ts). An upload in progress keeps both across requests on purpose
// (a writer's close() keeps them for a later append), so only the caller can say which keys are
// still live (an upload session in the index); here, beside that, only what nobody has written
// since the cutoff is touched: an upload initiated before it with no part uploaded after it, a
// tail last written before it.
import { ListObjectsV2Command, ListPartsCommand } from '@aws-sdk/client-s3';
import type { AbandonedWritesSweep, SweepOptions } from '../driver.js';
import { isValidKey } from '../keys.js';
import { abortUpload, deleteObjects, listUploads } from './multipart.js';
import { TAIL_SUFFIX } from './object-keys.js';
import { sendOptions, type S3Context } from './s3-context.js';

export async function sweepAbandonedS3Writes(
  context: S3Context,
  olderThan: Date,
  isLive: (key: string) => Promise<boolean>,
  options: SweepOptions,
): Promise<AbandonedWritesSweep> {
  const signal = options.signal;
  const dryRun = options.dryRun === true;
  const root = context.keys.below('');
  const keyOf = (objectKey: string): string | undefined => {
    const key = objectKey.slice(root.length);
    return objectKey.startsWith(root) && isValidKey(key) ? key : undefined;
  };
  let removed = 0;
  let bytes = 0;
  for await (const upload of listUploads(context, root, signal)) {
    const key = keyOf(upload.objectKey);
    if (key === undefined || upload.initiated === undefined || upload.initiated >= olderThan) continue;
    const parts = await partsOf(context, upload.objectKey, upload.uploadId, signal);
    if (parts.lastModified >= olderThan.getTime() || (await isLive(key))) continue;
    if (!dryRun) await abortUpload(context, upload.objectKey, upload.uploadId);
    removed += 1;
    bytes += parts.size;
  }
  for await (const tail of listTails(context, root, signal)) {
    const key = keyOf(tail.objectKey.slice(0, -TAIL_SUFFIX.length));
    if (key === undefined || tail.modifiedAt >= olderThan || (await isLive(key))) continue;
    if (!dryRun) await deleteObjects(context, key, [tail.objectKey], signal);
    removed += 1;
    bytes += tail.size;
  }
  return { removed, bytes };
}

/** The bytes in an upload's parts and when the last of them was uploaded (0 without parts). */
async function partsOf(
  context: S3Context,
  objectKey: string,
  uploadId: string,
  signal: AbortSignal | undefined,
): Promise<{ size: number; lastModified: number }> {
  let size = 0;
  let lastModified = 0;
  let marker: string | undefined;
  do {
    const page = await context.client.send(
      new ListPartsCommand({
        Bucket: context.bucket,
        Key: objectKey,
        UploadId: uploadId,
        ...(marker === undefined ? {} : { PartNumberMarker: marker }),
      }),
      sendOptions(signal),
    );
    for (const part of page.Parts ?? []) {
      size += part.Size ?? 0;
      lastModified = Math.max(lastModified, part.LastModified?.getTime() ?? 0);
    }
    const next = page.NextPartNumberMarker;
    marker = page.IsTruncated === true && next !== undefined && next !== marker ? next : undefined;
  } while (marker !== undefined);
  return { size, lastModified };
}

/** Every tail sidecar below the prefix (a listing of every object: GC's pace, not a request's). */
async function* listTails(
  context: S3Context,
  prefix: string,
  signal: AbortSignal | undefined,
): AsyncGenerator<{ objectKey: string; size: number; modifiedAt: Date }> {
  let token: string | undefined;
  do {
    const page = await context.client.send(
      new ListObjectsV2Command({
        Bucket: context.bucket,
        Prefix: prefix,
        ...(token === undefined ? {} : { ContinuationToken: token }),
      }),
      sendOptions(signal),
    );
    for (const object of page.Contents ?? []) {
      if (object.Key?.endsWith(TAIL_SUFFIX)) {
        yield { objectKey: object.Key, size: object.Size ?? 0, modifiedAt: object.LastModified ?? new Date(0) };
      }
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
}
