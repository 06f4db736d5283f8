// planRequests: coalescing nearby misses, and read-ahead only for small requests.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planRequests } from '../../src/cache/request-planner.js';
import type { KeyedChunk } from '../../src/cache/blob-order.js';
import type { ChunkRef } from '../../src/formats/layer-index.js';

const KiB = 1024;

function chunk(blobOffset: number, blobLength: number): KeyedChunk {
  const c: ChunkRef = { fileOffset: 0, size: blobLength, blobOffset, blobLength, innerOffset: 0, encoding: 'none' };
  return { key: `k${blobOffset}`, chunk: c };
}

/** Chunks laid end to end: a 1 MiB one, then eight 4 KiB ones. */
const blob = [chunk(0, 1024 * KiB), ...Array.from({ length: 8 }, (_, i) => chunk(1024 * KiB + i * 4 * KiB, 4 * KiB))];
const following = (offset: number) => blob.filter((k) => k.chunk.blobOffset >= offset);
const limits = { maxRequestBytes: 4096 * KiB, gapBytes: 0, readAheadBytes: 16 * KiB };

describe('planRequests', () => {
  it('a small miss reads ahead into the next small chunks, up to readAheadBytes in all', () => {
    const [req, ...rest] = planRequests([blob[1]!], limits, following);
    assert.equal(rest.length, 0);
    assert.equal(req!.start, 1024 * KiB);
    assert.equal(req!.end - req!.start, 16 * KiB);
    assert.equal(req!.chunks.length, 4);
  });

  it('a miss as large as readAheadBytes brings nothing along', () => {
    const [req] = planRequests([blob[0]!], limits, following);
    assert.equal(req!.end, 1024 * KiB);
    assert.equal(req!.chunks.length, 1);
  });

  it('adjacent misses coalesce into one request', () => {
    const reqs = planRequests([blob[1]!, blob[2]!, blob[3]!], { ...limits, readAheadBytes: 0 }, following);
    assert.equal(reqs.length, 1);
    assert.equal(reqs[0]!.chunks.length, 3);
  });
});
