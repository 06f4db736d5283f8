import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { collectWhenIdle, IdleWatch } from '../../src/daemon/idle-collector.js';

describe('IdleWatch', () => {
  it('collects after the start-up burst and after each later burst (each time twice), never while busy', () => {
    const w = new IdleWatch(0, 0, 1000, 400);
    assert.equal(w.sample(0, 500), false, 'not quiet long enough yet');
    assert.equal(w.sample(0, 1000), true, 'quiet for quietMs after opening the image');
    assert.equal(w.sample(0, 1200), false, 'the follow-up is not due yet');
    assert.equal(w.sample(0, 1400), true, 'the follow-up: what the first emptied goes back');
    assert.equal(w.sample(0, 5000), false, 'nothing new to collect');
    // A burst: activity changes at every sample, however long it lasts.
    for (let t = 6000, a = 1; t < 20_000; t += 500, a++) assert.equal(w.sample(a, t), false);
    const end = 19_500;
    assert.equal(w.sample(28, end + 500), false);
    assert.equal(w.sample(28, end + 999), false);
    assert.equal(w.sample(28, end + 1500), true, 'quiet again: one collection');
    assert.equal(w.sample(28, end + 1900), true, 'and its follow-up');
    assert.equal(w.sample(28, end + 9000), false);
  });

  it('drops the follow-up when work resumes before it', () => {
    const w = new IdleWatch(0, 0, 1000, 400);
    assert.equal(w.sample(0, 1000), true);
    assert.equal(w.sample(1, 1200), false, 'busy again');
    assert.equal(w.sample(1, 1600), false, 'no follow-up of the old quiet period');
    assert.equal(w.sample(1, 2200), true, 'a new quiet period: a new collection');
  });
});

describe('collectWhenIdle', () => {
  it('calls collect once the activity has stood still, and stops when told', async () => {
    let collected = 0;
    const stop = collectWhenIdle({ activity: () => 7, quietMs: 20, checkMs: 5, collect: () => collected++ });
    for (let i = 0; i < 100 && collected === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(collected, 1);
    stop();
  });
});
