// The S3 storage driver: each key is an object below an optional root prefix in one bucket of
// any S3-compatible service (AWS S3, Ceph RGW, MinIO, Swift's s3api), through the AWS SDK v3.
// Content is streamed in both directions (ranged GETs; multipart uploads through S3Writer),
// so memory per call stays bounded whatever the size. Prefixes are "directories": a key is a
// directory when objects exist below "key/".
//
// Unfinished content (closed, not committed writers) lives in a multipart upload plus a tail
// sidecar (unfinished-upload.ts). The rule that keeps it consistent: when an object and a
// tail both exist at a key (only after a crash between two steps), the object wins. A
// replacing writer (append=false) changes nothing at its key before commit() or close().
import { Readable, addAbortSignal } from 'node:stream';
import {
  CopyObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type HeadObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { InvalidOffsetError, PathNotFoundError } from '../../errors/storage.js';
import type {
  CallOptions,
  ReadOptions,
  StatInfo,
  StorageDriver,
  StorageWriter,
  WriterOptions,
} from '../driver.js';
import { assertValidKey, assertValidPrefix } from '../keys.js';
import { UNBOUNDED_MEMORY, type MemoryBudget } from '../memory-budget.js';
import { abortUploads, completeUnfinished, copyLargeObject, deleteObjects } from './multipart.js';
import { ObjectKeys } from './object-keys.js';
import { createS3Client } from './s3-client.js';
import {
  MAX_PART_SIZE,
  MIN_PART_SIZE,
  MiB,
  bodyStream,
  copySource,
  encryption,
  md5,
  sendOptions,
  type S3Context,
} from './s3-context.js';
import { isInvalidRange, isNotFound, toStorageError, toWriteError } from './s3-errors.js';
import { S3Writer, readTailState, type TailState, type WriterBase } from './s3-writer.js';
import { parseTail, unfinishedSize, type UnfinishedUpload } from './unfinished-upload.js';

/** Part size when none is configured: Distribution's default. */
export const DEFAULT_CHUNK_SIZE = 10 * MiB;

/** Lifetime of a pre-signed URL when none is asked for: Distribution's default of 20 minutes. */
export const DEFAULT_REDIRECT_EXPIRY_SECONDS = 20 * 60;

/** Parts of a server-side copy of an object too large for one CopyObject. */
const COPY_PART_SIZE = 1024 * MiB;

export interface S3DriverOptions {
  readonly bucket: string;
  readonly region: string;
  /** Distribution's regionendpoint: the URL of a non-AWS service, e.g. "http://127.0.0.1:7480". */
  readonly endpoint?: string;
  /** Address buckets as http://host/bucket rather than http://bucket.host (most non-AWS services). */
  readonly forcePathStyle?: boolean;
  /** Without both keys, the SDK's default chain (AWS_* variables, profiles, instance roles) applies. */
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  /** Key prefix of everything stored ("/registry" and "registry" are the same). */
  readonly rootDirectory?: string;
  /** Multipart part size in bytes: at least 5 MiB (S3's minimum), default 10 MiB. */
  readonly chunkSize?: number;
  /** Server-side encryption (SSE-S3, AES256) of everything written. */
  readonly encrypt?: boolean;
  /** Whether blob GETs may be answered with a redirect to presignedGetUrl(). */
  readonly redirect?: boolean;
  /**
   * What writers reserve their part buffers from (the server's request memory budget); a write
   * that does not fit fails with StorageBusyError. Default: no bound.
   */
  readonly memory?: MemoryBudget | undefined;
}

export class S3Driver implements StorageDriver {
  readonly name = 's3';
  /** Whether the registry may redirect blob GETs to presignedGetUrl() (storage.redirect). */
  readonly redirect: boolean;
  readonly #context: S3Context;

  constructor(options: S3DriverOptions) {
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isSafeInteger(chunkSize) || chunkSize < MIN_PART_SIZE || chunkSize > MAX_PART_SIZE) {
      throw new RangeError(`s3: chunkSize must be an integer from ${MIN_PART_SIZE} to ${MAX_PART_SIZE}, got ${chunkSize}`);
    }
    if ((options.accessKeyId === undefined) !== (options.secretAccessKey === undefined)) {
      throw new Error('s3: give both accessKeyId and secretAccessKey, or neither');
    }
    if (options.bucket === '') {
      throw new Error('s3: bucket must not be empty');
    }
    this.redirect = options.redirect ?? false;
    this.#context = {
      name: this.name,
      client: createS3Client(options),
      bucket: options.bucket,
      keys: new ObjectKeys(options.rootDirectory),
      chunkSize,
      encrypt: options.encrypt ?? false,
      memory: options.memory ?? UNBOUNDED_MEMORY,
    };
  }

  /** Closes the client's connections; the driver cannot be used afterwards. */
  destroy(): void {
    this.#context.client.destroy();
  }

  async stat(key: string, options: CallOptions = {}): Promise<StatInfo> {
    assertValidKey(this.name, key);
    const signal = options.signal;
    signal?.throwIfAborted();
    try {
      const object = await this.#head(this.#keys.object(key), signal);
      if (object !== undefined) {
        return { key, size: object.ContentLength ?? 0, modifiedAt: object.LastModified ?? new Date(0), isDirectory: false };
      }
      const [unfinished, child] = await Promise.all([this.#unfinished(key, signal), this.#firstBelow(key, signal)]);
      if (unfinished !== undefined) {
        return { key, size: unfinishedSize(unfinished), modifiedAt: unfinished.modifiedAt, isDirectory: false };
      }
      if (child !== undefined) {
        return { key, size: 0, modifiedAt: child, isDirectory: true };
      }
    } catch (error) {
      throw toStorageError(this.name, key, 'stat', error);
    }
    throw new PathNotFoundError(this.name, key);
  }

  async getContent(key: string, options: CallOptions = {}): Promise<Buffer> {
    assertValidKey(this.name, key);
    options.signal?.throwIfAborted();
    const stream = await this.#read(key, 0, undefined, options.signal);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of stream) {
        chunks.push(chunk as Buffer);
      }
    } catch (error) {
      throw toStorageError(this.name, key, 'read', error);
    }
    return Buffer.concat(chunks);
  }

  async putContent(key: string, content: Uint8Array, options: CallOptions = {}): Promise<void> {
    assertValidKey(this.name, key);
    options.signal?.throwIfAborted();
    // A view of exactly the bytes the caller's Uint8Array covers, without copying them.
    const body = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
    try {
      await this.#context.client.send(
        new PutObjectCommand({
          Bucket: this.#context.bucket,
          Key: this.#keys.object(key),
          Body: body,
          ContentLength: body.byteLength,
          ContentMD5: md5(body),
          ...encryption(this.#context),
        }),
        sendOptions(options.signal),
      );
    } catch (error) {
      throw toWriteError(this.name, key, 'write', error);
    }
  }

  async reader(key: string, options: ReadOptions = {}): Promise<Readable> {
    assertValidKey(this.name, key);
    const offset = options.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new InvalidOffsetError(this.name, key, offset);
    }
    const length = options.length;
    if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
      throw new RangeError(`${this.name}: invalid read length ${length} for "${key}"`);
    }
    options.signal?.throwIfAborted();
    if (length === 0) {
      // No byte range can say "none", so check the offset against the size instead.
      const info = await this.stat(key, options);
      if (info.isDirectory) {
        throw new PathNotFoundError(this.name, key);
      }
      if (offset > info.size) {
        throw new InvalidOffsetError(this.name, key, offset);
      }
      return Readable.from([]);
    }
    return this.#read(key, offset, length, options.signal);
  }

  async writer(key: string, options: WriterOptions): Promise<StorageWriter> {
    assertValidKey(this.name, key);
    const signal = options.signal;
    signal?.throwIfAborted();
    const context = this.#context;
    let base: WriterBase;
    if (options.append) {
      base = await this.#continuable(key, signal);
    } else {
      // Nothing is removed now: until this writer commits or closes, the key shows what it
      // holds (readers may be pulling it), and uploads at the key may be other live writers'.
      // Only the tail of unfinished content is noted, so that commit() or close() can remove
      // it and its upload if they are still the ones replaced.
      let replaced: TailState | undefined;
      try {
        replaced = await readTailState(context, key, signal);
      } catch (error) {
        throw toWriteError(this.name, key, 'open', error);
      }
      base = { kind: 'empty', replaced };
    }
    return new S3Writer({ context, key, base, signal });
  }

  async list(prefix: string, options: CallOptions = {}): Promise<string[]> {
    assertValidPrefix(this.name, prefix);
    const signal = options.signal;
    signal?.throwIfAborted();
    const children = new Set<string>();
    let listedAnything = false;
    let token: string | undefined;
    try {
      do {
        const page = await this.#context.client.send(
          new ListObjectsV2Command({
            Bucket: this.#context.bucket,
            Prefix: this.#keys.below(prefix),
            Delimiter: '/',
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
          sendOptions(signal),
        );
        const listed = [
          ...(page.Contents ?? []).map((object) => object.Key),
          ...(page.CommonPrefixes ?? []).map((common) => common.Prefix),
        ];
        for (const name of listed) {
          if (name === undefined) continue;
          listedAnything = true;
          const child = this.#keys.childOf(prefix, name);
          if (child !== undefined) children.add(child);
        }
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (error) {
      throw toStorageError(this.name, prefix, 'list', error);
    }
    if (!listedAnything && prefix !== '') {
      throw new PathNotFoundError(this.name, prefix);
    }
    return [...children].sort();
  }

  async move(sourceKey: string, destinationKey: string, options: CallOptions = {}): Promise<void> {
    assertValidKey(this.name, sourceKey);
    assertValidKey(this.name, destinationKey);
    const signal = options.signal;
    signal?.throwIfAborted();
    const source = this.#keys.object(sourceKey);
    const destination = this.#keys.object(destinationKey);
    let object: HeadObjectCommandOutput;
    try {
      object = await this.#readableObject(sourceKey, signal);
    } catch (error) {
      throw toStorageError(this.name, sourceKey, 'move', error);
    }
    if (sourceKey === destinationKey) {
      return; // as a rename onto itself: nothing to do
    }
    const size = object.ContentLength ?? 0;
    try {
      if (size <= MAX_PART_SIZE) {
        // One atomic server-side copy; the destination is replaced whole or not at all.
        await this.#context.client.send(
          new CopyObjectCommand({
            Bucket: this.#context.bucket,
            Key: destination,
            CopySource: copySource(this.#context, source),
            ...encryption(this.#context),
          }),
          sendOptions(signal),
        );
      } else {
        await copyLargeObject(this.#context, source, destination, size, COPY_PART_SIZE, signal);
      }
    } catch (error) {
      if (isNotFound(error)) {
        // The source vanished between the HEAD and the copy.
        throw new PathNotFoundError(this.name, sourceKey, { cause: error });
      }
      throw toWriteError(this.name, destinationKey, 'move', error);
    }
    try {
      // The destination's own unfinished content, if any, is replaced too.
      await deleteObjects(this.#context, sourceKey, [source, this.#keys.tail(sourceKey), this.#keys.tail(destinationKey)]);
    } catch (error) {
      throw toWriteError(this.name, sourceKey, 'move', error);
    }
  }

  async delete(key: string, options: CallOptions = {}): Promise<void> {
    assertValidKey(this.name, key);
    const signal = options.signal;
    signal?.throwIfAborted();
    const context = this.#context;
    const own = [this.#keys.object(key), this.#keys.tail(key)];
    let found = false;
    try {
      const heads = await Promise.all(own.map((objectKey) => this.#head(objectKey, signal)));
      if (heads.some((head) => head !== undefined)) {
        found = true;
        await deleteObjects(context, key, own, signal);
      }
      // Page by page, so that a large prefix never sits in memory as one list.
      let token: string | undefined;
      do {
        const page = await context.client.send(
          new ListObjectsV2Command({
            Bucket: context.bucket,
            Prefix: this.#keys.below(key),
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
          sendOptions(signal),
        );
        const objectKeys = (page.Contents ?? []).flatMap((object) => (object.Key === undefined ? [] : [object.Key]));
        if (objectKeys.length > 0) {
          found = true;
          await deleteObjects(context, key, objectKeys, signal);
        }
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      // Unfinished uploads below the key (and of writers that died) would otherwise linger.
      await abortUploads(context, this.#keys.object(key), (objectKey) => this.#keys.isAtOrBelow(key, objectKey), signal);
    } catch (error) {
      throw toStorageError(this.name, key, 'delete', error);
    }
    if (!found) {
      throw new PathNotFoundError(this.name, key);
    }
  }

  /**
   * A URL from which anyone holding it may GET the key's content for expiresSeconds, for
   * redirecting blob downloads to the object store or a CDN in front of it (storage.redirect).
   * It is signed locally; whether the content exists is not checked.
   */
  /** storage.redirect: blob GETs go to a pre-signed URL when enabled. */
  async redirectUrl(key: string): Promise<string | undefined> {
    return this.redirect ? this.presignedGetUrl(key) : undefined;
  }

  async presignedGetUrl(key: string, expiresSeconds = DEFAULT_REDIRECT_EXPIRY_SECONDS): Promise<string> {
    assertValidKey(this.name, key);
    if (!Number.isSafeInteger(expiresSeconds) || expiresSeconds < 1 || expiresSeconds > 7 * 24 * 3600) {
      throw new RangeError(`${this.name}: expiresSeconds must be from 1 to 604800 (7 days), got ${expiresSeconds}`);
    }
    return getSignedUrl(
      this.#context.client,
      new GetObjectCommand({ Bucket: this.#context.bucket, Key: this.#keys.object(key) }),
      { expiresIn: expiresSeconds },
    );
  }

  get #keys(): ObjectKeys {
    return this.#context.keys;
  }

  /** HeadObject, or undefined when there is no such object. */
  async #head(objectKey: string, signal: AbortSignal | undefined): Promise<HeadObjectCommandOutput | undefined> {
    try {
      return await this.#context.client.send(
        new HeadObjectCommand({ Bucket: this.#context.bucket, Key: objectKey }),
        sendOptions(signal),
      );
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** The state of unfinished content at key, or undefined when it has none. */
  async #unfinished(key: string, signal: AbortSignal | undefined): Promise<UnfinishedUpload | undefined> {
    const tail = await this.#head(this.#keys.tail(key), signal);
    return tail === undefined ? undefined : parseTail(this.name, key, tail);
  }

  /** LastModified of some object below key, or undefined when key is not a prefix. */
  async #firstBelow(key: string, signal: AbortSignal | undefined): Promise<Date | undefined> {
    const page = await this.#context.client.send(
      new ListObjectsV2Command({ Bucket: this.#context.bucket, Prefix: this.#keys.below(key), MaxKeys: 1 }),
      sendOptions(signal),
    );
    const first = page.Contents?.[0];
    return first === undefined ? undefined : (first.LastModified ?? new Date(0));
  }

  /** What an append writer continues: committed content, else unfinished content. */
  async #continuable(key: string, signal: AbortSignal | undefined): Promise<WriterBase> {
    try {
      const object = await this.#head(this.#keys.object(key), signal);
      if (object !== undefined) {
        return { kind: 'object', size: object.ContentLength ?? 0 };
      }
      // The tail is smaller than a part, so reading it whole keeps memory within one part.
      const tail = await this.#context.client.send(
        new GetObjectCommand({ Bucket: this.#context.bucket, Key: this.#keys.tail(key) }),
        sendOptions(signal),
      );
      const upload = parseTail(this.name, key, tail);
      const chunks: Buffer[] = [];
      for await (const chunk of bodyStream(tail.Body)) {
        chunks.push(chunk as Buffer);
      }
      const bytes = Buffer.concat(chunks);
      if (bytes.byteLength !== upload.tailSize) {
        throw new Error(`the tail changed while it was read`);
      }
      return { kind: 'unfinished', upload, tail: bytes };
    } catch (error) {
      throw toStorageError(this.name, key, 'open', error);
    }
  }

  /**
   * HeadObject of the object holding key's content. Unfinished content with full parts is
   * completed first (server-side), because S3 cannot read or copy the parts of an upload.
   */
  async #readableObject(key: string, signal: AbortSignal | undefined): Promise<HeadObjectCommandOutput> {
    const objectKey = this.#keys.object(key);
    const object = await this.#head(objectKey, signal);
    if (object !== undefined) {
      return object;
    }
    const unfinished = await this.#unfinished(key, signal);
    if (unfinished === undefined) {
      throw new PathNotFoundError(this.name, key);
    }
    if (unfinished.parts === 0) {
      // All of it is in the tail; committing it is a copy of less than one part.
      const tailKey = this.#keys.tail(key);
      await this.#context.client.send(
        new CopyObjectCommand({
          Bucket: this.#context.bucket,
          Key: objectKey,
          CopySource: copySource(this.#context, tailKey),
          MetadataDirective: 'REPLACE',
          ...encryption(this.#context),
        }),
      );
      await deleteObjects(this.#context, key, [tailKey]);
    } else {
      await completeUnfinished(this.#context, key, unfinished);
    }
    const completed = await this.#head(objectKey, signal);
    if (completed === undefined) {
      throw new PathNotFoundError(this.name, key);
    }
    return completed;
  }

  /**
   * A stream of key's content from offset: one ranged GetObject. Unfinished content held
   * wholly in its tail is read from the tail; with full parts it is completed first.
   */
  async #read(key: string, offset: number, length: number | undefined, signal: AbortSignal | undefined): Promise<Readable> {
    const range =
      offset === 0 && length === undefined
        ? {}
        : { Range: `bytes=${offset}-${length === undefined ? '' : offset + length - 1}` };
    let objectKey = this.#keys.object(key);
    try {
      for (let attempt = 0; ; attempt += 1) {
        try {
          const object = await this.#context.client.send(
            new GetObjectCommand({ Bucket: this.#context.bucket, Key: objectKey, ...range }),
            sendOptions(signal),
          );
          const body = bodyStream(object.Body);
          return signal === undefined ? body : addAbortSignal(signal, body);
        } catch (error) {
          if (isInvalidRange(error)) {
            // The range starts at or past the end: at the end is an empty read, past it an error.
            const head = await this.#head(objectKey, signal);
            if (head === undefined) throw new PathNotFoundError(this.name, key);
            if (offset === (head.ContentLength ?? 0)) return Readable.from([]);
            throw new InvalidOffsetError(this.name, key, offset);
          }
          if (!isNotFound(error) || attempt > 0) throw error;
        }
        const unfinished = await this.#unfinished(key, signal);
        if (unfinished === undefined) {
          throw new PathNotFoundError(this.name, key);
        }
        if (unfinished.parts === 0) {
          objectKey = this.#keys.tail(key);
        } else {
          await completeUnfinished(this.#context, key, unfinished);
        }
      }
    } catch (error) {
      throw toStorageError(this.name, key, 'read', error);
    }
  }
}
