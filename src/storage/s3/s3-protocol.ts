// The S3 driver's protocol (driver-protocol.ts): each key is an object below an optional root
// prefix in one bucket of any S3-compatible service (AWS S3, Ceph RGW, MinIO, Swift's s3api),
// through the AWS SDK v3. S3Driver (s3-driver.ts) wraps it with key checks, signals and error
// mapping. Content is streamed in both directions (ranged GETs; multipart uploads through
// S3Writer), so memory per call stays bounded whatever the size. Prefixes are "directories": a
// key is a directory when objects exist below "key/".
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
import type { StatInfo, StorageWriter } from '../driver.js';
import type { DriverProtocol, ReadRange } from '../driver-protocol.js';
import { ErrorMapper } from '../error-mapping.js';
import { abortUploads, completeUnfinished, copyLargeObject, deleteObjects } from './multipart.js';
import type { ObjectKeys } from './object-keys.js';
import { MAX_PART_SIZE, MiB, bodyStream, copySource, encryption, md5, sendOptions, type S3Context } from './s3-context.js';
import { isInvalidRange, isNotFound, s3Errors } from './s3-errors.js';
import { S3Writer, type ContinuedContent } from './s3-writer.js';
import { readTailState } from './tail-state.js';
import { parseTail, unfinishedSize, type UnfinishedUpload } from './unfinished-upload.js';

/** Parts of a server-side copy of an object too large for one CopyObject. */
const COPY_PART_SIZE = 1024 * MiB;

export class S3Protocol implements DriverProtocol {
  readonly name: string;
  readonly errors: ErrorMapper;

  constructor(readonly context: S3Context) {
    this.name = context.name;
    this.errors = new ErrorMapper(context.name, s3Errors);
  }

  async stat(key: string, signal: AbortSignal | undefined): Promise<StatInfo> {
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
    throw new PathNotFoundError(this.name, key);
  }

  async getContent(key: string, signal: AbortSignal | undefined): Promise<Buffer> {
    const stream = await this.#read(key, 0, undefined, signal);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  async putContent(key: string, content: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    // A view of exactly the bytes the caller's Uint8Array covers, without copying them.
    const body = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
    await this.context.client.send(
      new PutObjectCommand({
        Bucket: this.context.bucket,
        Key: this.#keys.object(key),
        Body: body,
        ContentLength: body.byteLength,
        ContentMD5: md5(body),
        ...encryption(this.context),
      }),
      sendOptions(signal),
    );
  }

  async reader(key: string, range: ReadRange, signal: AbortSignal | undefined): Promise<Readable> {
    const { offset, length } = range;
    if (length === 0) {
      // No byte range can say "none", so check the offset against the size instead.
      let info: StatInfo;
      try {
        info = await this.stat(key, signal);
      } catch (error) {
        throw this.errors.read(key, 'stat', error);
      }
      if (info.isDirectory) {
        throw new PathNotFoundError(this.name, key);
      }
      if (offset > info.size) {
        throw new InvalidOffsetError(this.name, key, offset);
      }
      return Readable.from([]);
    }
    return this.#read(key, offset, length, signal);
  }

  async writer(key: string, append: boolean, signal: AbortSignal | undefined): Promise<StorageWriter> {
    let continued: ContinuedContent;
    if (append) {
      continued = await this.#continuable(key, signal);
    } else {
      // Nothing is removed now: until this writer commits or closes, the key shows what it
      // holds (readers may be pulling it), and uploads at the key may be other live writers'.
      // Only the tail of unfinished content is noted, so that commit() or close() can remove
      // it and its upload if they are still the ones replaced.
      continued = { kind: 'empty', replaced: await readTailState(this.context, key, signal) };
    }
    return new S3Writer({ context: this.context, errors: this.errors, key, continued, signal });
  }

