// The rows pull events are written as: grouped by endpoint set, repository and actor, in runs of
// PULLS_PER_ROW, each event with its own id (its row's plus its index) and timestamp, and JSON
// byte for byte what JSON.stringify makes of the same RegistryEvent, free text included.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchEventId } from '../metadata/index.js';
import type { Caller } from '../registry/interfaces.js';
import { PULLS_PER_ROW, PullEventRows, pullRecord, type PullRecord } from './pull-events.js';
import { registryEvent } from './registry-events.js';

const SOURCE = { addr: 'berth-1:5000', instanceID: '9b2f4c1e-8a7d-4e3b-9c6f-1d2e3f4a5b6c' };
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function caller(name: string | undefined, extra: Partial<Caller> = {}): Caller {
  return {
    name,
    address: '10.0.0.7',
    userAgent: 'containers/5.29 (github.com/containers/image)',
    requestId: 'r-1',
    method: 'GET',
    host: 'registry.example.com',
    ...extra,
  };
}

type PullTarget = Pick<PullRecord, 'kind' | 'repository' | 'digest' | 'mediaType' | 'size' | 'tag'>;

/** A queued pull and the caller it was made by. */
interface Pull {
  readonly record: PullRecord;
  readonly caller: Caller | undefined;
}

function pull(at: number, repository: string, who: Caller | undefined, extra: Partial<PullTarget & { endpoints: string[] }> = {}): Pull {
  const { endpoints = ['config:ci'], ...target } = extra;
  const record = pullRecord(
    at,
    endpoints,
    { kind: 'manifests', repository, digest: DIGEST, mediaType: MANIFEST, size: 1234, tag: 'v1', ...target },
    who,
  );
  return { record, caller: who };
}

/** The RegistryEvent registry-events.ts builds for the same pull, serialized by JSON.stringify. */
function expectedJson(id: string, { record, caller }: Pull, externalUrl: string): string {
  const url = `${externalUrl}/v2/${record.repository}/${record.kind}/${record.digest}`;
  const target = {
    mediaType: record.mediaType,
    size: record.size,
    digest: record.digest,
    length: record.size,
    repository: record.repository,
    url,
  };
  return JSON.stringify(
    registryEvent({
      id,
      timestamp: new Date(record.at).toISOString(),
      action: 'pull',
      target: record.tag === undefined ? target : { ...target, tag: record.tag },
      caller,
      source: SOURCE,
    }),
  );
}

