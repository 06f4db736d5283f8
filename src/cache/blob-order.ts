// BlobOrder: every fetchable chunk of a layer, sorted by where it lies in the blob, one
// per cache key. Built once, on first need, from index.entries() and index.chunks(): it
// is what lets a miss extend its request into the next files of the layer (small files
// that sit side by side in the blob are usually read together) and what prefetch walks.

import type { ChunkRef, LayerIndex } from '../formats/layer-index.js';

export interface KeyedChunk {
  readonly chunk: ChunkRef;
  readonly key: string;
}

export class BlobOrder {
  private list: KeyedChunk[] | undefined;

  /** `accept` filters out chunks that cannot be fetched (zeros, bad fields). */
  constructor(
    private readonly index: LayerIndex,
    private readonly keyOf: (c: ChunkRef) => string,
    private readonly accept: (c: ChunkRef) => boolean,
  ) {}

  get all(): readonly KeyedChunk[] {
    this.list ??= this.build();
    return this.list;
  }

  /** Position of the first chunk whose blobOffset is >= offset (all.length if none). */
  firstAtOrAfter(offset: number): number {
    const list = this.all;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]!.chunk.blobOffset < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private build(): KeyedChunk[] {
    const seen = new Set<string>();
    const out: KeyedChunk[] = [];
    for (const entry of this.index.entries()) {
      if (entry.type !== 'reg' || entry.size === 0) continue;
      for (const chunk of this.index.chunks(entry)) {
        if (!this.accept(chunk)) continue;
        const key = this.keyOf(chunk);
        if (seen.has(key)) continue; // same content elsewhere (a digest key): fetch it once
        seen.add(key);
        out.push({ chunk, key });
      }
    }
    out.sort((a, b) => a.chunk.blobOffset - b.chunk.blobOffset || a.chunk.innerOffset - b.chunk.innerOffset);
    return out;
  }
}
