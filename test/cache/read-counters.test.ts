import { it } from 'node:test';
import assert from 'node:assert/strict';
import { ReadCounters } from '../../src/cache/read-counters.js';
import { codeOf } from '../../src/errors.js';

it('bumps a counter and all its ancestors, never siblings', () => {
  const total = new ReadCounters();
  const image = total.child();
  const other = new ReadCounters(total);
  image.addRequest(100);
  image.addHits(3);
  image.addMisses();
  other.addRequest(5);
  assert.deepEqual(image.snapshot(), { bytesFetched: 100, requests: 1, cacheHits: 3, cacheMisses: 1 });
  assert.deepEqual(other.snapshot(), { bytesFetched: 5, requests: 1, cacheHits: 0, cacheMisses: 0 });
  assert.deepEqual(total.snapshot(), { bytesFetched: 105, requests: 2, cacheHits: 3, cacheMisses: 1 });
  assert.equal(JSON.stringify(total), JSON.stringify(total.snapshot()));
});

it('refuses negative or fractional increments', () => {
  const c = new ReadCounters();
  for (const bad of [-1, 0.5, Number.NaN]) assert.throws(() => c.addRequest(bad), (e) => codeOf(e) === 'INVALID_ARGUMENT');
  assert.equal(c.requests, 0);
});
