import { it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryChunkStore } from '../../src/cache/memory-chunk-store.js';
import { codeOf } from '../../src/errors.js';
import { chunkCacheSuite } from '../suites/chunk-cache-suite.js';

chunkCacheSuite('memory', async (_t, { limitBytes }) => {
  const impl = new MemoryChunkStore(limitBytes);
  return { impl, close: () => impl.close() };
});

it('checks memoryCacheBytes in the constructor', () => {
  for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 60]) {
    assert.throws(() => new MemoryChunkStore(bad), (e) => codeOf(e) === 'INVALID_ARGUMENT', String(bad));
  }
});

it('serves a hit without copying', async () => {
  const store = new MemoryChunkStore(1 << 20);
  await store.set('k', Buffer.alloc(1000, 7));
  assert.equal(await store.get('k'), await store.get('k'));
  await store.close();
});
