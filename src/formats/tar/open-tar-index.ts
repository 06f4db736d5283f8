// LayerIndex for an uncompressed tar layer: one scan of the headers through Range reads
// (payloads are skipped, not fetched), then file content is read in place.

import type { LayerIndex } from '../layer-index.js';
import type { RangeReader } from '../range-reader.js';
import type { TarParseOptions } from './tar-decoder.js';
import { scanTar } from './tar-scan.js';
import { DEFAULT_HEADER_WINDOW_BYTES, RangeSource } from './range-source.js';
import { DEFAULT_CHUNK_BYTES, PlainLayerIndex, type PlacedEntry } from './plain-index.js';

export interface TarIndexOptions extends TarParseOptions {
  /** Bytes fetched per header read; a window serves every header inside it. Default 64 KiB. */
  headerWindowBytes?: number;
  /** Largest chunk chunks() returns. Default 1 MiB. */
  chunkBytes?: number;
  signal?: AbortSignal;
}

export async function openTarIndex(reader: RangeReader, opts: TarIndexOptions = {}): Promise<LayerIndex> {
  const src = new RangeSource(reader, opts.headerWindowBytes ?? DEFAULT_HEADER_WINDOW_BYTES, opts.signal);
  const placed: PlacedEntry[] = [];
  for await (const s of scanTar(src, opts)) placed.push({ entry: s.entry, dataOffset: s.dataOffset });
  return new PlainLayerIndex('tar', placed, reader, { indexBytesRead: src.bytesRead, uncompressedSize: reader.size }, opts.chunkBytes ?? DEFAULT_CHUNK_BYTES);
}
