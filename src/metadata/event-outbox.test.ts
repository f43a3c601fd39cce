import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { paddedIds, powerOfTwoRuns } from './event-outbox.js';

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
