// The error hook's mapping of a full disk to 507 INSUFFICIENT_STORAGE, whichever layer noticed it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StorageFullError } from '../errors/index.js';
import { toRegistryError } from './error-hook.js';

/** An error as a driver throws it: a message and a code (pg's DatabaseError, better-sqlite3's SqliteError, Node's fs errors). */
function withCode(code: string, message = 'failed'): Error {
  return Object.assign(new Error(message), { code });
}

describe('toRegistryError', () => {
  const fullDisk: [string, Error][] = [
    ['the blob store', new StorageFullError('filesystem', 'blobs/sha256/ab/abcd')],
    ['SQLite (SQLITE_FULL)', withCode('SQLITE_FULL', 'database or disk is full')],
    ['PostgreSQL (SQLSTATE 53100, disk_full)', withCode('53100', 'could not extend file "base/16384/16385"')],
    ['the file system (ENOSPC)', withCode('ENOSPC')],
    ['a quota (EDQUOT)', withCode('EDQUOT')],
    ['a wrapped cause', new Error('commit failed', { cause: withCode('SQLITE_FULL') })],
  ];
  for (const [where, error] of fullDisk) {
    it(`answers a full disk reported by ${where} with 507 INSUFFICIENT_STORAGE`, () => {
      const mapped = toRegistryError(error);
      assert.equal(mapped.errorName, 'INSUFFICIENT_STORAGE');
      assert.equal(mapped.status, 507);
    });
  }

  it('answers other database and I/O errors with 500 UNKNOWN', () => {
    for (const error of [withCode('SQLITE_IOERR_READ'), withCode('SQLITE_ERROR'), withCode('53300'), withCode('EIO')]) {
      assert.equal(toRegistryError(error).errorName, 'UNKNOWN');
    }
  });
});
