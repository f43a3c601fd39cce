// Multipart operations the driver and its writers share: the parts of an upload, server-side
// copies of whole objects into parts, completing an unfinished upload in place, listing and
// aborting uploads, and deleting objects in batches.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  UploadPartCopyCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { StorageError } from '../../errors/storage.js';
import { MAX_PARTS, MAX_PART_SIZE, MIN_PART_SIZE, copySource, encryption, sendOptions, type S3Context } from './s3-context.js';
import { isNotFound } from './s3-errors.js';
import type { UnfinishedUpload } from './unfinished-upload.js';

/** DeleteObjects takes at most 1000 keys. */
const DELETE_BATCH = 1000;

/** Starts a multipart upload and returns its id. */
export async function createUpload(context: S3Context, objectKey: string, signal?: AbortSignal): Promise<string> {
  const created = await context.client.send(
    new CreateMultipartUploadCommand({ Bucket: context.bucket, Key: objectKey, ...encryption(context) }),
    sendOptions(signal),
  );
  if (created.UploadId === undefined) {
    throw new Error('CreateMultipartUpload returned no UploadId');
  }
  return created.UploadId;
}

/**
 * Parts 1..count of an upload, checked against what the tail recorded: every number present
 * and the sizes adding up to partsSize. Parts past count (left by a writer that died before
 * it wrote its tail) are not returned. Copied parts take the ETag the tail recorded.
 */
export async function uploadedParts(
  context: S3Context,
  key: string,
  objectKey: string,
  upload: Pick<UnfinishedUpload, 'uploadId' | 'parts' | 'partsSize' | 'copiedETags'>,
): Promise<CompletedPart[]> {
  if (upload.uploadId === undefined || upload.parts === 0) {
    return [];
  }
  const found = new Map<number, { etag: string; size: number }>();
  let marker: string | undefined;
  do {
    const page = await context.client.send(
      new ListPartsCommand({
        Bucket: context.bucket,
        Key: objectKey,
        UploadId: upload.uploadId,
        ...(marker === undefined ? {} : { PartNumberMarker: marker }),
      }),
    );
    for (const part of page.Parts ?? []) {
      if (part.PartNumber !== undefined && part.ETag !== undefined && part.PartNumber <= upload.parts) {
        found.set(part.PartNumber, { etag: part.ETag, size: part.Size ?? 0 });
      }
    }
    const next = page.NextPartNumberMarker;
    marker = page.IsTruncated === true && next !== undefined && next !== marker ? next : undefined;
  } while (marker !== undefined);

  const parts: CompletedPart[] = [];
  let size = 0;
  for (let number = 1; number <= upload.parts; number += 1) {
    const part = found.get(number);
    if (part === undefined) {
      throw damaged(context, key, `part ${number} of ${upload.parts} is missing`);
    }
    parts.push({ PartNumber: number, ETag: upload.copiedETags.get(number) ?? part.etag });
    size += part.size;
  }
  if (size !== upload.partsSize) {
    throw damaged(context, key, `its parts hold ${size} bytes, not ${upload.partsSize}`);
  }
  return parts;
}

/**
 * Copies a whole object into parts first, first+1, ... of an upload, server-side, in ranges
 * of at most 5 GiB (S3's limit for one part). The object must be at least 5 MiB unless it
 * becomes the last part.
 */
export async function copyIntoParts(
  context: S3Context,
  target: { objectKey: string; uploadId: string; firstPart: number },
  source: { objectKey: string; size: number },
  partSize = MAX_PART_SIZE,
  signal?: AbortSignal,
): Promise<CompletedPart[]> {
  const ranges = copyRanges(source.size, partSize);
  if (target.firstPart + ranges.length - 1 > MAX_PARTS) {
    throw new Error(`an upload has at most ${MAX_PARTS} parts`);
  }
  const parts: CompletedPart[] = [];
  for (const [index, [start, end]] of ranges.entries()) {
    const number = target.firstPart + index;
    const copied = await context.client.send(
      new UploadPartCopyCommand({
        Bucket: context.bucket,
        Key: target.objectKey,
        UploadId: target.uploadId,
        PartNumber: number,
        CopySource: copySource(context, source.objectKey),
        // A single part of the whole object needs no range; an empty object allows none.
        ...(ranges.length === 1 ? {} : { CopySourceRange: `bytes=${start}-${end}` }),
      }),
      sendOptions(signal),
    );
    const etag = copied.CopyPartResult?.ETag;
    if (etag === undefined) {
      throw new Error('UploadPartCopy returned no ETag');
    }
    parts.push({ PartNumber: number, ETag: etag });
  }
  return parts;
}

/**
 * Inclusive byte ranges of at most partSize covering size bytes, none of them below S3's
 * minimum part size (more parts may follow the copy, so even the last one must be a full
 * part): a short remainder joins the range before it, or takes the minimum from it.
 */
export function copyRanges(size: number, partSize: number): Array<[number, number]> {
  const lengths: number[] = [];
  for (let left = size; left > 0 || lengths.length === 0; left -= partSize) {
    lengths.push(Math.min(left, partSize));
  }
  const last = lengths.length - 1;
  const remainder = lengths[last] ?? 0;
  const previous = lengths[last - 1];
  if (previous !== undefined && remainder < MIN_PART_SIZE) {
    if (previous + remainder <= MAX_PART_SIZE) {
      lengths.splice(last - 1, 2, previous + remainder);
    } else {
      lengths.splice(last - 1, 2, previous + remainder - MIN_PART_SIZE, MIN_PART_SIZE);
    }
  }
  let start = 0;
  return lengths.map((length) => {
    const range: [number, number] = [start, start + length - 1];
    start += length;
    return range;
  });
}

