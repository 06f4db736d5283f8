// The fallback for plain gzip/zstd layers, which cannot be read at random: fetch the
// whole blob once, decompress it into a local uncompressed tar (parsing headers on the
// way), verify the blob digest, then serve files from the local copy as 'none' chunks.
// A completed copy (tar + entry list) is reused without refetching.

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { digestMismatch, findLazysnapError, invalidArgument, unavailable } from '../../errors.js';
import { FileRangeReader } from '../file-range-reader.js';
import type { LayerIndex } from '../layer-index.js';
import type { RangeReader } from '../range-reader.js';
import type { TarParseOptions } from '../tar/tar-decoder.js';
import { parseTarStream } from '../tar/parse-tar-stream.js';
import { DEFAULT_CHUNK_BYTES, PlainLayerIndex, type PlacedEntry } from '../tar/plain-index.js';
import { decompressStream, type StreamFormat } from './decompress.js';
import { readEntryList, writeEntryList } from './entry-list-file.js';
import { freeSpaceCap } from './free-space.js';

export interface StreamedIndexOptions {
  readonly format: StreamFormat;
  /** Opens the compressed blob from `offset` (always 0 today: no resume yet). */
  openStream(offset: number): Promise<AsyncIterable<Uint8Array>>;
  /** `sha256:<hex>` of the compressed blob; verified before the local copy is kept. */
  readonly blobDigest: string;
  /** Where the local tar and its entry list live (created if missing). */
  readonly localDir: string;
  /** Bomb guard. Default: free space of localDir's filesystem minus a margin. */
  readonly maxUncompressedBytes?: number;
  readonly signal?: AbortSignal;
  onProgress?(uncompressedBytes: number, compressedBytes: number): void;
  readonly parse?: TarParseOptions;
  readonly chunkBytes?: number;
}

export interface StreamedLayerIndex extends LayerIndex {
  /** The local uncompressed tar that chunks() point into. */
  readonly localReader: RangeReader;
  readonly localPath: string;
  /** Closes the local file (idempotent). */
  close(): Promise<void>;
}

class StreamedIndex extends PlainLayerIndex implements StreamedLayerIndex {
  constructor(format: StreamFormat, placed: readonly PlacedEntry[], readonly localReader: FileRangeReader,
    compressedSize: number, chunkBytes: number) {
    super(format, placed, localReader, { indexBytesRead: compressedSize, uncompressedSize: localReader.size }, chunkBytes);
  }
  get localPath(): string {
    return this.localReader.path;
  }
  close(): Promise<void> {
    return this.localReader.close();
  }
}

const DIGEST_RE = /^sha256:([0-9a-f]{64})$/;

export async function openStreamedIndex(opts: StreamedIndexOptions): Promise<StreamedLayerIndex> {
  const m = DIGEST_RE.exec(opts.blobDigest);
  if (!m) throw invalidArgument(`layer digest ${JSON.stringify(opts.blobDigest)} is not a sha256 digest`);
  if (opts.format !== 'gzip' && opts.format !== 'zstd') throw invalidArgument(`streamed layer format ${JSON.stringify(opts.format)} is not gzip or zstd`);
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const tarPath = join(opts.localDir, `${m[1]}.tar`);
  const listPath = join(opts.localDir, `${m[1]}.entries.json`);

  const reused = await reuse(opts, tarPath, listPath, chunkBytes);
  if (reused) return reused;

  await mkdir(opts.localDir, { recursive: true });
  const { placed, compressedSize } = await fetchToFile(opts, m[1]!, tarPath);
  const reader = await FileRangeReader.open(tarPath);
  try {
    await writeEntryList(listPath, { blobDigest: opts.blobDigest, format: opts.format, tarSize: reader.size, compressedSize, placed });
    return new StreamedIndex(opts.format, placed, reader, compressedSize, chunkBytes);
  } catch (err) {
    await reader.close();
    throw err;
  }
}

async function reuse(opts: StreamedIndexOptions, tarPath: string, listPath: string, chunkBytes: number): Promise<StreamedIndex | undefined> {
  const rec = await readEntryList(listPath, opts.blobDigest);
  if (!rec || rec.format !== opts.format) return undefined;
  const st = await stat(tarPath).catch(() => undefined);
  if (!st || st.size !== rec.tarSize) return undefined;
  const reader = await FileRangeReader.open(tarPath);
  try {
    return new StreamedIndex(opts.format, rec.placed, reader, rec.compressedSize, chunkBytes);
  } catch (err) {
    // An entry list that does not fit its tar: fetch again.
    await reader.close();
    if (findLazysnapError(err)?.code === 'INVALID_ARGUMENT') return undefined;
    throw err;
  }
}

async function fetchToFile(opts: StreamedIndexOptions, hex: string, tarPath: string): Promise<{ placed: PlacedEntry[]; compressedSize: number }> {
  const what = `layer ${opts.blobDigest}`;
  const cap = opts.maxUncompressedBytes ?? (await freeSpaceCap(opts.localDir));
  if (!Number.isSafeInteger(cap) || cap < 0) throw invalidArgument(`maxUncompressedBytes ${cap} is not a byte count`);
  const tmpPath = `${tarPath}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  const fh = await open(tmpPath, 'wx', 0o600);
  let kept = false;
  try {
    const hash = createHash('sha256');
    let compressed = 0;
    let uncompressed = 0;
    const signal = opts.signal;
    let source: AsyncIterable<Uint8Array>;
    try {
      source = await opts.openStream(0);
    } catch (err) {
      throw findLazysnapError(err) ?? unavailable(`cannot fetch ${what}: ${(err as Error).message}`, err);
    }
    async function* hashed(): AsyncGenerator<Uint8Array> {
      const it = source[Symbol.asyncIterator]();
      try {
        for (;;) {
          signal?.throwIfAborted();
          let r: IteratorResult<Uint8Array>;
          try {
            r = await it.next();
          } catch (err) {
            // The fetch failed (not the data): keep the fetcher's class, else UNAVAILABLE.
            throw findLazysnapError(err) ?? unavailable(`fetching ${what} failed after ${compressed} bytes: ${(err as Error).message}`, err);
          }
          if (r.done) return;
          hash.update(r.value);
          compressed += r.value.length;
          yield r.value;
        }
      } finally {
        await it.return?.();
      }
    }
    async function* teed(): AsyncGenerator<Buffer> {
      for await (const chunk of decompressStream(opts.format, hashed(), what)) {
        uncompressed += chunk.length;
        if (uncompressed > cap) {
          throw invalidArgument(`${what} decompresses past ${cap} bytes (maxUncompressedBytes): refusing a decompression bomb`);
        }
        // Awaiting the write is the backpressure: nothing more is fetched until it lands.
        await fh.write(chunk);
        opts.onProgress?.(uncompressed, compressed);
        yield chunk;
      }
    }
    const placed: PlacedEntry[] = [];
    for await (const item of parseTarStream(teed(), opts.parse)) placed.push({ entry: item.entry, dataOffset: item.dataOffset });
    const actual = hash.digest('hex');
    if (actual !== hex) throw digestMismatch(`${what} has digest sha256:${actual}`);
    await fh.sync();
    await fh.close();
    await rename(tmpPath, tarPath);
    kept = true;
    return { placed, compressedSize: compressed };
  } finally {
    if (!kept) {
      await fh.close().catch(() => {});
      await unlink(tmpPath).catch(() => {});
    }
  }
}
