// BlobOrder: every fetchable chunk of a layer, sorted by where it lies in the blob. Built
// once, on first need (the first miss or prefetch), from the index: it is what lets a miss
// extend its request into the next files of the layer (small files that sit side by side
// in the blob are usually read together) and what prefetch walks. The same content twice
// (two chunks, one digest key) is listed twice: load() and the request planner work by
// key, so it is still fetched once.
//
// Kept as columns (entry position, chunk number, blob range: 24 bytes a chunk); the chunk
// and its key are made again when asked for. As objects, the order cost ~200 bytes a
// chunk for as long as the mount served, from its first read on: more than the index.
// Built through index.forEachChunk, which the chunked indexes answer without making a
// ChunkRef per chunk: it is built on the cold path, when prefetch starts.

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

  /** `accept` filters out chunks that cannot be fetched (zeros, bad fields); it must not keep `c`. */
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
    const chunk = this.index.chunks(this.index.entryAt(o.entry[i]!))[o.chunk[i]!]!;
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
    const entry: number[] = [];
    const chunk: number[] = [];
    const start: number[] = [];
    const inner: number[] = [];
    const end: number[] = [];
    const visit = (e: number, k: number, c: ChunkRef): void => {
      if (!this.accept(c)) return;
      entry.push(e);
      chunk.push(k);
      start.push(c.blobOffset);
      inner.push(c.innerOffset);
      end.push(c.blobOffset + c.blobLength);
    };
    this.index.forEachChunk(visit);
    const n = entry.length;
    let sorted = true;
    for (let i = 1; i < n && sorted; i++) sorted = start[i - 1]! < start[i]! || (start[i - 1] === start[i] && inner[i - 1]! <= inner[i]!);
    // TOC order is blob order for the chunked formats: the sort (and its permutation) is for the others.
    const perm = sorted ? undefined : Array.from({ length: n }, (_, i) => i).sort((a, b) => start[a]! - start[b]! || inner[a]! - inner[b]!);
    const order: Order = {
      entry: new Uint32Array(n),
      chunk: new Uint32Array(n),
      blobOffset: new Float64Array(n),
      blobEnd: new Float64Array(n),
    };
    for (let i = 0; i < n; i++) {
      const p = perm ? perm[i]! : i;
      order.entry[i] = entry[p]!;
      order.chunk[i] = chunk[p]!;
      order.blobOffset[i] = start[p]!;
      order.blobEnd[i] = end[p]!;
    }
    return order;
  }
}
