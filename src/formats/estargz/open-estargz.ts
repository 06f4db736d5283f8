// openEstargz: a LayerIndex for an eStargz blob from its footer and TOC alone (one or
// two Range requests); file content is fetched per chunk, gunzipped and verified later.

import { setImmediate as nextTurn } from 'node:timers/promises';
import type { LayerIndex } from '../layer-index.js';
import type { RangeReader } from '../range-reader.js';
import { ChunkedLayerIndex } from './chunked-index.js';
import { readEstargzToc } from './read-toc.js';
import { estargzContents, prefetchLandmarkOffset } from './toc-entries.js';

export interface EstargzOpenOptions {
  /** The layer's `containerd.io/snapshot/stargz/toc.digest` annotation: verified when given. */
  tocDigest?: string;
  /** The layer's `io.containers.estargz.uncompressed-size` annotation, reported in info. */
  uncompressedSize?: number;
  /** Bytes of the blob's tail fetched first (default 512 KiB). */
  tailWindowBytes?: number;
  signal?: AbortSignal;
  /** Hears the `.prefetch.landmark` offset as soon as the TOC is read, before its entries are built. */
  onPrefetchEnd?: (end: number) => void;
}

export async function openEstargz(reader: RangeReader, opts: EstargzOpenOptions = {}): Promise<LayerIndex> {
  const toc = await readEstargzToc(reader, opts);
  const prefetchEnd = opts.onPrefetchEnd ? prefetchLandmarkOffset(toc.json, toc.tocOffset) : undefined;
  if (prefetchEnd !== undefined) {
    opts.onPrefetchEnd?.(prefetchEnd);
    // Two turns of the event loop, so that the fetch it started reaches the wire now, not
    // after the entries are built (one synchronous stretch, ~70 ms on a large TOC) and the
    // tree (another ~100 ms once all layers are open). undici writes a request on a reused
    // keep-alive socket from a setImmediate of its own, queued behind our first turn.
    await nextTurn();
    await nextTurn();
  }
  const contents = estargzContents(toc.json, toc.tocOffset);
  const size = opts.uncompressedSize;
  return new ChunkedLayerIndex('estargz', contents.table, reader, {
    indexBytesRead: toc.bytesRead,
    ...(contents.prefetchEnd !== undefined ? { prefetchEnd: contents.prefetchEnd } : {}),
    ...(contents.noPrefetch ? { noPrefetch: true } : {}),
    ...(size !== undefined && Number.isSafeInteger(size) && size >= 0 ? { uncompressedSize: size } : {}),
  });
}
