// What the access log keeps of a URL: the path, the registry API's own query parameters, and
// of any other parameter only its name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loggedUrl } from './access-log.js';

describe('loggedUrl', () => {
  it('keeps a path without a query as it is', () => {
    assert.equal(loggedUrl('/v2/team/app/manifests/latest'), '/v2/team/app/manifests/latest');
    assert.equal(loggedUrl('/v2/x/tags/list?'), '/v2/x/tags/list?');
  });

  it('keeps the values of the parameters the API defines', () => {
    assert.equal(loggedUrl('/v2/x/tags/list?n=10&last=v1'), '/v2/x/tags/list?n=10&last=v1');
    assert.equal(
      loggedUrl('/v2/x/blobs/uploads/?mount=sha256%3Aab&from=other%2Frepo'),
      '/v2/x/blobs/uploads/?mount=sha256%3Aab&from=other%2Frepo',
    );
    assert.equal(loggedUrl('/token?service=berth&scope=repository%3Ax%3Apull'), '/token?service=berth&scope=repository%3Ax%3Apull');
  });

  it('replaces the value of any other parameter, however its name is spelled', () => {
    assert.equal(loggedUrl('/v2/x/tags/list?n=1&access_token=secret'), '/v2/x/tags/list?n=1&access_token=REDACTED');
    assert.equal(loggedUrl('/v2/?password=hunter2&token=abc'), '/v2/?password=REDACTED&token=REDACTED');
    assert.equal(loggedUrl('/v2/?access%5Ftoken=secret'), '/v2/?access%5Ftoken=REDACTED');
    // A name that decodes to an allowed one keeps its value; one that does not decode is redacted.
    assert.equal(loggedUrl('/v2/x/tags/list?%6E=5'), '/v2/x/tags/list?%6E=5');
    assert.equal(loggedUrl('/v2/?%E0%A4%A=secret'), '/v2/?%E0%A4%A=REDACTED');
  });

  it('keeps bare names, which carry no value', () => {
    assert.equal(loggedUrl('/v2/?flag&n=2'), '/v2/?flag&n=2');
  });
});
