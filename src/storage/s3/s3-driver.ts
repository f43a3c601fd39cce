// The S3 storage driver: S3Protocol (s3-protocol.ts) wrapped by DriverBase, which checks keys,
// offsets and signals and maps errors, plus what only S3 offers: pre-signed URLs for
// redirecting blob downloads, and closing the client's connections. The options are checked
// here, once, when the driver is made. Also the sweep of what writers that died left behind.
import type { AbandonedWritesSweep, SweepOptions } from '../driver.js';
import { DriverBase } from '../driver-base.js';
import { sweepAbandonedS3Writes } from './abandoned-writes.js';
import { UNBOUNDED_MEMORY, type MemoryBudget } from '../memory-budget.js';
import { ObjectKeys } from './object-keys.js';
import { createS3Client } from './s3-client.js';
import { MAX_PART_SIZE, MIN_PART_SIZE, MiB, type S3Context } from './s3-context.js';
import { S3Protocol } from './s3-protocol.js';

/** Part size when none is configured: Distribution's default. */
export const DEFAULT_CHUNK_SIZE = 10 * MiB;

/** Lifetime of a pre-signed URL when none is asked for: Distribution's default of 20 minutes. */
export const DEFAULT_REDIRECT_EXPIRY_SECONDS = 20 * 60;

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

export class S3Driver extends DriverBase<S3Protocol> {
  /** Whether the registry may redirect blob GETs to presignedGetUrl() (storage.redirect). */
  readonly redirect: boolean;

  constructor(options: S3DriverOptions) {
    super(new S3Protocol(contextOf(options)));
    this.redirect = options.redirect ?? false;
  }

  /** Closes the client's connections; the driver cannot be used afterwards. */
  destroy(): void {
    this.protocol.context.client.destroy();
  }

  /** storage.redirect: blob GETs go to a pre-signed URL when enabled. */
  async redirectUrl(key: string): Promise<string | undefined> {
    return this.redirect ? this.presignedGetUrl(key) : undefined;
  }

  /** Aborts multipart uploads and removes tail sidecars of writers that died (see abandoned-writes.ts). */
  async sweepAbandonedWrites(
    olderThan: Date,
    isLive: (key: string) => Promise<boolean>,
    options: SweepOptions = {},
  ): Promise<AbandonedWritesSweep> {
    options.signal?.throwIfAborted();
    try {
      return await sweepAbandonedS3Writes(this.protocol.context, olderThan, isLive, options);
    } catch (error) {
      throw this.protocol.errors.write('', 'sweep', error);
    }
  }

  /**
   * A URL from which anyone holding it may GET the key's content for expiresSeconds, for
   * redirecting blob downloads to the object store or a CDN in front of it (storage.redirect).
   * It is signed locally; whether the content exists is not checked.
   */
  async presignedGetUrl(key: string, expiresSeconds = DEFAULT_REDIRECT_EXPIRY_SECONDS): Promise<string> {
    this.assertKey(key);
    if (!Number.isSafeInteger(expiresSeconds) || expiresSeconds < 1 || expiresSeconds > 7 * 24 * 3600) {
      throw new RangeError(`${this.name}: expiresSeconds must be from 1 to 604800 (7 days), got ${expiresSeconds}`);
    }
    return this.protocol.presignedGetUrl(key, expiresSeconds);
  }
}

/** The checked options as what the protocol and its writers share. */
function contextOf(options: S3DriverOptions): S3Context {
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
  const keys = new ObjectKeys(options.rootDirectory);
  return {
    name: 's3',
    client: createS3Client(options),
    bucket: options.bucket,
    keys,
    chunkSize,
    encrypt: options.encrypt ?? false,
    memory: options.memory ?? UNBOUNDED_MEMORY,
  };
}
