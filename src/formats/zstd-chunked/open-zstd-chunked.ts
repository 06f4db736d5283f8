// openZstdChunked: a LayerIndex for a zstd:chunked blob from its TOC alone; file content
// is fetched per chunk (whole zstd frames), decompressed and verified later.

import type { LayerIndex } from '../layer-index.js';
import type { RangeReader } from '../range-reader.js';
import { ChunkedLayerIndex } from '../estargz/chunked-index.js';
import { readZstdChunkedToc } from './read-toc.js';
import { zstdChunkedContents } from './toc-entries.js';

/** The skippable frame header (magic + LE32 length) before the compressed TOC. */
const SKIPPABLE_FRAME_HEADER_BYTES = 8;

export interface ZstdChunkedOpenOptions {
  /** The layer descriptor's annotations (TOC position and checksum, either dialect). */
  annotations?: Readonly<Record<string, string>>;
  tailWindowBytes?: number;
  signal?: AbortSignal;
}

export async function openZstdChunked(reader: RangeReader, opts: ZstdChunkedOpenOptions = {}): Promise<LayerIndex> {
  const toc = await readZstdChunkedToc(reader, opts.annotations, opts);
  const dataEnd = Math.max(0, toc.position.offset - SKIPPABLE_FRAME_HEADER_BYTES);
  const contents = zstdChunkedContents(toc.json, dataEnd);
  return new ChunkedLayerIndex('zstd-chunked', contents.table, reader, { indexBytesRead: toc.bytesRead });
}
