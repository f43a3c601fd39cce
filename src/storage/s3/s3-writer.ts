// The S3 driver's StorageWriter: an append writer mapped onto one multipart upload. Bytes fill
// a part buffer (at most one part per writer, whatever the content's size) and every full
// part is uploaded as it fills. close() writes the buffer to the tail sidecar (see
// unfinished-upload.ts) so that any process can continue; commit() sends the buffer as the
// last part and completes the upload (or, with no full parts, puts one small object), so the
// content appears at its key whole.
//
// A replacing writer (append=false) leaves the key as it is until commit() or close(): its
// parts live in its own multipart upload, which no reader sees. Several replacing writers may
// run at once on one key (identical pushes of one blob to its content address); each touches
// only its own upload, so all of them commit and the last commit wins. What the replaced
// content leaves behind (its tail, the upload named by it) is removed afterwards only when it
// is provably the state the writer saw at open; uploads of writers that died without closing
// are left to delete() of the key, or to the bucket's lifecycle rule for incomplete multipart
// uploads, because nothing tells them apart from a live writer's.
//
// State, queue, failure, signal and the part buffer's memory are WriterBase's (writer-base.ts);
// what is here is the multipart protocol.
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, UploadPartCommand, type CompletedPart } from '@aws-sdk/client-s3';
import { StorageBusyError } from '../../errors/storage.js';
import { WriterBase, type WriterBaseOptions } from '../writer-base.js';
import { abortUpload, abortUploads, completeUpload, copyIntoParts, createUpload, deleteObjects, uploadedParts } from './multipart.js';
import { MAX_PARTS, MIN_PART_SIZE, bodyStream, encryption, md5, sendOptions, type S3Context } from './s3-context.js';
import { readTailState, sameTail, type TailState } from './tail-state.js';
import { tailMetadata, type UnfinishedUpload } from './unfinished-upload.js';

/** The part buffer starts small and doubles up to a part, so small content costs little memory. */
const INITIAL_BUFFER = 64 * 1024;

/** What the writer continues. */
export type ContinuedContent =
  /**
   * Nothing: append=false. What is at the key stays there until commit() or close();
   * `replaced` is the unfinished content's tail found at open, if any.
   */
  | { readonly kind: 'empty'; readonly replaced: TailState | undefined }
  /** Committed content, continued by copying it into the upload when the first byte arrives. */
  | { readonly kind: 'object'; readonly size: number }
  /** Unfinished content; its tail bytes are already in `tail`. */
  | { readonly kind: 'unfinished'; readonly upload: UnfinishedUpload; readonly tail: Buffer };

export interface S3WriterOptions extends Omit<WriterBaseOptions, 'memory' | 'pool'> {
  readonly context: S3Context;
  readonly continued: ContinuedContent;
}

export class S3Writer extends WriterBase {
  readonly #context: S3Context;
  readonly #objectKey: string;
  readonly #continued: ContinuedContent;
  /** The multipart upload the content's parts are in, once there are any. */
  #uploadId: string | undefined;
  /** Parts 1..inheritedParts were uploaded by earlier writers; their ETags come from ListParts. */
  readonly #inheritedParts: number;
  /** Parts this writer uploaded or copied, numbered after the inherited ones. */
  readonly #parts: CompletedPart[] = [];
  /** Bytes in all parts, inherited and own. */
  #partsSize: number;
  /** ETags of parts copied server-side, which some services do not list (unfinished-upload.ts). */
  readonly #copiedETags: Map<number, string>;
  /** Bytes of committed content being continued not yet copied into parts or the buffer. */
  #unloaded: number;
  /** Whether close() has something to save (bytes written, or new empty content). */
  #dirty: boolean;

