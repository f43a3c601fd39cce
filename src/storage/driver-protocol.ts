// What a storage driver implements: the protocol of its store and nothing else. DriverBase
// (driver-base.ts) wraps it into a StorageDriver and does what every driver needs around the
// protocol: it checks every key (so a protocol only ever sees keys that passed keys.ts), checks
// read offsets and lengths, rejects calls whose signal has already aborted, and maps every
// error the protocol throws with the protocol's ErrorMapper. As in CNCF Distribution, where
// storage/driver/base wraps each driver this way.
//
// A protocol may throw its service's own errors: DriverBase maps them as each method says. It
// throws storage errors itself only where that default mapping does not fit (a different key
// or kind of failure); storage errors and AbortErrors pass through unchanged.
import type { Readable } from 'node:stream';
import type { StatInfo, StorageWriter } from './driver.js';
import type { ErrorMapper } from './error-mapping.js';

/** A checked byte range: offset a non-negative integer, length one or undefined (to the end). */
export interface ReadRange {
  readonly offset: number;
  readonly length: number | undefined;
}

export interface DriverProtocol {
  /** Short name used in errors and logs ("filesystem", "s3"). */
  readonly name: string;
  /** How this store's errors become storage errors. */
  readonly errors: ErrorMapper;
  /** Errors are mapped as reads of key (operation "stat"). */
  stat(key: string, signal: AbortSignal | undefined): Promise<StatInfo>;
  /** Errors are mapped as reads of key (operation "read"). */
  getContent(key: string, signal: AbortSignal | undefined): Promise<Buffer>;
  /** Errors are mapped as writes of key (operation "write"). */
  putContent(key: string, content: Uint8Array, signal: AbortSignal | undefined): Promise<void>;
  /**
   * Errors are mapped as reads of key (operation "read"). The protocol checks the offset against
   * the size (InvalidOffsetError). Errors of the stream itself are the stream's.
   */
  reader(key: string, range: ReadRange, signal: AbortSignal | undefined): Promise<Readable>;
  /**
   * Errors are mapped as reads of key with append (the content must exist) and as writes
   * without (operation "open"). The writer maps its own errors (writer-base.ts).
   */
  writer(key: string, append: boolean, signal: AbortSignal | undefined): Promise<StorageWriter>;
  /** prefix is '' for the root or a checked key. Errors are mapped as reads of prefix (operation "list"). */
  list(prefix: string, signal: AbortSignal | undefined): Promise<string[]>;
  /**
   * Errors are mapped as writes of destinationKey (operation "move"): the protocol says itself
   * when the source is missing (PathNotFoundError) or an error concerns the source.
   */
  move(sourceKey: string, destinationKey: string, signal: AbortSignal | undefined): Promise<void>;
  /** Errors are mapped as reads of key (operation "delete"). */
  delete(key: string, signal: AbortSignal | undefined): Promise<void>;
}
