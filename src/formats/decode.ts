// Decoding one fetched chunk (whole gzip members or zstd frames) with a bound on output.
// Pure: no I/O. Used by LayerIndex.read and by the chunk cache.

import { gunzipSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { invalidArgument } from '../errors.js';
import type { ChunkEncoding } from './layer-index.js';

/**
 * Decodes `data` (complete members/frames) and returns at most `maxOutput` bytes' worth;
 * output larger than maxOutput is corrupt input (a bomb) and rejected.
 */
export function decodeChunk(encoding: ChunkEncoding, data: Buffer, maxOutput: number): Buffer {
  switch (encoding) {
    case 'none':
      if (data.length > maxOutput) throw invalidArgument(`chunk of ${data.length} bytes exceeds ${maxOutput}`);
      return data;
    case 'zeros':
      return Buffer.alloc(0);
    case 'gzip':
      try {
        // gunzipSync decodes concatenated members; maxOutputLength bounds a bomb.
        return gunzipSync(data, { maxOutputLength: Math.max(1, maxOutput) });
      } catch (err) {
        throw invalidArgument(`corrupt gzip chunk: ${(err as Error).message}`, err);
      }
    case 'zstd': {
      let out: Uint8Array;
      try {
        // fzstd decodes concatenated frames; with a preallocated buffer it cannot grow past it.
        out = zstdDecompress(data, new Uint8Array(maxOutput + 1));
      } catch (err) {
        throw invalidArgument(`corrupt zstd chunk: ${(err as Error).message}`, err);
      }
      if (out.length > maxOutput) throw invalidArgument(`zstd chunk decodes past ${maxOutput} bytes`);
      return Buffer.from(out.buffer, out.byteOffset, out.length);
    }
  }
}
