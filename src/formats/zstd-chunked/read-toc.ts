// Fetching, verifying and decompressing a zstd:chunked TOC: one Range request when the
// annotations give its position; otherwise the blob's tail (footer, and usually the TOC
// too) and at most one more request.

import { Decompress as ZstdStream } from 'fzstd';
import { digestMismatch, invalidArgument, LazysnapError } from '../../errors.js';
import type { RangeReader } from '../range-reader.js';
import { positionFromAnnotations, positionFromFooter, type TocPosition } from './positions.js';
import { sha256Digest } from '../../reference/digest.js';
import { decodeZstdExactly } from '../zstd-frames.js';
import { decodeZstdInChildProcess } from '../zstd-process.js';

export const DEFAULT_TAIL_WINDOW_BYTES = 512 * 1024;
/**
 * TOCs at least this large are decoded by the zstd tool (zstd-process.ts says why); smaller
 * ones in-process, where the memory they touch is small and no process start is paid.
 */
const CHILD_DECODE_MIN_BYTES = 256 * 1024;
/** The message when the blob simply is not zstd:chunked (open-layer tells this apart). */
export const NO_FOOTER = 'blob has neither zstd:chunked annotations nor a zstd:chunked footer';

export interface ReadZstdToc {
  readonly json: unknown;
  readonly position: TocPosition;
  readonly bytesRead: number;
}

export async function readZstdChunkedToc(reader: RangeReader, annotations: Readonly<Record<string, string>> | undefined,
  opts: { tailWindowBytes?: number; signal?: AbortSignal } = {}): Promise<ReadZstdToc> {
  let position = positionFromAnnotations(annotations);
  let compressed: Buffer;
  let bytesRead = 0;
  if (position) {
    checkInside(position, reader.size);
    compressed = await reader.readAt(position.offset, position.compressedLength, opts.signal);
    bytesRead = compressed.length;
  } else {
    const windowStart = Math.max(0, reader.size - (opts.tailWindowBytes ?? DEFAULT_TAIL_WINDOW_BYTES));
    const tail = await reader.readAt(windowStart, reader.size - windowStart, opts.signal);
    bytesRead = tail.length;
    position = positionFromFooter(tail);
    if (!position) throw invalidArgument(NO_FOOTER);
    checkInside(position, reader.size);
    const end = position.offset + position.compressedLength;
    if (position.offset >= windowStart) {
      compressed = tail.subarray(position.offset - windowStart, end - windowStart);
    } else {
      const head = await reader.readAt(position.offset, Math.min(end, windowStart) - position.offset, opts.signal);
      bytesRead += head.length;
      compressed = end <= windowStart ? head : Buffer.concat([head, tail.subarray(0, end - windowStart)]);
    }
  }
  if (position.checksum !== undefined) {
    const got = sha256Digest(compressed);
    if (got !== position.checksum) throw digestMismatch(`zstd:chunked TOC has checksum ${got}, the layer annotation says ${position.checksum}`);
  }
  const text = await decompressExactly(compressed, position.uncompressedLength);
  let json: unknown;
  try {
    json = JSON.parse(text.toString('utf8'));
  } catch (err) {
    throw invalidArgument(`zstd:chunked TOC is not valid JSON: ${(err as Error).message}`, err);
  }
  return { json, position, bytesRead };
}

function checkInside(p: TocPosition, size: number): void {
  if (p.offset + p.compressedLength > size) {
    throw invalidArgument(`zstd:chunked TOC at [${p.offset}, +${p.compressedLength}) (from the ${p.source}) lies past the blob's end (${size} bytes)`);
  }
}

/** Decompresses into a buffer of the stated length; any other length is corrupt input. */
async function decompressExactly(compressed: Buffer, length: number): Promise<Buffer> {
  const exact = (length >= CHILD_DECODE_MIN_BYTES ? await decodeZstdInChildProcess(compressed, length) : undefined)
    ?? decodeZstdExactly(compressed, length);
  if (exact) return exact;
  // It did not decode to exactly `length`: the pure-JS decoder says why, bounded as it goes.
  const out = Buffer.alloc(length);
  let n = 0;
  const stream = new ZstdStream((chunk) => {
    if (n + chunk.length > length) throw invalidArgument(`zstd:chunked TOC decompresses past its stated ${length} bytes`);
    out.set(chunk, n);
    n += chunk.length;
  });
  try {
    stream.push(compressed, true);
  } catch (err) {
    if (err instanceof LazysnapError) throw err;
    throw invalidArgument(`zstd:chunked TOC does not decompress: ${(err as Error).message}`, err);
  }
  if (n !== length) throw invalidArgument(`zstd:chunked TOC decompresses to ${n} bytes, its position says ${length}`);
  return out;
}
