// Unit tests of the tail sidecar's metadata: what a writer saves reads back the same, and a
// tail that does not describe a consistent state is refused rather than guessed at.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StorageError } from '../../errors/storage.js';
import { parseTail, tailMetadata, unfinishedSize } from './unfinished-upload.js';

describe('tail metadata', () => {
  it('round-trips a state with and without parts', () => {
    const modifiedAt = new Date('2024-01-02T03:04:05Z');
    const withParts = parseTail('s3', 'k', {
      Metadata: tailMetadata({
        uploadId: '2~abc',
        parts: 3,
        partsSize: 30 * 1024 * 1024,
        copiedETags: new Map([
          [1, '"0123abcd-2"'],
          [4, '"not-in-the-content"'],
        ]),
      }),
      ContentLength: 17,
      LastModified: modifiedAt,
    });
    assert.deepEqual(withParts, {
      uploadId: '2~abc',
      parts: 3,
      partsSize: 30 * 1024 * 1024,
      copiedETags: new Map([[1, '"0123abcd-2"']]),
      tailSize: 17,
      modifiedAt,
    });
    assert.equal(unfinishedSize(withParts), 30 * 1024 * 1024 + 17);
    const tailOnly = parseTail('s3', 'k', {
      Metadata: tailMetadata({ uploadId: undefined, parts: 0, partsSize: 0, copiedETags: new Map() }),
      ContentLength: 0,
    });
    assert.equal(tailOnly.uploadId, undefined);
    assert.equal(unfinishedSize(tailOnly), 0);
  });

  it('reads metadata names in any case', () => {
    const state = parseTail('s3', 'k', {
      Metadata: { 'Berth-Upload-Id': 'u', 'Berth-Parts': '1', 'Berth-Parts-Size': '5242880' },
      ContentLength: 1,
    });
    assert.equal(state.parts, 1);
  });

  it('refuses tails that describe no consistent state', () => {
    const bad: Array<Record<string, string>> = [
      {},
      { 'berth-upload-id': '', 'berth-parts': '1', 'berth-parts-size': '5' },
      { 'berth-upload-id': 'u', 'berth-parts': '0', 'berth-parts-size': '0' },
      { 'berth-upload-id': 'u', 'berth-parts': '1', 'berth-parts-size': '0' },
      { 'berth-upload-id': 'u', 'berth-parts': '-1', 'berth-parts-size': '5' },
      { 'berth-upload-id': 'u', 'berth-parts': '1.5', 'berth-parts-size': '5' },
      { 'berth-upload-id': 'u', 'berth-parts': 'x', 'berth-parts-size': '5' },
      { 'berth-upload-id': 'u', 'berth-parts': '1', 'berth-parts-size': '5', 'berth-copied-parts': '2=abc' },
      { 'berth-upload-id': 'u', 'berth-parts': '1', 'berth-parts-size': '5', 'berth-copied-parts': '1=a"b' },
      { 'berth-upload-id': 'u', 'berth-parts': '1', 'berth-parts-size': '5', 'berth-copied-parts': '0=ab' },
    ];
    for (const metadata of bad) {
      assert.throws(() => parseTail('s3', 'k', { Metadata: metadata, ContentLength: 1 }), StorageError, JSON.stringify(metadata));
    }
  });
});
