// Keeps docs/errors.md in step with the error catalogue, and checks the catalogue itself.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { errorCatalogue, RegistryError } from './catalogue.js';
import { renderErrorDocs } from './error-docs.js';

describe('error catalogue', () => {
  it('docs/errors.md is generated from the catalogue (run npm run docs:errors)', async () => {
    const docs = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    assert.equal(docs, renderErrorDocs());
  });

  it('every entry is a client (4xx) or server (5xx) error with an upper-case code', () => {
    for (const [name, entry] of Object.entries(errorCatalogue)) {
      assert.ok(entry.status >= 400 && entry.status < 600, name);
      assert.match(entry.code, /^[A-Z_]+$/, name);
    }
  });

  it('RegistryError renders the OCI error body with optional detail and extra headers', () => {
    const error = new RegistryError('BLOB_UNKNOWN', { digest: 'sha256:x' }, { headers: { 'Retry-After': '1' } });
    assert.equal(error.status, 404);
    assert.deepEqual(error.toBody(), {
      errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry', detail: { digest: 'sha256:x' } }],
    });
    assert.deepEqual(error.headers, { 'Retry-After': '1' });
    assert.deepEqual(new RegistryError('UNSUPPORTED').toBody(), {
      errors: [{ code: 'UNSUPPORTED', message: 'The operation is unsupported.' }],
    });
  });
});
