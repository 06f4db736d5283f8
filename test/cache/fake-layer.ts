// A tiny in-test layer: files laid out one after another in a blob, chunked as asked
// ('none', 'gzip' made with zlib.gzipSync, 'zeros'), with or without chunk digests,
// behind a LayerIndex; and a RangeReader that counts (and can hold or corrupt) requests.

import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { internal } from '../../src/errors.js';
import type { LayerEntry } from '../../src/formats/layer-entry.js';
import { forEachListedChunk, type ChunkEncoding, type ChunkRef, type LayerIndex } from '../../src/formats/layer-index.js';
import { BufferRangeReader, type ArrivedBytes, type RangeReader } from '../../src/formats/range-reader.js';

export interface FakeFile {
  name: string;
  content: Buffer;
  encoding: Exclude<ChunkEncoding, 'zstd'>;
  chunkBytes: number;
  digests?: boolean;
  /** gzip only: bytes of junk decoded before each chunk's content (innerOffset). */
  innerPad?: number;
}

export interface FakeLayer {
  blob: Buffer;
  index: LayerIndex;
  entry(name: string): LayerEntry;
  content(name: string): Buffer;
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export function fakeLayer(files: readonly FakeFile[]): FakeLayer {
  const parts: Buffer[] = [];
  let blobOffset = 0;
  const entries: LayerEntry[] = [];
  const chunkMap = new Map<LayerEntry, ChunkRef[]>();
  const contents = new Map<string, Buffer>();
  for (const f of files) {
    const entry: LayerEntry = {
      name: f.name, type: 'reg', size: f.content.length, mode: 0o644, uid: 0, gid: 0, mtimeMs: 0,
      linkName: '', devMajor: 0, devMinor: 0, xattrs: {},
    };
    const chunks: ChunkRef[] = [];
    for (let off = 0; off < f.content.length; off += f.chunkBytes) {
      const piece = f.content.subarray(off, off + f.chunkBytes);
      let stored: Buffer;
      let innerOffset = 0;
      if (f.encoding === 'gzip') {
        innerOffset = f.innerPad ?? 0;
        stored = gzipSync(Buffer.concat([Buffer.alloc(innerOffset, 0x55), piece]));
      } else if (f.encoding === 'zeros') {
        stored = Buffer.alloc(0);
      } else {
        stored = Buffer.from(piece);
      }
      chunks.push({
        fileOffset: off, size: piece.length, blobOffset, blobLength: stored.length, innerOffset,
        encoding: f.encoding, ...(f.digests ? { digest: sha(piece) } : {}),
      });
      parts.push(stored);
      blobOffset += stored.length;
    }
    entries.push(entry);
    chunkMap.set(entry, chunks);
    contents.set(f.name, f.encoding === 'zeros' ? Buffer.alloc(f.content.length) : f.content);
  }
  const blob = Buffer.concat(parts);
  const index: LayerIndex = {
    format: 'estargz',
    entries: () => entries,
    entryAt: (pos) => entries[pos]!,
    chunks: (e) => chunkMap.get(e) ?? [],
    forEachChunk: (visit) => forEachListedChunk(index, visit),
    read: async () => { throw internal('the fake index has no direct read'); },
    info: { indexBytesRead: 0 },
  };
  return {
    blob,
    index,
    entry: (name) => entries.find((e) => e.name === name)!,
    content: (name) => contents.get(name)!,
  };
}

/** A BufferRangeReader that records requests; it can hold them until released, or corrupt them. */
export class CountingReader implements RangeReader {
  readonly requests: { offset: number; length: number }[] = [];
  readonly signals: AbortSignal[] = [];
  corrupt = false;
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  private readonly inner: BufferRangeReader;

  constructor(blob: Buffer) {
    this.inner = new BufferRangeReader(blob);
  }

  get size(): number {
    return this.inner.size;
  }

  get bytesRequested(): number {
    return this.requests.reduce((s, r) => s + r.length, 0);
  }

  /** Requests wait until release(). */
  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  /** While held: this many bytes of a request are reported as arrived before it waits. */
  arriveFirst = 0;

  async readAt(offset: number, length: number, signal?: AbortSignal, arrived?: ArrivedBytes): Promise<Buffer> {
    this.requests.push({ offset, length });
    if (signal) this.signals.push(signal);
    if (this.gate && this.arriveFirst === 0) await this.gate;
    const b = Buffer.from(await this.inner.readAt(offset, length));
    if (this.corrupt && b.length > 0) b[b.length >> 1]! ^= 0xff;
    if (this.gate && this.arriveFirst > 0) {
      arrived?.(b.subarray(0, Math.min(this.arriveFirst, b.length)));
      await this.gate;
    }
    return b;
  }
}

/** Deterministic bytes (a file's content that is easy to compare and not all alike). */
export function pattern(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}
