// openEstargz: a LayerIndex for an eStargz blob from its footer and TOC alone (one or
// two Range requests); file content is fetched per chunk, gunzipped and verified later.

import type { LayerIndex } from '../layer-index.js';
import type { RangeReader } from '../range-reader.js';
import { ChunkedLayerIndex } from './chunked-index.js';
import { readEstargzToc } from './read-toc.js';
import { estargzContents } from './toc-entries.js';

export interface EstargzOpenOptions {
  /** The layer's `containerd.io/snapshot/stargz/toc.digest` annotation: verified when given. */
  tocDigest?: string;
  /** The layer's `io.containers.estargz.uncompressed-size` annotation, reported in info. */
  uncompressedSize?: number;
  /** Bytes of the blob's tail fetched first (default 512 KiB). */
  tailWindowBytes?: number;
  signal?: AbortSignal;
  /** Hears the `.prefetch.landmark` offset as soon as the TOC's entries reach it. */
  onPrefetchEnd?: (end: number) => void;
}

export async function openEstargz(reader: RangeReader, opts: EstargzOpenOptions = {}): Promise<LayerIndex> {
  const toc = await readEstargzToc(reader, opts);
  const contents = estargzContents(toc.json, toc.tocOffset, opts.onPrefetchEnd);
  const size = opts.uncompressedSize;
  return new ChunkedLayerIndex('estargz', contents.table, reader, {
    indexBytesRead: toc.bytesRead,
    ...(contents.prefetchEnd !== undefined ? { prefetchEnd: contents.prefetchEnd } : {}),
    ...(contents.noPrefetch ? { noPrefetch: true } : {}),
    ...(size !== undefined && Number.isSafeInteger(size) && size >= 0 ? { uncompressedSize: size } : {}),
  });
}
