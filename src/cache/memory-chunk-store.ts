// MemoryChunkStore: the first cache level, an LRU bounded in bytes (lru-cache does the
// bookkeeping; we only say how big a value is).

import { LRUCache } from 'lru-cache';
import { checkKey, checkLimit, closedError, type ChunkStore, type ChunkStoreStats } from './chunk-store.js';

export class MemoryChunkStore implements ChunkStore {
  private readonly lru: LRUCache<string, Buffer>;
  private closed = false;

  /** `memoryCacheBytes`: the most bytes of chunk data held at once. */
  constructor(readonly memoryCacheBytes: number) {
    checkLimit(memoryCacheBytes, 'memoryCacheBytes');
    this.lru = new LRUCache<string, Buffer>({
      maxSize: memoryCacheBytes,
      // lru-cache wants a positive size; an empty chunk still costs an entry.
      sizeCalculation: (b) => Math.max(1, b.length),
    });
  }

  async get(key: string): Promise<Buffer | undefined> {
    this.check(key);
    return this.lru.get(key);
  }

  async set(key: string, data: Buffer): Promise<void> {
    this.check(key);
    // A slice of a larger buffer (one chunk of a coalesced Range response) would pin the
    // whole response and make the byte bound a lie: keep a private copy of just the chunk.
    // allocUnsafeSlow because small Buffers come from a shared 8 KiB pool.
    let own = data;
    if (data.byteOffset !== 0 || data.buffer.byteLength !== data.length) {
      own = Buffer.allocUnsafeSlow(data.length);
      data.copy(own);
    }
    // Too big for the cache at all: lru-cache refuses it (and drops an older value).
    this.lru.set(key, own);
  }

  async has(key: string): Promise<boolean> {
    this.check(key);
    return this.lru.has(key);
  }

  async delete(key: string): Promise<boolean> {
    this.check(key);
    return this.lru.delete(key);
  }

  stats(): ChunkStoreStats {
    return { bytes: this.lru.calculatedSize, entries: this.lru.size, limitBytes: this.memoryCacheBytes };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.lru.clear();
  }

  private check(key: string): void {
    if (this.closed) throw closedError('memory chunk store');
    checkKey(key);
  }
}