describe('pull event rows', () => {
  it('writes each event as JSON.stringify writes the RegistryEvent, hostile text and missing fields included', () => {
    const at = Date.UTC(2026, 11, 7, 12, 0, 0, 5);
    const hostile = caller('ci-bot', {
      userAgent: 'evil "agent"\\ \n\t\u0000\u2028 ünïcode 🐳 </script>',
      requestId: '"}],"events":[{"id":"forged',
      host: undefined,
    });
    const records = [
      pull(at, 'team/app', hostile),
      pull(at, 'team/app', caller('ci-bot', { userAgent: undefined }), { tag: undefined }),
      pull(at + 1, 'team/app', caller('ci-bot'), { kind: 'blobs', mediaType: 'application/octet-stream', tag: undefined, size: 9 }),
      pull(at + 2, 'team/app', caller('ci-bot'), { mediaType: 'application/vnd.odd+json; x="1"' }),
    ];
    const anonymous = [pull(at + 3, 'team/app', undefined)];
    const rows = new PullEventRows(SOURCE, 'https://registry.example.com/').rows([...records, ...anonymous].map((p) => p.record));
    assert.equal(rows.length, 2, 'the anonymous pull is a group of its own');
    const [row, anonymousRow] = rows;
    assert.ok(row && anonymousRow);
    assert.match(row.id, UUIDV7);
    assert.ok(row.id.endsWith('0000'), 'a row id is its first event id');
    const ids = records.map((_, index) => batchEventId(row.id, index));
    assert.equal(
      row.body,
      `[${records.map((record, index) => expectedJson(ids[index] as string, record, 'https://registry.example.com')).join(',')}]`,
    );
    assert.equal((JSON.parse(row.body) as unknown[]).length, records.length, 'the forged request id stays a string');
    assert.deepEqual(
      {
        action: row.action,
        repository: row.repository,
        actor: row.actor,
        createdAt: row.createdAt,
        batch: row.batch,
        endpoints: row.endpoints,
      },
      {
        action: 'pull',
        repository: 'team/app',
        actor: 'ci-bot',
        createdAt: new Date(at).toISOString(),
        batch: { size: 4, lastCreatedAt: new Date(at + 2).toISOString() },
        endpoints: ['config:ci'],
      },
    );
    assert.equal(anonymousRow.actor, undefined);
    assert.equal(anonymousRow.body, `[${expectedJson(anonymousRow.id, anonymous[0] as Pull, 'https://registry.example.com')}]`);
    // Without http.host the URLs are relative, as the other events' are.
    const [relative] = new PullEventRows(SOURCE, undefined).rows([(records[0] as Pull).record]);
    assert.ok(relative);
    assert.equal(relative.body, `[${expectedJson(relative.id, records[0] as Pull, '')}]`);
  });

  it('groups pulls by endpoints, repository and actor, in runs of at most PULLS_PER_ROW, each event once with its own id', () => {
    const at = Date.UTC(2026, 11, 7, 12, 0, 0);
    const pulls: PullRecord[] = [];
    for (let i = 0; i < 2 * PULLS_PER_ROW + 20; i++) pulls.push(pull(at + i, 'one/app', caller('alice'), { tag: `t${i}` }).record);
    for (let i = 0; i < 30; i++) {
      pulls.push(pull(at + i, 'two/app', caller(i % 2 === 0 ? 'alice' : 'bob')).record);
      pulls.push(pull(at + i, 'two/app', caller('alice'), { endpoints: ['config:ci', 'endpoint-2'] }).record);
    }
    const rows = new PullEventRows(SOURCE, undefined).rows(pulls);
    assert.deepEqual(
      rows.map((row) => [row.repository, row.actor, row.endpoints.join('+'), row.batch?.size]),
      [
        ['one/app', 'alice', 'config:ci', PULLS_PER_ROW],
        ['one/app', 'alice', 'config:ci', PULLS_PER_ROW],
        ['one/app', 'alice', 'config:ci', 20],
        ['two/app', 'alice', 'config:ci', 15],
        ['two/app', 'alice', 'config:ci+endpoint-2', 30],
        ['two/app', 'bob', 'config:ci', 15],
      ],
    );
    const events = rows.flatMap((row) =>
      (JSON.parse(row.body) as { id: string; timestamp: string; target: { tag: string } }[]).map((event, index) => {
        assert.equal(event.id, batchEventId(row.id, index));
        assert.match(event.id, UUIDV7);
        return event;
      }),
    );
    assert.equal(events.length, pulls.length);
    assert.equal(new Set(events.map((event) => event.id)).size, pulls.length, 'every id distinct');
    // A run keeps the order the pulls were made in, and its ids sort in that order.
    const first = events.slice(0, 2 * PULLS_PER_ROW + 20);
    assert.deepEqual(
      first.map((event) => event.target.tag),
      pulls.slice(0, first.length).map((record) => record.tag),
    );
    assert.deepEqual(
      first.map((event) => event.timestamp),
      pulls.slice(0, first.length).map((record) => new Date(record.at).toISOString()),
    );
    const sorted = rows.map((row) => row.id);
    for (const row of rows) {
      const ids = (JSON.parse(row.body) as { id: string }[]).map((event) => event.id);
      assert.deepEqual([...ids].sort(), ids);
      for (const other of sorted) if (other !== row.id) assert.ok(!ids.includes(other));
    }
  });
});
