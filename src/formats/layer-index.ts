// LayerIndex: one interface for every layer format (eStargz, zstd:chunked, tar, and the
// gzip/zstd fallback). Lifecycle: a format's `open*` function reads what it needs (footer,
// TOC, tar headers) through a RangeReader and returns a LayerIndex; `entries()` lists the
// layer in tar order (duplicates and whiteouts included: src/tree applies overlay rules);
// `chunks(entry)` says where each piece of a regular file's content lives in the blob, so
// the chunk cache (src/cache) can fetch, coalesce, decode, verify and cache it without
// knowing the format. `read` is the convenience path for callers without a cache.

import type { LayerEntry } from './layer-entry.js';

export type LayerFormat = 'estargz' | 'zstd-chunked' | 'tar' | 'gzip' | 'zstd';

/** How a chunk's fetched bytes become file bytes. */
export type ChunkEncoding =
  | 'none' //  the blob bytes are the file bytes (uncompressed tar, local files)
  | 'gzip' //  one or more whole gzip members
  | 'zstd' //  one or more whole zstd frames
  | 'zeros'; // a run of zero bytes: nothing to fetch (zstd:chunked chunkType "zeros")

export interface ChunkRef {
  /** Offset of this chunk in the file's content (uncompressed). */
  readonly fileOffset: number;
  /** Length of this chunk in the file's content (uncompressed). */
  readonly size: number;
  /** Offset of the bytes to fetch in the blob. */
  readonly blobOffset: number;
  /** Number of blob bytes to fetch (0 for `zeros`). */
  readonly blobLength: number;
  /** Bytes to skip in the decoded output before this chunk's content starts. */
  readonly innerOffset: number;
  readonly encoding: ChunkEncoding;
  /** sha256 of the chunk's uncompressed content (`sha256:hex`), when the index has one. */
  readonly digest?: string;
}

/** What LayerIndex.forEachChunk calls: entry position, chunk number in the entry, the chunk. */
export type ChunkVisitor = (entry: number, k: number, c: ChunkRef) => void;

export interface LayerIndex {
  readonly format: LayerFormat;
  /**
   * Entries in tar order. An index may make them anew on each call (the chunked ones make
   * small views of their columns rather than keep an object per entry): chunks() and
   * read() take any of them, so never tell entries apart by identity.
   */
  entries(): readonly LayerEntry[];
  /** entries()[pos], without making the others (an index that makes entries on demand). */
  entryAt(pos: number): LayerEntry;
  /**
   * Where `entry`'s content lives: chunks sorted by fileOffset, covering [0, entry.size)
   * without gaps or overlaps. Empty for empty and non-regular entries. `entry` must be an
   * object from entries() (hardlinks: pass the target's entry).
   */
  chunks(entry: LayerEntry): readonly ChunkRef[];
  /**
   * Calls `visit` for every chunk of every non-empty regular entry (entry = its position in
   * entries(), k = its position in chunks(entry)), in entry order. `c` may be one object
   * reused for every call, valid only during it, its digest left out when it is
   * well-formed: an index that keeps chunks as columns makes no ChunkRef for the walk. An
   * index that keeps lists passes itself to forEachListedChunk.
   */
  forEachChunk(visit: ChunkVisitor): void;
  /** Reads file bytes directly (fetch + decode + verify, no caching). */
  read(entry: LayerEntry, fileOffset: number, length: number, signal?: AbortSignal): Promise<Buffer>;
  /** Layer-level facts for `inspect`/`status`: e.g. landmark offsets, TOC digest. */
  readonly info: LayerIndexInfo;
}

export interface LayerIndexInfo {
  /** Blob bytes read to build the index (footer, TOC, tar headers). */
  readonly indexBytesRead: number;
  /** eStargz: end of the prioritised files (`.prefetch.landmark` offset), if any. */
  readonly prefetchEnd?: number;
  /** eStargz: `.no.prefetch.landmark` present. */
  readonly noPrefetch?: boolean;
  /** Uncompressed size of the layer's tar, when known. */
  readonly uncompressedSize?: number;
}

/** Named caps every reader checks where input enters (a hostile TOC cannot exhaust memory). */
export const LIMITS = {
  /** Largest TOC (compressed or not) we accept. */
  maxTocBytes: 64 * 1024 * 1024,
  /** Most entries in one layer. */
  maxEntries: 4_000_000,
  /** Largest chunk (uncompressed or compressed) we fetch or decode in one piece. */
  maxChunkBytes: 64 * 1024 * 1024,
  /** Largest single PAX/GNU long-name metadata record. */
  maxMetaEntryBytes: 1024 * 1024,
  /** Largest single file we believe (1 TiB); bigger claims are corrupt input. */
  maxFileBytes: 2 ** 40,
} as const;

/** A chunk digest as the formats write it. */
export const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;

const isCount = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

/**
 * Why `c` cannot be read from a blob of `blobSize` bytes, or undefined when it can: the
 * one check of a chunk's own fields, made by the chunked indexes when they are built and
 * by the chunk cache before it fetches.
 */
export function chunkProblem(c: ChunkRef, blobSize: number): string | undefined {
  // Field by field, no array: this runs for every chunk of a layer.
  if (!(isCount(c.fileOffset) && isCount(c.size) && isCount(c.blobOffset) && isCount(c.blobLength) && isCount(c.innerOffset))) {
    return 'has a non-integer or negative field';
  }
  if (c.digest !== undefined && !SHA256_DIGEST.test(c.digest)) return `has digest ${JSON.stringify(c.digest)}, not sha256:<64 hex>`;
  if (c.encoding === 'zeros') return undefined;
  if (c.blobLength > LIMITS.maxChunkBytes || c.innerOffset + c.size > LIMITS.maxChunkBytes) {
    return `is larger than ${LIMITS.maxChunkBytes} bytes`;
  }
  if (c.blobOffset + c.blobLength > blobSize) return `lies past the end of the blob (${blobSize} bytes)`;
  return undefined;
}

/** forEachChunk for an index that keeps its entries and chunk lists: a walk of entries() and chunks(). */
export function forEachListedChunk(index: Pick<LayerIndex, 'entries' | 'chunks'>, visit: ChunkVisitor): void {
  index.entries().forEach((entry, e) => {
    if (entry.type === 'reg' && entry.size > 0) index.chunks(entry).forEach((c, k) => visit(e, k, c));
  });
}
