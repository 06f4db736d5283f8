import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachLimited } from '../src/worker-pool.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('forEachLimited', () => {
  it('runs every item once, in start order, never more than the limit at a time', async () => {
    const started: number[] = [];
    let running = 0;
    let peak = 0;
    await forEachLimited([...Array(10).keys()], 3, async (item, i) => {
      assert.equal(item, i);
      started.push(i);
      running++;
      peak = Math.max(peak, running);
      for (let t = 0; t < (i % 4) + 1; t++) await tick();
      running--;
    });
    assert.deepEqual(started, [...Array(10).keys()]);
    assert.equal(peak, 3);
  });

  it('the first failure stops new starts, aborts the running ones and is thrown after they settle', async () => {
    const started: number[] = [];
    const settled: number[] = [];
    const boom = new Error('boom');
    await assert.rejects(forEachLimited([0, 1, 2, 3, 4, 5], 2, async (i, _n, signal) => {
      started.push(i);
      try {
        if (i === 1) throw boom;
        while (!signal.aborted) await tick(); // runs until aborted
        assert.equal(signal.reason, boom);
      } finally {
        settled.push(i);
      }
    }), (err) => err === boom);
    assert.deepEqual(started, [0, 1]);
    assert.deepEqual([...settled].sort(), [0, 1]);
  });

  it('an outer abort stops it with the outer reason', async () => {
    const outer = new AbortController();
    const why = new Error('stop');
    const p = forEachLimited([0, 1, 2], 1, async (_i, _n, signal) => {
      outer.abort(why);
      assert.equal(signal.aborted, true);
    }, outer.signal);
    await assert.rejects(p, (err) => err === why);
  });

  it('an empty list resolves', async () => {
    await forEachLimited([], 4, async () => assert.fail('no work'));
  });
});