/** Completes an upload with the given parts, in order. */
export async function completeUpload(
  context: S3Context,
  objectKey: string,
  uploadId: string,
  parts: readonly CompletedPart[],
): Promise<void> {
  await context.client.send(
    new CompleteMultipartUploadCommand({
      Bucket: context.bucket,
      Key: objectKey,
      UploadId: uploadId,
      MultipartUpload: { Parts: [...parts] },
    }),
  );
}

/**
 * Makes unfinished content an ordinary object at its key, server-side: the tail becomes the
 * last part (copied, not downloaded) and the upload is completed. Used when unfinished
 * content with full parts must be read or moved, which S3 cannot do with parts.
 */
export async function completeUnfinished(context: S3Context, key: string, upload: UnfinishedUpload): Promise<void> {
  const objectKey = context.keys.object(key);
  const tailKey = context.keys.tail(key);
  if (upload.uploadId === undefined) {
    throw new Error('only content with parts needs completing');
  }
  const parts = await uploadedParts(context, key, objectKey, upload);
  if (upload.tailSize > 0) {
    parts.push(
      ...(await copyIntoParts(
        context,
        { objectKey, uploadId: upload.uploadId, firstPart: upload.parts + 1 },
        { objectKey: tailKey, size: upload.tailSize },
      )),
    );
  }
  await completeUpload(context, objectKey, upload.uploadId, parts);
  await deleteObjects(context, key, [tailKey]);
}

/**
 * Aborts every multipart upload whose object key satisfies accept, among those starting
 * with prefix: uploads of writers that died, or of content that is being removed.
 */
export async function abortUploads(
  context: S3Context,
  prefix: string,
  accept: (objectKey: string) => boolean,
  signal?: AbortSignal,
): Promise<number> {
  let aborted = 0;
  for await (const upload of listUploads(context, prefix, signal)) {
    if (accept(upload.objectKey)) {
      await abortUpload(context, upload.objectKey, upload.uploadId);
      aborted += 1;
    }
  }
  return aborted;
}

/** A multipart upload in progress, as ListMultipartUploads reports it. */
export interface ListedUpload {
  readonly objectKey: string;
  readonly uploadId: string;
  readonly initiated: Date | undefined;
}

/** Every multipart upload in progress whose object key starts with prefix, page by page. */
export async function* listUploads(context: S3Context, prefix: string, signal?: AbortSignal): AsyncGenerator<ListedUpload> {
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await context.client.send(
      new ListMultipartUploadsCommand({
        Bucket: context.bucket,
        Prefix: prefix,
        ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker }),
        ...(uploadIdMarker === undefined ? {} : { UploadIdMarker: uploadIdMarker }),
      }),
      sendOptions(signal),
    );
    for (const upload of page.Uploads ?? []) {
      if (upload.Key !== undefined && upload.UploadId !== undefined) {
        yield { objectKey: upload.Key, uploadId: upload.UploadId, initiated: upload.Initiated };
      }
    }
    if (page.IsTruncated !== true || page.NextKeyMarker === undefined) {
      return;
    }
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
}

/** Aborts one upload; one that is already gone is fine. */
export async function abortUpload(context: S3Context, objectKey: string, uploadId: string): Promise<void> {
  try {
    await context.client.send(new AbortMultipartUploadCommand({ Bucket: context.bucket, Key: objectKey, UploadId: uploadId }));
  } catch (error) {
    if (!isNotFound(error)) {
      throw error;
    }
  }
}

/** Deletes objects in batches; deleting an object that does not exist is not an error in S3. */
export async function deleteObjects(context: S3Context, key: string, objectKeys: readonly string[], signal?: AbortSignal): Promise<void> {
  for (let start = 0; start < objectKeys.length; start += DELETE_BATCH) {
    const batch = objectKeys.slice(start, start + DELETE_BATCH);
    const result = await context.client.send(
      new DeleteObjectsCommand({
        Bucket: context.bucket,
        Delete: { Objects: batch.map((objectKey) => ({ Key: objectKey })), Quiet: true },
      }),
      sendOptions(signal),
    );
    const failed = (result.Errors ?? []).filter((error) => error.Code !== 'NoSuchKey');
    if (failed.length > 0) {
      const first = failed[0];
      throw new StorageError(
        `${context.name}: delete failed for "${key}" (${failed.length} objects, first: ${first?.Code ?? 'unknown'})`,
        context.name,
        key,
      );
    }
  }
}

/** Copies an object larger than one CopyObject allows, as a multipart upload of part copies. */
export async function copyLargeObject(
  context: S3Context,
  source: string,
  destination: string,
  size: number,
  partSize: number,
  signal?: AbortSignal,
): Promise<void> {
  const uploadId = await createUpload(context, destination, signal);
  try {
    const parts = await copyIntoParts(
      context,
      { objectKey: destination, uploadId, firstPart: 1 },
      { objectKey: source, size },
      partSize,
      signal,
    );
    await completeUpload(context, destination, uploadId, parts);
  } catch (error) {
    await abortUpload(context, destination, uploadId).catch(() => undefined);
    throw error;
  }
}

function damaged(context: S3Context, key: string, why: string): StorageError {
  return new StorageError(`${context.name}: the unfinished content of "${key}" is damaged: ${why}`, context.name, key);
}
