// The CloudEvents mapping: each kind of event gets its documented type, and the structured body
// reads back through the cloudevents package's own HTTP binding with id, source, subject and data.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HTTP } from 'cloudevents';
import { cloudEventType, toCloudEvent } from './cloudevents.js';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const BLOB = 'application/octet-stream';

describe('cloudevents', () => {
  it('names each kind of event io.berth.<kind>.<action>, and other actions io.berth.<action>', () => {
    const cases: [string, Record<string, string>, string][] = [
      ['push', { mediaType: MANIFEST, tag: 'v1' }, 'io.berth.manifest.push'],
      ['pull', { mediaType: MANIFEST }, 'io.berth.manifest.pull'],
      ['pull', { mediaType: BLOB }, 'io.berth.blob.pull'],
      ['delete', { mediaType: MANIFEST }, 'io.berth.manifest.delete'],
      ['delete', { tag: 'v1', digest: 'sha256:00' }, 'io.berth.tag.delete'],
      ['delete', { mediaType: BLOB }, 'io.berth.blob.delete'],
      ['mount', { mediaType: BLOB }, 'io.berth.blob.mount'],
      ['test', {}, 'io.berth.test'],
      ['quota.refused', {}, 'io.berth.quota.refused'],
    ];
    for (const [action, target, type] of cases)
      assert.equal(cloudEventType({ action, target }), type, `${action} ${JSON.stringify(target)}`);
  });

  it('writes a structured CloudEvent the cloudevents package reads back', () => {
    const stored = {
      id: '0193a5b2-0000-7000-8000-000000000001',
      timestamp: '2026-12-07T15:00:00.000Z',
      action: 'push',
      target: { mediaType: MANIFEST, digest: 'sha256:ab', repository: 'team/app', tag: '1.0' },
      source: { addr: 'berth-0:5000', instanceID: 'i' },
    };
    const withHost = toCloudEvent(JSON.stringify(stored), 'https://registry.example.com/');
    assert.match(withHost.contentType, /^application\/cloudevents\+json/);
    const event = HTTP.toEvent({ headers: { 'content-type': withHost.contentType }, body: withHost.body });
    assert.ok(!Array.isArray(event));
    assert.deepEqual(
      [event.specversion, event.id, event.type, event.source, event.subject, event.time, event.datacontenttype],
      ['1.0', stored.id, 'io.berth.manifest.push', 'https://registry.example.com', 'team/app:1.0', stored.timestamp, 'application/json'],
    );
    assert.deepEqual(event.data, stored);

    // Without http.host the source is the replica's address; without a tag the subject is the repository.
    const bare = toCloudEvent(JSON.stringify({ ...stored, target: { ...stored.target, tag: undefined } }), undefined);
    const parsed = HTTP.toEvent({ headers: { 'content-type': bare.contentType }, body: bare.body });
    assert.ok(!Array.isArray(parsed));
    assert.equal(parsed.source, '//berth-0:5000');
    assert.equal(parsed.subject, 'team/app');
  });
});