  async list(prefix: string, signal: AbortSignal | undefined): Promise<string[]> {
    const children = new Set<string>();
    let listedAnything = false;
    let token: string | undefined;
    do {
      const page = await this.context.client.send(
        new ListObjectsV2Command({
          Bucket: this.context.bucket,
          Prefix: this.#keys.below(prefix),
          Delimiter: '/',
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
        sendOptions(signal),
      );
      const listed = [...(page.Contents ?? []).map((object) => object.Key), ...(page.CommonPrefixes ?? []).map((common) => common.Prefix)];
      for (const name of listed) {
        if (name === undefined) continue;
        listedAnything = true;
        const child = this.#keys.childOf(prefix, name);
        if (child !== undefined) children.add(child);
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    if (!listedAnything && prefix !== '') {
      throw new PathNotFoundError(this.name, prefix);
    }
    return [...children].sort();
  }

  async move(sourceKey: string, destinationKey: string, signal: AbortSignal | undefined): Promise<void> {
    const source = this.#keys.object(sourceKey);
    const destination = this.#keys.object(destinationKey);
    let object: HeadObjectCommandOutput;
    try {
      object = await this.#readableObject(sourceKey, signal);
    } catch (error) {
      throw this.errors.read(sourceKey, 'move', error);
    }
    if (sourceKey === destinationKey) {
      return; // as a rename onto itself: nothing to do
    }
    const size = object.ContentLength ?? 0;
    try {
      if (size <= MAX_PART_SIZE) {
        // One atomic server-side copy; the destination is replaced whole or not at all.
        await this.context.client.send(
          new CopyObjectCommand({
            Bucket: this.context.bucket,
            Key: destination,
            CopySource: copySource(this.context, source),
            ...encryption(this.context),
          }),
          sendOptions(signal),
        );
      } else {
        await copyLargeObject(this.context, source, destination, size, COPY_PART_SIZE, signal);
      }
    } catch (error) {
      if (isNotFound(error)) {
        // The source vanished between the HEAD and the copy.
        throw new PathNotFoundError(this.name, sourceKey, { cause: error });
      }
      throw error;
    }
    try {
      // The destination's own unfinished content, if any, is replaced too.
      await deleteObjects(this.context, sourceKey, [source, this.#keys.tail(sourceKey), this.#keys.tail(destinationKey)]);
    } catch (error) {
      throw this.errors.write(sourceKey, 'move', error);
    }
  }

  async delete(key: string, signal: AbortSignal | undefined): Promise<void> {
    const context = this.context;
    const own = [this.#keys.object(key), this.#keys.tail(key)];
    let found = false;
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
    if (!found) {
      throw new PathNotFoundError(this.name, key);
    }
  }

  /** A URL from which anyone holding it may GET the (checked) key's content for expiresSeconds. */
  presignedGetUrl(key: string, expiresSeconds: number): Promise<string> {
    return getSignedUrl(this.context.client, new GetObjectCommand({ Bucket: this.context.bucket, Key: this.#keys.object(key) }), {
      expiresIn: expiresSeconds,
    });
  }

  get #keys(): ObjectKeys {
    return this.context.keys;
  }

  /** HeadObject, or undefined when there is no such object. */
  async #head(objectKey: string, signal: AbortSignal | undefined): Promise<HeadObjectCommandOutput | undefined> {
    try {
      return await this.context.client.send(new HeadObjectCommand({ Bucket: this.context.bucket, Key: objectKey }), sendOptions(signal));
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
    const page = await this.context.client.send(
      new ListObjectsV2Command({ Bucket: this.context.bucket, Prefix: this.#keys.below(key), MaxKeys: 1 }),
      sendOptions(signal),
    );
    const first = page.Contents?.[0];
    return first === undefined ? undefined : (first.LastModified ?? new Date(0));
  }

  /** What an append writer continues: committed content, else unfinished content. */
  async #continuable(key: string, signal: AbortSignal | undefined): Promise<ContinuedContent> {
    const object = await this.#head(this.#keys.object(key), signal);
    if (object !== undefined) {
      return { kind: 'object', size: object.ContentLength ?? 0 };
    }
    // The tail is smaller than a part, so reading it whole keeps memory within one part.
    const tail = await this.context.client.send(
      new GetObjectCommand({ Bucket: this.context.bucket, Key: this.#keys.tail(key) }),
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
      await this.context.client.send(
        new CopyObjectCommand({
          Bucket: this.context.bucket,
          Key: objectKey,
          CopySource: copySource(this.context, tailKey),
          MetadataDirective: 'REPLACE',
          ...encryption(this.context),
        }),
      );
      await deleteObjects(this.context, key, [tailKey]);
    } else {
      await completeUnfinished(this.context, key, unfinished);
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
      offset === 0 && length === undefined ? {} : { Range: `bytes=${offset}-${length === undefined ? '' : offset + length - 1}` };
    let objectKey = this.#keys.object(key);
    for (let attempt = 0; ; attempt += 1) {
      try {
        const object = await this.context.client.send(
          new GetObjectCommand({ Bucket: this.context.bucket, Key: objectKey, ...range }),
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
        await completeUnfinished(this.context, key, unfinished);
      }
    }
  }
}
