// EarlyRangeReader (src/formats/early-range-reader.ts): one early fetch serves the reads
// inside its range, with their bytes as they come; outside it, after a failure or a
// release, reads go to the blob; nothing is ever served from bytes that did not come.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EarlyRangeReader, MAX_EARLY_BYTES } from '../../src/formats/early-range-reader.js';
import { CountingReader, pattern } from '../cache/fake-layer.js';
import { codeOf } from '../../src/errors.js';

const KiB = 1024;
const tick = () => new Promise((r) => setImmediate(r));

/** A reader over a blob of `size` whose early fetch of [0, end) has started and is held. */
function heldEarly(size: number, seed: number, end: number) {
  const blob = pattern(size, seed);
  const inner = new CountingReader(blob);
  inner.hold();
  const r = new EarlyRangeReader(inner);
  r.startEarly(end);
  return { blob, inner, r };
}

describe('EarlyRangeReader', () => {
  it('serves reads inside the early range from its one fetch, and the rest from the blob', async () => {
    const blob = pattern(256 * KiB, 1);
    const inner = new CountingReader(blob);
    const r = new EarlyRangeReader(inner);
    r.startEarly(128 * KiB);
    assert.deepEqual(inner.requests, [{ offset: 0, length: 128 * KiB }]);
    assert.deepEqual(await r.readAt(10, 1000), blob.subarray(10, 1010));
    assert.deepEqual(await r.readAt(64 * KiB, 64 * KiB), blob.subarray(64 * KiB, 128 * KiB));
    assert.equal(inner.requests.length, 1, 'reads inside the range made no request');
    assert.deepEqual(await r.readAt(130 * KiB, 16 * KiB), blob.subarray(130 * KiB, 146 * KiB));
    assert.deepEqual(inner.requests[1], { offset: 130 * KiB, length: 16 * KiB }, 'a read past the range goes to the blob');
    r.startEarly(64 * KiB); // once only
    assert.equal(inner.requests.length, 2);
  });

  it('a read across the range\'s end takes its inside part from the early fetch: no byte fetched twice', async () => {
    const { blob, inner, r } = heldEarly(256 * KiB, 5, 96 * KiB);
    const heard: number[] = [];
    // As a prefetch of the whole blob reads it: pieces from 0, the first one past the range.
    const first = r.readAt(0, 128 * KiB, undefined, (p) => heard.push(p.length));
    const second = r.readAt(128 * KiB, 128 * KiB);
    for (let i = 0; i < 5; i++) await tick();
    inner.release();
    assert.deepEqual(await first, blob.subarray(0, 128 * KiB));
    assert.deepEqual(await second, blob.subarray(128 * KiB));
    assert.deepEqual(inner.requests, [
      { offset: 0, length: 96 * KiB }, { offset: 96 * KiB, length: 32 * KiB }, { offset: 128 * KiB, length: 128 * KiB },
    ]);
    assert.ok(heard.every((n) => n < 96 * KiB), 'only the inside part is told as it comes');
  });

  it('a read waits for its bytes and hears them arrive', async () => {
    const blob = pattern(64 * KiB, 2);
    const inner = new CountingReader(blob);
    inner.hold();
    inner.arriveFirst = 16 * KiB;
    const r = new EarlyRangeReader(inner);
    r.startEarly(64 * KiB);
    const heard: number[] = [];
    let done = false;
    const read = r.readAt(8 * KiB, 32 * KiB, undefined, (p) => heard.push(p.length)).then((b) => { done = true; return b; });
    for (let i = 0; i < 5; i++) await tick();
    assert.equal(done, false, 'answered before its bytes came');
    assert.deepEqual(heard, [8 * KiB], 'the first 8 KiB of the read came with the first 16 KiB of the range');
    inner.release();
    assert.deepEqual(await read, blob.subarray(8 * KiB, 40 * KiB));
    assert.equal(inner.requests.length, 1);
  });

  it('after the early fetch fails, or once released, reads go to the blob', async () => {
    const blob = pattern(64 * KiB, 3);
    const failing = new CountingReader(blob);
    const r = new EarlyRangeReader({ size: blob.length, readAt: (o, l, s, a) => (o === 0 && l === 32 * KiB ? Promise.reject(new Error('link down')) : failing.readAt(o, l, s, a)) });
    r.startEarly(32 * KiB);
    assert.deepEqual(await r.readAt(100, 200), blob.subarray(100, 300));
    assert.deepEqual(failing.requests, [{ offset: 100, length: 200 }]);

    const inner = new CountingReader(blob);
    inner.hold();
    const s = new EarlyRangeReader(inner);
    s.startEarly(32 * KiB);
    const waiting = s.readAt(0, 1000);
    await tick();
    s.release();
    assert.equal(codeOf(inner.signals[0]!.reason), 'UNAVAILABLE', 'the early fetch was aborted');
    inner.release();
    assert.deepEqual(await waiting, blob.subarray(0, 1000));
    assert.deepEqual(inner.requests[1], { offset: 0, length: 1000 }, 'the waiting read went to the blob');
    assert.deepEqual(await s.readAt(5, 5), blob.subarray(5, 10));
    assert.deepEqual(inner.requests[2], { offset: 5, length: 5 });
  });

  it('a read that gives up stops waiting; bad ranges are never fetched early', async () => {
    const { blob, inner, r } = heldEarly(64 * KiB, 4, 32 * KiB);
    const ac = new AbortController();
    const read = r.readAt(0, 100, ac.signal);
    ac.abort();
    await assert.rejects(read, (e) => codeOf(e) === 'UNAVAILABLE');
    inner.release();
    const none = new CountingReader(blob);
    for (const end of [0, -1, 1.5, 64 * KiB + 1, MAX_EARLY_BYTES + 1]) new EarlyRangeReader(none).startEarly(end);
    assert.equal(none.requests.length, 0);
  });
});
