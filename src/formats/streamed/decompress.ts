// Streaming decompression of a whole gzip or zstd layer blob, with backpressure.
// gzip: node:zlib (handles concatenated members). zstd: fzstd's streaming Decompress
// (node 20 has no zstd in zlib).

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { findLazysnapError, invalidArgument } from '../../errors.js';

export type StreamFormat = 'gzip' | 'zstd';

/**
 * fzstd decodes synchronously and hands out every block of a pushed slice at once; a
 * zstd RLE block turns 4 input bytes into 128 KiB, so the input is fed in small slices
 * to bound what one push can produce (1 KiB in -> at most ~32 MiB out).
 */
const ZSTD_FEED_BYTES = 1024;

export function decompressStream(format: StreamFormat, source: AsyncIterable<Uint8Array>, what: string): AsyncIterable<Buffer> {
  return format === 'gzip' ? gunzipStream(source, what) : unzstdStream(source, what);
}

function corrupt(format: StreamFormat, what: string, err: unknown): Error {
  return findLazysnapError(err) ?? invalidArgument(`corrupt or truncated ${format} stream in ${what}: ${(err as Error).message}`, err);
}

async function* gunzipStream(source: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<Buffer> {
  // 64 KiB output pieces: fewer, larger local writes than the 16 KiB default.
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  // The pipeline's own rejection is reported through the gunzip iterator below.
  const done = pipeline(Readable.from(source, { objectMode: false }), gunzip).catch(() => {});
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (err) {
    throw corrupt('gzip', what, err);
  } finally {
    gunzip.destroy();
    await done;
  }
}

async function* unzstdStream(source: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<Buffer> {
  let out: Buffer[] = [];
  let ended = false;
  const d = new Decompress((data, final) => {
    // Copy: fzstd may reuse the memory behind a block once the next one is decoded.
    if (data.length > 0) out.push(Buffer.from(data));
    if (final) ended = true;
  });
  const push = (bytes: Uint8Array, final: boolean) => {
    try {
      d.push(bytes, final);
    } catch (err) {
      throw corrupt('zstd', what, err);
    }
  };
  for await (const chunk of source) {
    for (let i = 0; i < chunk.length; i += ZSTD_FEED_BYTES) {
      push(chunk.subarray(i, i + ZSTD_FEED_BYTES), false);
      if (out.length > 0) {
        const batch = out;
        out = [];
        yield* batch;
      }
    }
  }
  push(new Uint8Array(0), true);
  yield* out;
  if (!ended) throw invalidArgument(`truncated zstd stream in ${what}`);
}
