// IndexReadCache: the reads that open an index are kept on disk only (read once per open,
// they would sit in the memory level for a mount's life) and served from there next time.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { IndexReadCache } from '../../src/cache/index-read-cache.js';
import { DiskChunkStore } from '../../src/cache/disk-chunk-store.js';
import { MemoryChunkStore } from '../../src/cache/memory-chunk-store.js';
import { TwoLevelChunkStore } from '../../src/cache/two-level-chunk-store.js';
import type { RangeReader } from '../../src/formats/range-reader.js';
import { tempDir } from '../helpers/tmp.js';

const BLOB = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 251));
const DIGEST = `sha256:${'ab'.repeat(32)}`;

function countingBlob(): RangeReader & { reads: number } {
  return {
    size: BLOB.length,
    reads: 0,
    async readAt(offset: number, length: number) {
      this.reads++;
      return Buffer.from(BLOB.subarray(offset, offset + length));
    },
  };
}

test('index reads go to the disk level only, and the next open reads them from there', async (t) => {
  const dir = join(await tempDir(t), 'cache');
  const store = new TwoLevelChunkStore(new MemoryChunkStore(1 << 20), await DiskChunkStore.open(dir, 1 << 20));
  const blob = countingBlob();
  const first = new IndexReadCache(blob, store, DIGEST);
  assert.deepEqual(await first.readAt(100, 1000), BLOB.subarray(100, 1100));
  assert.equal(first.fromBlob, 1, 'a first open reads from the blob (and says so: a mount then fetches its landmark early)');
  assert.equal(store.memory.stats().entries, 0);
  assert.equal(store.disk.stats().entries, 1);
  const second = new IndexReadCache(blob, store, DIGEST);
  assert.deepEqual(await second.readAt(100, 1000), BLOB.subarray(100, 1100));
  assert.equal(blob.reads, 1);
  assert.equal(second.fromBlob, 0, 'an open from the cache says it read nothing from the blob');
  assert.equal(store.memory.stats().entries, 0);
  await store.close();
});
