import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { batchEventId, batchRowId, paddedIds, powerOfTwoRuns, type EventFilter, type OutboxEvent } from './event-outbox.js';
import { MetadataStore } from './metadata-store.js';
import { openSqlite } from './sqlite.js';

describe('the outbox statement shapes', () => {
  it('writes a batch as runs of powers of two, largest first, every item once and in order', () => {
    const items = Array.from({ length: 203 }, (_, i) => i);
    const runs = powerOfTwoRuns(items);
    assert.deepEqual(
      runs.map((run) => run.length),
      [64, 64, 64, 8, 2, 1],
    );
    assert.deepEqual(runs.flat(), items);
    assert.deepEqual(powerOfTwoRuns([]), []);
  });

  it('pads a list of ids to a power of two with its last id', () => {
    assert.deepEqual(paddedIds(['a', 'b', 'c']), ['a', 'b', 'c', 'c']);
    assert.deepEqual(paddedIds(['a', 'b']), ['a', 'b']);
    assert.deepEqual(paddedIds(['a']), ['a']);
  });
});

describe('the outbox on SQLite: batches of pull events', () => {
  let dir: string;
  let store: MetadataStore;
  const at = Date.UTC(2026, 11, 7, 12, 0, 0);
  const iso = (ms: number): string => new Date(ms).toISOString();
  /** A batch row of `size` pulls of `repository` by `actor`, its events a millisecond apart from `start`. */
  const batch = (rowId: string, start: number, size: number, repository: string, actor: string): OutboxEvent => {
    const events = Array.from({ length: size }, (_, index) => ({
      id: batchEventId(rowId, index),
      timestamp: iso(start + index),
      action: 'pull',
      target: { repository, digest: `sha256:${String(index).padStart(64, '0')}`, tag: `t${index}` },
      actor: { name: actor },
    }));
    return {
      id: rowId,
      createdAt: iso(start),
      action: 'pull',
      repository,
      digest: undefined,
      tag: undefined,
      actor,
      body: JSON.stringify(events),
      endpoints: ['config:ci'],
      batch: { size, lastCreatedAt: iso(start + size - 1) },
    };
  };
  const single = (id: string, ms: number): OutboxEvent => ({
    id,
    createdAt: iso(ms),
    action: 'push',
    repository: 'one/app',
    digest: `sha256:${'f'.repeat(64)}`,
    tag: 'v1',
    actor: 'alice',
    body: JSON.stringify({ id, timestamp: iso(ms), action: 'push' }),
    endpoints: ['config:ci'],
  });
  // Ids in time order: batch A (one/app, 5 pulls), a push, batch B (two/app, 3), batch C (one/app by bob, 2).
  const A = batchRowId('01900000-0001-7000-8000-00000000abcd');
  const PUSH = '01900000-0002-7000-8000-00000000abcd';
  const B = batchRowId('01900000-0003-7000-8000-00000000abcd');
  const C = batchRowId('01900000-0004-7000-8000-00000000abcd');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-outbox-'));
    store = new MetadataStore(openSqlite(join(dir, 'berth.db')));
    await store.migrate();
    await store.events.record([
      batch(A, at, 5, 'one/app', 'alice'),
      single(PUSH, at + 10),
      batch(B, at + 20, 3, 'two/app', 'alice'),
      batch(C, at + 30, 2, 'one/app', 'bob'),
    ]);
  });

  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('counts and lists every event of a batch, newest first, by its own id', async () => {
    assert.equal(await store.events.countEvents(), 11);
    const all = await store.events.listEvents({ limit: 100 });
    const expected = [
      ...[1, 0].map((i) => batchEventId(C, i)),
      ...[2, 1, 0].map((i) => batchEventId(B, i)),
      PUSH,
      ...[4, 3, 2, 1, 0].map((i) => batchEventId(A, i)),
    ];
    assert.deepEqual(
      all.map((event) => event.id),
      expected,
    );
    const third = all.find((event) => event.id === batchEventId(A, 2));
    assert.deepEqual(
      [third?.createdAt, third?.tag, third?.repository, third?.actor, third?.batch],
      [iso(at + 2), 't2', 'one/app', 'alice', { id: A, size: 5 }],
    );
    assert.equal(all.find((event) => event.id === PUSH)?.batch, undefined);
  });

  it('filters by repository, actor, action and time, and pages by cursor through the middle of a batch', async () => {
    const ids = async (filter: Omit<EventFilter, 'limit'>, limit = 100): Promise<string[]> =>
      (await store.events.listEvents({ ...filter, limit })).map((event) => event.id);
    assert.deepEqual(
      await ids({ action: 'pull', repository: 'one/app', actor: 'alice' }),
      [4, 3, 2, 1, 0].map((i) => batchEventId(A, i)),
    );
    assert.deepEqual(
      await ids({ actor: 'bob' }),
      [1, 0].map((i) => batchEventId(C, i)),
    );
    assert.deepEqual(await ids({ action: 'push' }), [PUSH]);
    // Time bounds cut through batches: from A's fourth event (at + 3) to B's second (before at + 21).
    assert.deepEqual(await ids({ since: iso(at + 3), until: iso(at + 21) }), [
      batchEventId(B, 0),
      PUSH,
      batchEventId(A, 4),
      batchEventId(A, 3),
    ]);
    // Pages of 3 (the route asks one more to know there is a next page) walk every event once.
    const walked: string[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await ids({ repository: 'one/app', before }, 3);
      walked.push(...page);
      if (page.length < 3) break;
      before = page.at(-1);
    }
    assert.deepEqual(walked, await ids({ repository: 'one/app' }));
    assert.equal(walked.length, 8);
  });

  it('finds an event inside a batch, and redelivers its whole batch', async () => {
    const found = await store.events.findEvent(batchEventId(B, 2));
    assert.ok(found);
    assert.equal(found.id, batchEventId(B, 2));
    assert.equal((found.event as { target: { tag: string } }).target.tag, 't2');
    assert.equal((await store.events.findEvent(B))?.id, B, 'a batch id is its first event');
    assert.equal(await store.events.findEvent(batchEventId(B, 3)), undefined, 'past the batch’s end');
    assert.equal(await store.events.findEvent('not-an-id'), undefined);
    assert.equal((await store.events.findEvent(PUSH))?.id, PUSH);

    const claimed = await store.events.claim('config:ci', 'me', 10, 60_000);
    assert.deepEqual(
      claimed.map((row) => [row.eventId, row.batchSize]),
      [
        [A, 5],
        [PUSH, undefined],
        [B, 3],
        [C, 2],
      ],
    );
    await store.events.markDelivered('config:ci', [A, PUSH, B, C], 200);
    assert.equal(await store.events.redeliver(batchEventId(B, 1)), 1);
    assert.equal(await store.events.redeliver(batchEventId(B, 7)), 0);
    const pending = await store.events.listDeliveries({ state: 'pending', limit: 10 });
    assert.deepEqual(
      pending.map((delivery) => delivery.eventId),
      [B],
    );
  });
});
