// The stored webhook endpoints on both databases (a SQLite file and a throwaway PostgreSQL): an
// endpoint is added, found, changed and removed with its deliveries (others' stay), and its
// delivery history lists what each event was, newest first, page by page.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { uuidv7 } from '../../src/events/ids.js';
import type { MetadataStoreUnderTest } from '../../src/metadata/testing/metadata-suite.js';
import { runOnBothDatabases } from '../helpers/metadata-databases.js';

runOnBothDatabases((name, open) => {
  describe(`webhook endpoints (${name})`, () => {
    let under: MetadataStoreUnderTest;
    beforeEach(async () => {
      under = await open();
    });
    afterEach(async () => {
      await under.cleanup();
    });

    it('adds, finds, changes and removes an endpoint with its deliveries', async () => {
      const { webhookEndpoints: stored, events } = under.store;
      const id = uuidv7();
      const other = uuidv7();
      const createdAt = new Date().toISOString();
      await stored.add({ id, namespace: 'team', name: 'a', definition: { url: 'https://a.example/' }, createdAt, createdBy: 'root' });
      await stored.add({ id: other, namespace: '', name: 'b', definition: { url: 'https://b.example/' }, createdAt, createdBy: undefined });
      assert.deepEqual(await stored.find(id), {
        id,
        namespace: 'team',
        name: 'a',
        definition: { url: 'https://a.example/' },
        createdAt,
        createdBy: 'root',
      });
      assert.equal(await stored.find('nope'), undefined);

      assert.equal(await stored.update(id, { name: 'a2', definition: { url: 'https://a2.example/', tags: ['v*'] } }), true);
      assert.equal(await stored.update('nope', { name: 'x', definition: {} }), false);
      const changed = await stored.find(id);
      assert.deepEqual([changed?.name, changed?.definition], ['a2', { url: 'https://a2.example/', tags: ['v*'] }]);

      // Three events for both endpoints; the first delivered to ours.
      const eventIds: string[] = [];
      for (const tag of ['v1', 'v2', 'v3']) {
        const eventId = uuidv7();
        eventIds.push(eventId);
        await events.record([
          {
            id: eventId,
            createdAt: new Date().toISOString(),
            action: 'push',
            repository: 'team/app',
            digest: `sha256:${'0'.repeat(63)}${tag.slice(1)}`,
            tag,
            actor: 'dev',
            body: JSON.stringify({ id: eventId, action: 'push' }),
            endpoints: [id, other],
          },
        ]);
      }
      const [first, second, third] = eventIds;
      assert.ok(first && second && third);
      await events.markDelivered(id, [first], 204);

      const history = await stored.deliveries(id, { limit: 10 });
      assert.deepEqual(
        history.map((d) => [d.eventId, d.action, d.repository, d.tag, d.state, d.responseCode, d.endpoint]),
        [
          [third, 'push', 'team/app', 'v3', 'pending', undefined, id],
          [second, 'push', 'team/app', 'v2', 'pending', undefined, id],
          [first, 'push', 'team/app', 'v1', 'delivered', 204, id],
        ],
      );
      assert.deepEqual(
        (await stored.deliveries(id, { state: 'pending', before: third, limit: 10 })).map((d) => d.tag),
        ['v2'],
      );
      assert.deepEqual(
        (await stored.deliveries(id, { limit: 1 })).map((d) => d.tag),
        ['v3'],
      );

      assert.equal(await stored.remove(id), true);
      assert.equal(await stored.remove(id), false);
      assert.equal(await stored.find(id), undefined);
      assert.deepEqual(await stored.deliveries(id, { limit: 10 }), []);
      assert.equal((await stored.deliveries(other, { limit: 10 })).length, 3, "the other endpoint's deliveries stay");
      assert.deepEqual(
        (await stored.list()).map((record) => record.id),
        [other],
      );
    });
  });
});