  constructor(options: S3WriterOptions) {
    super({ errors: options.errors, key: options.key, signal: options.signal, memory: options.context.memory });
    this.#context = options.context;
    this.#objectKey = options.context.keys.object(options.key);
    const continued = options.continued;
    this.#continued = continued;
    this.#inheritedParts = continued.kind === 'unfinished' ? continued.upload.parts : 0;
    this.#uploadId = continued.kind === 'unfinished' ? continued.upload.uploadId : undefined;
    this.#partsSize = continued.kind === 'unfinished' ? continued.upload.partsSize : 0;
    this.#copiedETags = new Map(continued.kind === 'unfinished' ? continued.upload.copiedETags : []);
    this.#unloaded = continued.kind === 'object' ? continued.size : 0;
    this.#dirty = continued.kind === 'empty';
    if (continued.kind === 'unfinished' && continued.tail.byteLength > 0) {
      this.#stage(continued.tail);
    }
  }

  protected get unstagedSize(): number {
    return this.#partsSize + this.#unloaded;
  }

  protected async writeChunk(chunk: Uint8Array): Promise<void> {
    const partSize = this.#context.chunkSize;
    try {
      await this.#loadContinued();
      this.#dirty = true;
      let offset = 0;
      while (offset < chunk.byteLength) {
        if (this.staging.length >= partSize) {
          await this.#uploadBufferAsPart();
        }
        const take = Math.min(partSize - this.staging.length, chunk.byteLength - offset);
        // Copied, because the caller may reuse its buffer once write() resolves.
        this.#stage(chunk.subarray(offset, offset + take));
        offset += take;
      }
      if (this.staging.length >= partSize) {
        await this.#uploadBufferAsPart();
      }
    } catch (error) {
      throw this.fail('write', error);
    }
  }

  protected completeContent(): Promise<void> {
    return this.#complete();
  }

