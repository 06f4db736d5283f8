// chunkCacheSuite: the behaviour every ChunkStore shares, run against each backend
// (memory, disk, memory-over-disk). A backend's test file is a few lines calling it.

import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ChunkStore } from '../../src/cache/chunk-store.js';
import { codeOf } from '../../src/errors.js';

export interface ChunkStoreUnderTest {
  readonly impl: ChunkStore;
  /** Closes what the factory made (the store included); may be called after impl.close(). */
  close(): Promise<void>;
  /** Backends that persist: a new store over the same data (the old one is closed first). */
  reopen?(): Promise<ChunkStore>;
}

/** Each case gets its own store; `limitBytes` is the byte bound it must respect. */
export type ChunkStoreFactory = (t: TestContext, opts: { limitBytes: number }) => Promise<ChunkStoreUnderTest>;

/** Data bytes per chunk in the eviction cases; per-entry overhead must stay below 1/8 of it. */
const CHUNK = 1000;

export function chunkCacheSuite(name: string, factory: ChunkStoreFactory): void {
  describe(`chunk cache suite: ${name}`, () => {
    const open = async (t: TestContext, limitBytes = 1024 * 1024): Promise<ChunkStore> => {
      const s = await factory(t, { limitBytes });
      t.after(() => s.close());
      return s.impl;
    };

    it('misses, then serves what was set', async (t) => {
      const store = await open(t);
      assert.equal(await store.get('a:0:0:5'), undefined);
      assert.equal(await store.has('a:0:0:5'), false);
      await store.set('a:0:0:5', Buffer.from('hello'));
      assert.deepEqual(await store.get('a:0:0:5'), Buffer.from('hello'));
      assert.equal(await store.has('a:0:0:5'), true);
      assert.equal(store.stats().entries, 1);
    });

    it('keeps a slice of a larger buffer as just its bytes', async (t) => {
      const store = await open(t);
      const big = randomBytes(4096);
      await store.set('s', big.subarray(100, 110));
      assert.deepEqual(await store.get('s'), big.subarray(100, 110));
      assert.ok(store.stats().bytes < 1024, `bytes ${store.stats().bytes} must count the slice, not its parent`);
    });

    it('stores an empty chunk', async (t) => {
      const store = await open(t);
      await store.set('empty', Buffer.alloc(0));
      assert.deepEqual(await store.get('empty'), Buffer.alloc(0));
    });

    it('overwrites a key with the newest value', async (t) => {
      const store = await open(t);
      await store.set('k', Buffer.from('old value'));
      await store.set('k', Buffer.from('new'));
      assert.deepEqual(await store.get('k'), Buffer.from('new'));
      assert.equal(store.stats().entries, 1);
      // Concurrent writers: the last one called wins.
      await Promise.all([store.set('k', Buffer.from('first')), store.set('k', Buffer.from('second'))]);
      assert.deepEqual(await store.get('k'), Buffer.from('second'));
    });

    it('deletes', async (t) => {
      const store = await open(t);
      await store.set('d', Buffer.from('x'));
      assert.equal(await store.delete('d'), true);
      assert.equal(await store.get('d'), undefined);
      assert.equal(await store.delete('d'), false);
      assert.equal(store.stats().entries, 0);
      assert.equal(store.stats().bytes, 0);
    });

    it('evicts the least recently used first', async (t) => {
      // Room for three chunks (with each backend's overhead), not four.
      const store = await open(t, Math.floor(CHUNK * 3.5));
      const data = (c: string) => Buffer.alloc(CHUNK, c);
      await store.set('a', data('a'));
      await store.set('b', data('b'));
      await store.set('c', data('c'));
      assert.deepEqual(await store.get('a'), data('a')); // a is now more recent than b
      await store.set('d', data('d'));
      assert.equal(await store.get('b'), undefined, 'b was least recently used');
      for (const k of ['a', 'c', 'd']) assert.deepEqual(await store.get(k), data(k), `${k} stays`);
      assert.equal(store.stats().entries, 3);
    });

    it('never holds more bytes than its limit', async (t) => {
      const limit = 20_000;
      const store = await open(t, limit);
      assert.equal(store.stats().limitBytes, limit);
      const kept = new Map<string, Buffer>();
      for (let i = 0; i < 60; i++) {
        const b = randomBytes(1 + ((i * 7919) % 3000));
        kept.set(`k${i}`, b);
        await store.set(`k${i}`, b);
        const s = store.stats();
        assert.ok(s.bytes <= limit, `after ${i + 1} sets: ${s.bytes} bytes > ${limit}`);
      }
      // What is still there is intact, and the newest chunk is there.
      let present = 0;
      for (const [k, b] of kept) {
        const got = await store.get(k);
        if (got) {
          present++;
          assert.deepEqual(got, b, k);
        }
      }
      assert.ok(present >= 1 && present < 60, `${present} present`);
      assert.deepEqual(await store.get('k59'), kept.get('k59'));
    });

    it('refuses a chunk larger than the limit, and drops an older value of its key', async (t) => {
      const store = await open(t, 4096);
      await store.set('big', Buffer.from('small'));
      await store.set('big', Buffer.alloc(8192, 1));
      assert.equal(await store.get('big'), undefined);
      assert.ok(store.stats().bytes <= 4096);
    });

    it('rejects an empty key with INVALID_ARGUMENT', async (t) => {
      const store = await open(t);
      await assert.rejects(store.set('', Buffer.from('x')), (e) => codeOf(e) === 'INVALID_ARGUMENT');
      await assert.rejects(store.get(''), (e) => codeOf(e) === 'INVALID_ARGUMENT');
    });

    it('closes twice, and refuses use after close', async (t) => {
      const store = await open(t);
      await store.set('x', Buffer.from('x'));
      await store.close();
      await store.close();
      await assert.rejects(store.get('x'), (e) => codeOf(e) === 'FAILED_PRECONDITION');
      await assert.rejects(store.set('y', Buffer.from('y')), (e) => codeOf(e) === 'FAILED_PRECONDITION');
    });

    it('survives a restart (persistent backends)', async (t) => {
      const s = await factory(t, { limitBytes: 1024 * 1024 });
      t.after(() => s.close());
      if (!s.reopen) {
        t.skip(`${name}: not persistent`);
        return;
      }
      const b = randomBytes(5000);
      await s.impl.set('persist', b);
      await s.impl.set('other', Buffer.from('x'));
      await s.impl.close();
      const again = await s.reopen();
      t.after(() => again.close());
      assert.deepEqual(await again.get('persist'), b);
      assert.equal(again.stats().entries, 2);
    });
  });
}
