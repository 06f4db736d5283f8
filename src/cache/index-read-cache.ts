// The reads that open a layer's index (the footer window, the TOC) go through the chunk
// store too, keyed by blob, offset and length. So `pull` (which opens every index) leaves
// the TOCs in the disk cache, and a later mount or `cat` of that image starts without
// fetching them again. The bytes are raw blob ranges; the format reader still verifies the
// TOC against its digest, and the disk store verifies what it reads back.
// Only the disk level: these bytes are read once per open, and in the memory level a TOC
// (640 KB for debian's zstd:chunked layer) sat for as long as a mount served, read never.

import type { RangeReader } from '../formats/range-reader.js';
import type { ChunkStore } from './chunk-store.js';
import { TwoLevelChunkStore } from './two-level-chunk-store.js';

export class IndexReadCache implements RangeReader {
  private readonly store: ChunkStore;
  /** Index reads that had to go to the blob: none means this layer was opened here before. */
  fromBlob = 0;

  constructor(private readonly inner: RangeReader, store: ChunkStore, private readonly blobDigest: string) {
    this.store = store instanceof TwoLevelChunkStore ? store.disk : store;
  }

  get size(): number {
    return this.inner.size;
  }

  async readAt(offset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    const key = `index:${this.blobDigest}:${offset}:${length}`;
    const hit = await this.store.get(key);
    if (hit && hit.length === length) return hit;
    this.fromBlob++;
    const bytes = await this.inner.readAt(offset, length, signal);
    // A cache: a failed write only costs a later fetch.
    await this.store.set(key, bytes).catch(() => {});
    return bytes;
  }
}
