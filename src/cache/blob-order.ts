// BlobOrder: every fetchable chunk of a layer, sorted by where it lies in the blob, one
// per cache key. Built once, on first need, from index.entries() and index.chunks(): it
// is what lets a miss extend its request into the next files of the layer (small files
// that sit side by side in the blob are usually read together) and what prefetch walks.
//
// Kept as columns (entry position, chunk number, blob range: 24 bytes a chunk); the chunk
// and its key are made again when asked for. As objects, the order cost ~200 bytes a
// chunk for as long as the mount served, from its first read on: more than the index.

import type { ChunkRef, LayerIndex } from '../formats/layer-index.js';

export interface KeyedChunk {
  readonly chunk: ChunkRef;
  readonly key: string;
}

interface Order {
  readonly entry: Uint32Array;
  readonly chunk: Uint32Array;
  readonly blobOffset: Float64Array;
  readonly blobEnd: Float64Array;
}

export class BlobOrder {
  private order: Order | undefined;

  /** `accept` filters out chunks that cannot be fetched (zeros, bad fields). */
  constructor(
    private readonly index: LayerIndex,
    private readonly keyOf: (c: ChunkRef) => string,
    private readonly accept: (c: ChunkRef) => boolean,
  ) {}

  /** Number of chunks in the order. */
  get length(): number {
    return this.built.entry.length;
  }

  /** The i-th chunk in blob order, with its key. */
  at(i: number): KeyedChunk {
    const o = this.built;
    const entry = this.index.entries()[o.entry[i]!]!;
    const chunk = this.index.chunks(entry)[o.chunk[i]!]!;
    return { chunk, key: this.keyOf(chunk) };
  }

  /** Where the i-th chunk's blob bytes start and end. */
  blobOffsetAt(i: number): number {
    return this.built.blobOffset[i]!;
  }

  blobEndAt(i: number): number {
    return this.built.blobEnd[i]!;
  }

  /** Position of the first chunk whose blobOffset is >= offset (length if none). */
  firstAtOrAfter(offset: number): number {
    const starts = this.built.blobOffset;
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private get built(): Order {
    this.order ??= this.build();
    return this.order;
  }

  private build(): Order {
    const seen = new Set<string>();
    const found: { entry: number; chunk: number; blobOffset: number; innerOffset: number; blobEnd: number }[] = [];
    this.index.entries().forEach((entry, e) => {
      if (entry.type !== 'reg' || entry.size === 0) return;
      this.index.chunks(entry).forEach((c, k) => {
        if (!this.accept(c)) return;
        const key = this.keyOf(c);
        if (seen.has(key)) return; // same content elsewhere (a digest key): fetch it once
        seen.add(key);
        found.push({ entry: e, chunk: k, blobOffset: c.blobOffset, innerOffset: c.innerOffset, blobEnd: c.blobOffset + c.blobLength });
      });
    });
    found.sort((a, b) => a.blobOffset - b.blobOffset || a.innerOffset - b.innerOffset);
    const order: Order = {
      entry: new Uint32Array(found.length),
      chunk: new Uint32Array(found.length),
      blobOffset: new Float64Array(found.length),
      blobEnd: new Float64Array(found.length),
    };
    found.forEach((f, i) => {
      order.entry[i] = f.entry;
      order.chunk[i] = f.chunk;
      order.blobOffset[i] = f.blobOffset;
      order.blobEnd[i] = f.blobEnd;
    });
    return order;
  }
}
