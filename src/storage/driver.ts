// The blob-store driver contract. A driver stores opaque bytes under '/'-separated keys
// ("blobs/sha256/ab/abcd.../data"); it knows nothing of OCI, digests or repositories. Both
// drivers (filesystem/, s3/) pass the suite in storage/testing/ unchanged. Each is a
// DriverProtocol wrapped by DriverBase (driver-base.ts), which keeps the rules on keys, signals
// and errors below for every driver; its writer extends WriterBase (writer-base.ts).
//
// Visibility and durability rules every driver must keep:
// - putContent() is atomic and durable: readers see the old content or the whole new content,
//   never a part.
// - A writer's bytes are durable once commit() or close() resolves. A new writer
//   (append=false) changes nothing at its key before then; an appending writer's bytes may show
//   at its key earlier (the filesystem appends in place), so uploads live under keys of their
//   own that are never served. Blobs become visible only whole: by move(), or by the commit()
//   of a new writer at the blob's key.
// - move() replaces the destination atomically and removes the source.
//
// Keys are checked (storage/keys.ts) before a driver touches anything: '/'-separated,
// relative, segments of [A-Za-z0-9._-] other than '.' and '..'. Any other key throws
// InvalidPathError. A call whose signal is already aborted rejects with the signal's reason
// (an AbortError) and changes nothing. Other failures are StorageErrors of errors/storage.ts
// (PathNotFoundError, InvalidOffsetError, StorageFullError, StorageBusyError, or a StorageError
// naming the service's code), never the service's own error with its paths or endpoints;
// misuse (a negative read length, a write after commit) throws a plain Error, and a reader's
// stream fails with whatever broke it.
import type { Readable, Writable } from 'node:stream';

/**
 * A reader stream that can also write itself into a destination the caller owns, faster than
 * piping (the filesystem's reuses its buffers: see filesystem/file-content-stream.ts). Use one
 * or the other: sendTo() on a stream already being read rejects. sendTo() resolves once the
 * destination has taken every byte, and closes the stream either way; the caller ends the
 * destination.
 */
export interface SelfSendingStream extends Readable {
  sendTo(destination: Writable, signal?: AbortSignal): Promise<void>;
}

export function isSelfSending(stream: Readable): stream is SelfSendingStream {
  return typeof (stream as Partial<SelfSendingStream>).sendTo === 'function';
}

export interface StatInfo {
  /** The key that was asked for. */
  readonly key: string;
  /** Size in bytes; 0 for a directory-like prefix. */
  readonly size: number;
  readonly modifiedAt: Date;
  /** True when the key is a prefix of other keys rather than content. */
  readonly isDirectory: boolean;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
}

export interface ReadOptions extends CallOptions {
  /**
   * First byte to read; default 0. An offset past the end (or negative) throws
   * InvalidOffsetError; an offset equal to the size gives an empty stream.
   */
  readonly offset?: number;
  /** Number of bytes to read from offset; default: to the end. A length past the end reads to the end. */
  readonly length?: number;
}

export interface WriterOptions extends CallOptions {
  /**
   * Continue the content already at the key (after a restart, or on another replica).
   * With append=true the content must exist, else writer() throws PathNotFoundError, so an
   * upload that was removed is never silently restarted from zero.
   */
  readonly append: boolean;
}

/**
 * An append-only writer. Writes are sequential; await each write (that is the backpressure).
 * The writer holds resources until commit(), close() or cancel(): call one of them in every
 * case (a `finally` is fine). After one of them the writer is finished: write() and
 * commit() reject, while close() and cancel() do nothing, so they never remove content that
 * was committed or handed over. A writer's signal makes every later write() reject.
 */
export interface StorageWriter {
  /** Bytes in the content so far, including what was there before an append. */
  readonly size: number;
  write(chunk: Uint8Array): Promise<void>;
  /** Flush and make the bytes durable as final content; the writer is finished afterwards. */
  commit(): Promise<void>;
  /**
   * Stop writing and keep what was written so far, durably, so a later writer (after a crash,
   * or on another replica) can append to it. Cheaper than commit() on object stores, where
   * commit() completes a multipart upload that a later append would have to copy.
   */
  close(): Promise<void>;
  /** Stop writing and remove the content. */
  cancel(): Promise<void>;
}

export interface StorageDriver {
  /** Short name used in errors and logs ("filesystem", "s3"). */
  readonly name: string;
  /** Throws PathNotFoundError when nothing is stored under the key or below it. */
  stat(key: string, options?: CallOptions): Promise<StatInfo>;
  /** Whole content of a small object. Throws PathNotFoundError (also for a prefix). */
  getContent(key: string, options?: CallOptions): Promise<Buffer>;
  /** Atomically and durably replaces the content at key. */
  putContent(key: string, content: Uint8Array, options?: CallOptions): Promise<void>;
  /** A stream of the content from offset. Throws PathNotFoundError or InvalidOffsetError. */
  reader(key: string, options?: ReadOptions): Promise<Readable>;
  /**
   * A writer for key. With append=false the new content replaces what is there, but only when
   * commit() or close() succeeds: until then the key shows what it held before (or nothing),
   * and after cancel() or a failed write it still does.
   */
  writer(key: string, options: WriterOptions): Promise<StorageWriter>;
  /**
   * Immediate children of a prefix, as full keys, sorted. '' lists the root (empty when
   * nothing is stored). Throws PathNotFoundError when nothing is stored below the prefix
   * (a driver with real directories may return [] for an empty one).
   */
  list(prefix: string, options?: CallOptions): Promise<string[]>;
  /** Atomically moves content from source to destination, replacing it. Throws PathNotFoundError. */
  move(sourceKey: string, destinationKey: string, options?: CallOptions): Promise<void>;
  /** Removes a key and everything below it. Throws PathNotFoundError. */
  delete(key: string, options?: CallOptions): Promise<void>;
  /**
   * Optional: a short-lived URL from which a client can fetch the content directly (an S3
   * pre-signed URL), or undefined when redirects are off. Drivers without one omit it.
   */
  redirectUrl?(key: string): Promise<string | undefined>;
  /**
   * Optional: removes what writers that died left behind anywhere in the store: unfinished
   * content nobody has written since olderThan (an S3 multipart upload and its tail sidecar, a
   * filesystem temporary file) and whose key isLive does not claim. Content a live writer
   * closed to continue later (an upload in progress) looks the same: only isLive tells it
   * apart. Never touches committed content.
   */
  sweepAbandonedWrites?(olderThan: Date, isLive: (key: string) => Promise<boolean>, options?: SweepOptions): Promise<AbandonedWritesSweep>;
}

export interface SweepOptions extends CallOptions {
  /** Count what would be removed, removing nothing. */
  readonly dryRun?: boolean;
}

/** What sweepAbandonedWrites removed: unfinished uploads, sidecars and temporary files, and their bytes. */
export interface AbandonedWritesSweep {
  readonly removed: number;
  readonly bytes: number;
}