  protected override async afterCommit(): Promise<void> {
    if (this.#continued.kind === 'empty') {
      // The new content is whole at its key and wins over any tail; what the replaced
      // unfinished content leaves is only litter now, so failing to remove it does not fail
      // the commit.
      await this.#removeReplacedTail().catch(() => undefined);
    } else if (this.#continued.kind === 'unfinished') {
      // After the content is whole at its key; should this fail, the leftover tail is
      // ignored, because an object at the key always wins over a tail.
      await deleteObjects(this.#context, this.key, [this.#context.keys.tail(this.key)]);
    }
  }

  protected async keepContent(): Promise<void> {
    if (this.#continued.kind === 'empty' && this.failure !== undefined) {
      // What reached the upload past the failure is unknown: nothing of it is kept, and
      // the key still shows what it held before, as after cancel().
      await this.#abortOwnUpload();
    } else if (this.#dirty) {
      await this.#saveTail();
    } else if (this.#continued.kind === 'object' && this.#uploadId !== undefined) {
      // A copy was started but nothing was written: the committed content stays as it was.
      await abortUpload(this.#context, this.#objectKey, this.#uploadId);
    }
  }

  protected async discardContent(): Promise<void> {
    const context = this.#context;
    if (this.#continued.kind === 'empty') {
      // A replacing writer removes only its own upload: the key keeps what it held (maybe
      // content another writer is committing right now).
      await this.#abortOwnUpload();
      return;
    }
    if (this.#uploadId !== undefined) {
      await abortUpload(context, this.#objectKey, this.#uploadId);
    }
    // Uploads of writers that died before they closed would otherwise linger.
    await abortUploads(context, this.#objectKey, (objectKey) => objectKey === this.#objectKey);
    await deleteObjects(context, this.key, [this.#objectKey, context.keys.tail(this.key)]);
  }

  /**
   * Copies bytes into the part buffer, which starts small and doubles up to a part. The growth
   * is reserved from the memory budget first; if it does not fit, StorageBusyError and nothing
   * staged.
   */
  #stage(bytes: Uint8Array): void {
    const needed = this.staging.length + bytes.byteLength;
    if (needed > this.staging.capacity) {
      // A tail from a writer with a larger chunkSize may exceed our part size: take it whole.
      const doubled = Math.max(INITIAL_BUFFER, this.staging.capacity * 2);
      if (!this.staging.reserve(Math.max(needed, Math.min(this.#context.chunkSize, doubled)))) {
        throw new StorageBusyError(this.errors.driver, this.key);
      }
    }
    this.staging.append(bytes);
  }

  /**
   * Turns committed content being continued into parts (a server-side copy, when it is large
   * enough to be a part) or into the buffer (a download of less than 5 MiB). Done lazily, so
   * that an append writer that writes nothing copies nothing. No If-Match guards the copy:
   * concurrent writers to one key are undefined anyway (as with a file), and Swift's s3api
   * refuses If-Match with the ETag of a multipart object.
   */
  async #loadContinued(): Promise<void> {
    const continued = this.#continued;
    if (continued.kind !== 'object' || this.#unloaded === 0) {
      return;
    }
    if (continued.size < MIN_PART_SIZE) {
      const object = await this.#context.client.send(
        new GetObjectCommand({ Bucket: this.#context.bucket, Key: this.#objectKey }),
        sendOptions(this.signal),
      );
      let received = 0;
      for await (const piece of bodyStream(object.Body)) {
        const bytes = piece as Buffer;
        received += bytes.byteLength;
        if (received > continued.size) {
          break;
        }
        this.#stage(bytes);
      }
      if (received !== continued.size) {
        throw new Error(`the content changed while it was continued (${received} bytes, expected ${continued.size})`);
      }
    } else {
      this.#uploadId ??= await createUpload(this.#context, this.#objectKey, this.signal);
      const copied = await copyIntoParts(
        this.#context,
        { objectKey: this.#objectKey, uploadId: this.#uploadId, firstPart: 1 },
        { objectKey: this.#objectKey, size: continued.size },
        undefined,
        this.signal,
      );
      for (const part of copied) {
        if (part.PartNumber !== undefined && part.ETag !== undefined) this.#copiedETags.set(part.PartNumber, part.ETag);
      }
      this.#parts.push(...copied);
      this.#partsSize = continued.size;
    }
    this.#unloaded = 0;
  }

  /** Uploads the whole buffer as the next part; the counters move only once S3 has it. */
  async #uploadBufferAsPart(): Promise<void> {
    const part = await this.#uploadPart(this.staging.bytes(), this.signal);
    this.#parts.push(part);
    this.#partsSize += this.staging.length;
    this.staging.clear();
  }

  async #uploadPart(bytes: Buffer, signal: AbortSignal | undefined): Promise<CompletedPart> {
    const number = this.#inheritedParts + this.#parts.length + 1;
    if (number > MAX_PARTS) {
      throw new Error(`content exceeds ${MAX_PARTS} parts of ${this.#context.chunkSize} bytes (raise chunkSize)`);
    }
    this.#uploadId ??= await createUpload(this.#context, this.#objectKey, signal);
    const uploaded = await this.#context.client.send(
      new UploadPartCommand({
        Bucket: this.#context.bucket,
        Key: this.#objectKey,
        UploadId: this.#uploadId,
        PartNumber: number,
        Body: bytes,
        ContentLength: bytes.byteLength,
        // S3 checks it, so a part damaged on the way is refused rather than stored.
        ContentMD5: md5(bytes),
      }),
      sendOptions(signal),
    );
    if (uploaded.ETag === undefined) {
      throw new Error('UploadPart returned no ETag');
    }
    return { PartNumber: number, ETag: uploaded.ETag };
  }

  /**
   * Saves the state for a later writer: the buffer becomes the tail, naming the upload and
   * its parts. An object at the key wins over a tail, so the object (committed content being
   * continued, or the content a replacing writer replaces) is deleted only after the tail is
   * written: a crash in between leaves the content as it was before close(), with this
   * writer's tail and upload as litter that the next replacing commit or delete() removes.
   */
  async #saveTail(): Promise<void> {
    const context = this.#context;
    const continued = this.#continued;
    // Whether the tail about to be overwritten is still the replaced content's, whose upload
    // nobody will need once this tail names ours.
    const replaced = continued.kind === 'empty' ? await this.#replacedTailIfUnchanged() : undefined;
    const bytes = this.staging.bytes();
    await context.client.send(
      new PutObjectCommand({
        Bucket: context.bucket,
        Key: context.keys.tail(this.key),
        Body: bytes,
        ContentLength: bytes.byteLength,
        ContentMD5: md5(bytes),
        Metadata: tailMetadata({
          uploadId: this.#partCount() === 0 ? undefined : this.#uploadId,
          parts: this.#partCount(),
          partsSize: this.#partsSize,
          copiedETags: this.#copiedETags,
        }),
        ...encryption(context),
      }),
    );
    if (continued.kind === 'object' || continued.kind === 'empty') {
      // Unconditionally for a replacing writer: another writer may have committed since open.
      await context.client.send(new DeleteObjectCommand({ Bucket: context.bucket, Key: this.#objectKey }));
    }
    if (replaced?.uploadId !== undefined && replaced.uploadId !== this.#uploadId) {
      await abortUpload(context, this.#objectKey, replaced.uploadId);
    }
  }

  /** Aborts the upload this writer started, if any; nothing else at the key changes. */
  async #abortOwnUpload(): Promise<void> {
    if (this.#uploadId !== undefined) {
      await abortUpload(this.#context, this.#objectKey, this.#uploadId);
    }
  }

  /**
   * After a replacing writer's commit: deletes the tail of the unfinished content it
   * replaced and aborts that content's upload, if the tail is still the one seen at open.
   * A tail written since then belongs to another writer that closed meanwhile; it is left
   * alone (the committed object wins over it). No conditional delete exists in every
   * S3-compatible service, so a tail written between the check and the delete is lost: that
   * needs a close() and a commit() of one key at the same moment, which the registry never
   * does (upload keys have one writer at a time; content addresses are only committed).
   */
  async #removeReplacedTail(): Promise<void> {
    const replaced = await this.#replacedTailIfUnchanged();
    if (replaced === undefined) {
      return;
    }
    await deleteObjects(this.#context, this.key, [this.#context.keys.tail(this.key)]);
    if (replaced.uploadId !== undefined && replaced.uploadId !== this.#uploadId) {
      await abortUpload(this.#context, this.#objectKey, replaced.uploadId);
    }
  }

  /** The tail seen at open, when the key's tail is still exactly that one. */
  async #replacedTailIfUnchanged(): Promise<TailState | undefined> {
    const replaced = this.#continued.kind === 'empty' ? this.#continued.replaced : undefined;
    if (replaced === undefined) {
      return undefined;
    }
    const current = await readTailState(this.#context, this.key, undefined);
    return current !== undefined && sameTail(current, replaced) ? replaced : undefined;
  }

  /** Makes the content an object at its key, whole, in one atomic step. */
  async #complete(): Promise<void> {
    const context = this.#context;
    if (this.#continued.kind === 'object' && !this.#dirty) {
      // Nothing was appended to committed content: it is already what it should be.
      return;
    }
    await this.#loadContinued();
    const bytes = this.staging.bytes();
    if (this.#partCount() === 0) {
      await context.client.send(
        new PutObjectCommand({
          Bucket: context.bucket,
          Key: this.#objectKey,
          Body: bytes,
          ContentLength: bytes.byteLength,
          ContentMD5: md5(bytes),
          ...encryption(context),
        }),
      );
      if (this.#uploadId !== undefined) {
        await abortUpload(context, this.#objectKey, this.#uploadId); // an upload without parts
      }
    } else {
      const uploadId = this.#uploadId;
      if (uploadId === undefined) {
        throw new Error('parts without an upload');
      }
      const parts = await uploadedParts(context, this.key, this.#objectKey, {
        uploadId,
        parts: this.#inheritedParts,
        partsSize: this.#inheritedPartsSize(),
        copiedETags: this.#copiedETags,
      });
      parts.push(...this.#parts);
      if (bytes.byteLength > 0) {
        // The last part may be small. The buffer and the counters stay as they are, so that
        // if completing fails, close() still saves a tail that agrees with the parts.
        parts.push(await this.#uploadPart(bytes, undefined));
      }
      await completeUpload(context, this.#objectKey, uploadId, parts);
    }
  }

  #partCount(): number {
    return this.#inheritedParts + this.#parts.length;
  }

  #inheritedPartsSize(): number {
    return this.#continued.kind === 'unfinished' ? this.#continued.upload.partsSize : 0;
  }
}
