import { it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DiskChunkStore } from '../../src/cache/disk-chunk-store.js';
import { MemoryChunkStore } from '../../src/cache/memory-chunk-store.js';
import { TwoLevelChunkStore } from '../../src/cache/two-level-chunk-store.js';
import { chunkCacheSuite } from '../suites/chunk-cache-suite.js';
import { tempDir } from '../helpers/tmp.js';

// Both levels bounded by the same limit, so the suite's byte bounds hold for the whole.
chunkCacheSuite('memory over disk', async (t, { limitBytes }) => {
  const dir = join(await tempDir(t), 'cache');
  const impl = new TwoLevelChunkStore(new MemoryChunkStore(limitBytes), await DiskChunkStore.open(dir, limitBytes));
  const extra: TwoLevelChunkStore[] = [];
  return {
    impl,
    close: async () => { await Promise.all([impl, ...extra].map((s) => s.close())); },
    reopen: async () => {
      const s = new TwoLevelChunkStore(new MemoryChunkStore(limitBytes), await DiskChunkStore.open(dir, limitBytes));
      extra.push(s);
      return s;
    },
  };
});

it('writes to both levels and promotes a disk hit to memory', async (t) => {
  const dir = await tempDir(t);
  const memory = new MemoryChunkStore(1500);
  const disk = await DiskChunkStore.open(dir, 1 << 20);
  const store = new TwoLevelChunkStore(memory, disk);
  t.after(() => store.close());
  await store.set('a', Buffer.alloc(1000, 'a'));
  assert.ok(await memory.has('a'));
  assert.ok(await disk.has('a'));
  await store.set('b', Buffer.alloc(1000, 'b')); // memory has room for one: a leaves memory
  assert.equal(await memory.has('a'), false);
  assert.deepEqual(await store.get('a'), Buffer.alloc(1000, 'a'));
  assert.ok(await memory.has('a'), 'promoted');
  const s = store.stats();
  assert.equal(s.memory.entries, 1);
  assert.equal(s.disk.entries, 2);
  assert.equal(s.memory.limitBytes, 1500);
  await store.close();
  await store.close();
});
