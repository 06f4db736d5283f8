// Decoding one fetched chunk (whole gzip members or zstd frames) with a bound on output.
// Pure: no I/O. Used by LayerIndex.read and by the chunk cache.
//
// A fetched range may decode to more than the chunk: an eStargz member carries the tar
// padding after a file's last chunk and the headers of the entries that follow it, up to
// the next file's payload. So the bound is where decoding stops, not an error: the caller
// gets the first `maxOutput` bytes. What a member decodes to past that is never kept
// beyond LIMITS.maxChunkBytes (a bomb is rejected, not buffered).

import { gunzipSync } from 'node:zlib';
import { Decompress as ZstdStream } from 'fzstd';
import { digestMismatch, invalidArgument } from '../errors.js';
import { LIMITS, type ChunkEncoding, type ChunkRef } from './layer-index.js';
import { sha256Digest } from '../reference/digest.js';
import { decodeZstdExactly } from './zstd-frames.js';

/** Room past the wanted bytes in gzip's output buffer: a member's tar padding and the headers that follow. */
const GZIP_TAIL_BYTES = 16 * 1024;

/** Thrown inside the zstd output callback to stop decoding once enough bytes are out. */
const ENOUGH = Symbol('enough');

/**
 * Decodes `data` (complete members/frames) and returns at most `maxOutput` bytes: the
 * first maxOutput bytes of the decoded stream (fewer when the stream is shorter).
 */
export function decodeChunk(encoding: ChunkEncoding, data: Buffer, maxOutput: number): Buffer {
  switch (encoding) {
    case 'none':
      if (data.length > maxOutput) throw invalidArgument(`chunk of ${data.length} bytes exceeds ${maxOutput}`);
      return data;
    case 'zeros':
      return Buffer.alloc(0);
    case 'gzip': {
      let out: Buffer;
      try {
        // gunzipSync decodes concatenated members; maxOutputLength bounds a bomb. Node's
        // sync API cannot stop early, so trailing bytes up to the chunk cap are tolerated.
        // Its output comes in chunkSize pieces, concatenated at the end: sized to what is
        // wanted plus the usual tail (tar padding, the next entries' headers), a member
        // decodes into one buffer, with no copy (the default 16 KiB cost a cold start's
        // prefetch ~12 ms of allocating and copying on the JS thread). Capped at 64x the
        // input, so that a TOC's claimed size alone never sizes an allocation.
        out = gunzipSync(data, { maxOutputLength: Math.max(1, maxOutput, LIMITS.maxChunkBytes), chunkSize: Math.min(maxOutput, data.length * 64) + GZIP_TAIL_BYTES });
      } catch (err) {
        throw invalidArgument(`corrupt gzip chunk: ${(err as Error).message}`, err);
      }
      return out.length > maxOutput ? out.subarray(0, maxOutput) : out;
    }
    case 'zstd': {
      // Frames that hold exactly what is asked for (zstd:chunked chunks do): the reference
      // decoder (zstd-frames.ts). Anything else (trailing data, corruption): fzstd, whose
      // one-shot decompress() mishandles a caller-supplied buffer (it returns the
      // whole buffer, and throws on several frames), so stream block by block (<= 128 KiB
      // each), stopping as soon as maxOutput bytes are out.
      const exact = decodeZstdExactly(data, maxOutput);
      if (exact) return exact;
      const parts: Uint8Array[] = [];
      let total = 0;
      const stream = new ZstdStream((chunk) => {
        parts.push(chunk.slice());
        total += chunk.length;
        if (total >= maxOutput) throw ENOUGH;
      });
      try {
        if (maxOutput > 0) stream.push(data, true);
      } catch (err) {
        if (err !== ENOUGH) throw invalidArgument(`corrupt zstd chunk: ${(err as Error).message}`, err);
      }
      const out = Buffer.concat(parts, total);
      return out.length > maxOutput ? out.subarray(0, maxOutput) : out;
    }
  }
}

/**
 * Fetched blob bytes -> one chunk's content: decode (bounded by innerOffset + size), slice
 * at innerOffset, verify the chunk digest. Never returns bytes that failed a check.
 * `what` names the chunk in errors.
 */
export function decodeChunkContent(c: ChunkRef, raw: Buffer, what: string | (() => string)): Buffer {
  // Named only when something fails: a prefetch decodes thousands of chunks.
  const name = (): string => (typeof what === 'string' ? what : what());
  const want = c.innerOffset + c.size;
  const decoded = decodeChunk(c.encoding, raw, want);
  if (decoded.length < want) throw invalidArgument(`${name()} decodes to ${decoded.length} bytes, expected ${want}`);
  const data = decoded.subarray(c.innerOffset, want);
  if (c.digest !== undefined) {
    const got = sha256Digest(data);
    if (got !== c.digest) throw digestMismatch(`${name()} has content ${got}, expected ${c.digest}`);
  }
  return data;
}
