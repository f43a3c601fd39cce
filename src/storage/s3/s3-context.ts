// What the S3 driver's parts share: the client, the bucket, the key layout and the write
// settings, plus the limits S3 puts on multipart uploads.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { MemoryBudget } from '../memory-budget.js';
import type { ObjectKeys } from './object-keys.js';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** S3's smallest part, except for the last one of an upload. */
export const MIN_PART_SIZE = 5 * MiB;
/** S3's largest part, and the largest object a single CopyObject may copy. */
export const MAX_PART_SIZE = 5 * GiB;
/** S3 numbers parts from 1 to 10,000. */
export const MAX_PARTS = 10_000;

export interface S3Context {
  /** "s3": the driver's name, in every error. */
  readonly name: string;
  readonly client: S3Client;
  readonly bucket: string;
  readonly keys: ObjectKeys;
  /** Size of every part a writer uploads (the last one excepted). */
  readonly chunkSize: number;
  /** Ask for server-side encryption (SSE-S3, AES256) on everything written. */
  readonly encrypt: boolean;
  /** What writers reserve their part buffers from (the server's request memory budget). */
  readonly memory: MemoryBudget;
}

/** The ServerSideEncryption parameter of write requests, or nothing. */
export function encryption(context: S3Context): { ServerSideEncryption?: 'AES256' } {
  return context.encrypt ? { ServerSideEncryption: 'AES256' } : {};
}

/** The SDK's per-call options for a signal (the SDK then aborts the HTTP request). */
export function sendOptions(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal === undefined ? {} : { abortSignal: signal };
}

/** CopySource of CopyObject and UploadPartCopy: "bucket/key", URL-encoded per segment. */
export function copySource(context: S3Context, objectKey: string): string {
  return `${context.bucket}/${objectKey.split('/').map(encodeURIComponent).join('/')}`;
}

/** The body of a GetObject answer as the Node.js stream it is at run time. */
export function bodyStream(body: unknown): Readable {
  if (!(body instanceof Readable)) {
    throw new Error('GetObject returned no readable body');
  }
  return body;
}

/**
 * Content-MD5 of a request body: S3 refuses a body that does not match it, so bytes damaged
 * on the way are never stored.
 */
export function md5(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('base64');
}
