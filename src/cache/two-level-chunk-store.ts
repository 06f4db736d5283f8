// TwoLevelChunkStore: memory over disk. Reads try memory, then disk (a disk hit is
// promoted to memory, since it is likely to be read again soon); writes go to both, so a
// chunk evicted from memory is still one local read away. It owns both levels: close()
// closes them.

import { closedError, type ChunkStore, type ChunkStoreStats, type RecencyTouch } from './chunk-store.js';

export interface TwoLevelStats extends ChunkStoreStats {
  readonly memory: ChunkStoreStats;
  readonly disk: ChunkStoreStats;
}

export class TwoLevelChunkStore implements ChunkStore {
  private closing: Promise<void> | undefined;

  constructor(readonly memory: ChunkStore, readonly disk: ChunkStore & Partial<RecencyTouch>) {}

  async get(key: string): Promise<Buffer | undefined> {
    this.check();
    const hot = await this.memory.get(key);
    if (hot) {
      this.disk.touch?.(key);
      return hot;
    }
    const cold = await this.disk.get(key);
    if (cold) await this.memory.set(key, cold);
    return cold;
  }

  async set(key: string, data: Buffer): Promise<void> {
    this.check();
    await Promise.all([this.memory.set(key, data), this.disk.set(key, data)]);
  }

  async has(key: string): Promise<boolean> {
    this.check();
    return (await this.memory.has(key)) || this.disk.has(key);
  }

  async delete(key: string): Promise<boolean> {
    this.check();
    const [m, d] = await Promise.all([this.memory.delete(key), this.disk.delete(key)]);
    return m || d;
  }

  /** Top-level figures are the disk's (the larger level, which holds what memory holds). */
  stats(): TwoLevelStats {
    const memory = this.memory.stats();
    const disk = this.disk.stats();
    return { ...disk, memory, disk };
  }

  close(): Promise<void> {
    this.closing ??= Promise.all([this.memory.close(), this.disk.close()]).then(() => {});
    return this.closing;
  }

  private check(): void {
    if (this.closing) throw closedError('chunk store');
  }
}
