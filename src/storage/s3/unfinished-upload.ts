// The persisted state of content a writer closed without committing. S3 cannot read the parts
// of an unfinished multipart upload nor append to an object, so such content is kept as
//   - parts 1..N of one multipart upload (each at least 5 MiB), and
//   - the bytes after them (less than a part) in the tail sidecar "<key>~tail",
// and the tail's metadata names the upload and N. Writing the tail is the single atomic step
// that moves the state forward: parts a writer uploaded after the last tail (a writer that
// died) are not named by it and are ignored or overwritten, so a crash never leaves a state
// in which the parts and the tail disagree.
//
// The ETags of parts made by UploadPartCopy (committed content continued by a server-side
// copy) are kept in the tail too: Swift's s3api lists such parts with an empty ETag, and
// CompleteMultipartUpload needs the real one.
import { StorageError } from '../../errors/storage.js';

const UPLOAD_ID = 'berth-upload-id';
const PARTS = 'berth-parts';
const PARTS_SIZE = 'berth-parts-size';
const COPIED_PARTS = 'berth-copied-parts';

export interface UnfinishedUpload {
  /** The multipart upload holding the full parts; undefined while there are none. */
  readonly uploadId: string | undefined;
  /** Number of parts (1..parts) that belong to the content. */
  readonly parts: number;
  /** Bytes in those parts. */
  readonly partsSize: number;
  /** ETags of parts that were copied server-side, by part number. */
  readonly copiedETags: ReadonlyMap<number, string>;
  /** Bytes in the tail sidecar, which follow the parts. */
  readonly tailSize: number;
  /** When the tail was last written. */
  readonly modifiedAt: Date;
}

/** Size of the whole unfinished content. */
export function unfinishedSize(upload: UnfinishedUpload): number {
  return upload.partsSize + upload.tailSize;
}

/** The tail's user metadata for a state. */
export function tailMetadata(state: Pick<UnfinishedUpload, 'uploadId' | 'parts' | 'partsSize' | 'copiedETags'>): Record<string, string> {
  // "1=etag,2=etag"; ETags are hex digits (and a '-' for multipart ones), quotes stripped.
  const copied = [...state.copiedETags]
    .filter(([number]) => number <= state.parts)
    .map(([number, etag]) => `${number}=${etag.replaceAll('"', '')}`)
    .join(',');
  return {
    [UPLOAD_ID]: state.uploadId ?? '',
    [PARTS]: String(state.parts),
    [PARTS_SIZE]: String(state.partsSize),
    ...(copied === '' ? {} : { [COPIED_PARTS]: copied }),
  };
}

/**
 * Reads the state from a tail's metadata (as HeadObject or GetObject return it). A tail that
 * was not written by this driver, or was damaged, is an error rather than a guess.
 */
export function parseTail(
  driver: string,
  key: string,
  head: { Metadata?: Record<string, string> | undefined; ContentLength?: number | undefined; LastModified?: Date | undefined },
): UnfinishedUpload {
  const metadata = lowerCaseKeys(head.Metadata ?? {});
  const parts = Number(metadata[PARTS]);
  const partsSize = Number(metadata[PARTS_SIZE]);
  const uploadId = metadata[UPLOAD_ID] ?? '';
  const tailSize = head.ContentLength;
  const copiedETags = parseCopiedParts(metadata[COPIED_PARTS] ?? '', parts);
  if (
    copiedETags === undefined ||
    !Number.isSafeInteger(parts) ||
    parts < 0 ||
    !Number.isSafeInteger(partsSize) ||
    partsSize < 0 ||
    parts > 0 !== (uploadId !== '') ||
    (parts === 0) !== (partsSize === 0) ||
    tailSize === undefined
  ) {
    throw new StorageError(`${driver}: the unfinished content of "${key}" has a damaged tail`, driver, key);
  }
  return {
    uploadId: uploadId === '' ? undefined : uploadId,
    parts,
    partsSize,
    copiedETags,
    tailSize,
    modifiedAt: head.LastModified ?? new Date(0),
  };
}

/** "1=etag,2=etag" as a map of quoted ETags, or undefined when it is malformed. */
function parseCopiedParts(value: string, parts: number): Map<number, string> | undefined {
  const copied = new Map<number, string>();
  if (value === '') {
    return copied;
  }
  for (const entry of value.split(',')) {
    const match = /^([1-9][0-9]*)=([0-9A-Za-z-]+)$/.exec(entry);
    const number = Number(match?.[1]);
    if (match?.[2] === undefined || number > parts) {
      return undefined;
    }
    copied.set(number, `"${match[2]}"`);
  }
  return copied;
}

/** Some S3 implementations (Swift's s3api) return metadata names in another case. */
function lowerCaseKeys(metadata: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata).map(([name, value]) => [name.toLowerCase(), value]));
}
