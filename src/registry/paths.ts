// The only place that turns a digest or an upload id into a storage key. Both arrive validated
// (Digest is parsed; upload ids are checked against the UUID grammar here), so no client input
// can steer a key outside its folder.
import type { Digest } from '../oci/index.js';

const uploadIdGrammar = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isValidUploadId(id: string): boolean {
  return uploadIdGrammar.test(id);
}

/** blobs/sha256/ab/abcdef.../data: fanned out by the first two hex characters, as Distribution does. */
export function blobKey(digest: Digest): string {
  return `blobs/${digest.algorithm}/${digest.hex.slice(0, 2)}/${digest.hex}/data`;
}

export function uploadDataKey(uploadId: string): string {
  if (!isValidUploadId(uploadId)) throw new Error(`invalid upload id "${uploadId}"`);
  return `uploads/${uploadId}/data`;
}

export function uploadFolderKey(uploadId: string): string {
  if (!isValidUploadId(uploadId)) throw new Error(`invalid upload id "${uploadId}"`);
  return `uploads/${uploadId}`;
}
