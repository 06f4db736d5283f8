// A LayerIndex over a TOC that lists, for each regular file, the compressed chunks that
// hold its content (eStargz gzip members, zstd:chunked frames). The format readers build
// the entry list and chunk lists; this class checks the chunk lists cover each file
// exactly, keeps them in an EntryTable (columns, not objects: entry-table.ts says why),
// and serves read(): fetch, decode, verify the chunk digest, slice.

import { internal, invalidArgument } from '../../errors.js';
import { decodeChunkContent } from '../decode.js';
import { hardlinkTargets } from '../hardlink-targets.js';
import { newChunkProbe, TableEntry, type ChunkProbe, type EntryTable } from '../entry-table.js';
import type { LayerEntry } from '../layer-entry.js';
import { chunkProblem, type ChunkRef, type ChunkVisitor, type LayerFormat, type LayerIndex, type LayerIndexInfo } from '../layer-index.js';
import { checkRange, type RangeReader } from '../range-reader.js';

const NO_CHUNKS: readonly ChunkRef[] = Object.freeze([]);

/** Chunk lists asked for again soon (each read of a file asks): the last few are kept. */
const RECENT_CHUNK_LISTS = 16;

export class ChunkedLayerIndex implements LayerIndex {
  /** Hardlink entry's position -> the position of the regular entry holding its content. */
  private readonly targets = new Map<number, number>();
  private readonly recentChunks = new Map<number, readonly ChunkRef[]>();

  constructor(
    readonly format: LayerFormat,
    private readonly table: EntryTable,
    private readonly reader: RangeReader,
    readonly info: LayerIndexInfo,
  ) {
    const probe = newChunkProbe();
    for (let pos = 0; pos < table.length; pos++) {
      if (table.type(pos) === 'reg') checkChunks(table, pos, probe, reader.size, format);
    }
    if (table.hardlinkCount > 0) {
      for (const [link, target] of hardlinkTargets(this.entries())) this.targets.set(link.pos, target.pos);
    }
  }

  /** New views each call: kept by nobody here, they cost nothing while a mount serves. */
  entries(): readonly TableEntry[] {
    return Array.from({ length: this.table.length }, (_, i) => this.table.entry(i));
  }

  entryAt(pos: number): TableEntry {
    if (!Number.isSafeInteger(pos) || pos < 0 || pos >= this.table.length) throw internal(`entry ${pos} of a layer of ${this.table.length} entries`);
    return this.table.entry(pos);
  }

  /** Position of the regular entry holding `entry`'s content, if it is one of ours and has any. */
  private contentOf(entry: LayerEntry): number | undefined {
    if (!(entry instanceof TableEntry) || entry.table !== this.table) return undefined;
    const type = this.table.type(entry.pos);
    return type === 'hardlink' ? this.targets.get(entry.pos) : type === 'reg' ? entry.pos : undefined;
  }

  chunks(entry: LayerEntry): readonly ChunkRef[] {
    const pos = this.contentOf(entry);
    if (pos === undefined) return NO_CHUNKS;
    let chunks = this.recentChunks.get(pos);
    if (chunks) {
      this.recentChunks.delete(pos); // to the back: most recently used
    } else {
      chunks = this.table.chunks(pos);
      if (this.recentChunks.size >= RECENT_CHUNK_LISTS) this.recentChunks.delete(this.recentChunks.keys().next().value!);
    }
    this.recentChunks.set(pos, chunks);
    return chunks;
  }

  forEachChunk(visit: ChunkVisitor): void {
    const probe = newChunkProbe();
    for (let pos = 0; pos < this.table.length; pos++) {
      if (this.table.type(pos) !== 'reg') continue;
      for (let k = 0, n = this.table.chunkCount(pos); k < n; k++) visit(pos, k, this.table.probeChunk(pos, k, probe));
    }
  }

  async read(entry: LayerEntry, fileOffset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    const target = this.contentOf(entry);
    const size = target === undefined ? 0 : this.table.sizeOf(target);
    checkRange(fileOffset, length, size, `file ${JSON.stringify(entry.name)}`);
    if (length === 0) return Buffer.alloc(0);
    const chunks = this.chunks(entry);
    const out = Buffer.alloc(length);
    const end = fileOffset + length;
    for (let i = firstChunkAt(chunks, fileOffset); i < chunks.length && chunks[i]!.fileOffset < end; i++) {
      const c = chunks[i]!;
      const data = await this.fetchChunk(entry, c, signal);
      const from = Math.max(fileOffset, c.fileOffset);
      const to = Math.min(end, c.fileOffset + c.size);
      data.copy(out, from - fileOffset, from - c.fileOffset, to - c.fileOffset);
    }
    return out;
  }

  /** One chunk's verified content (exactly c.size bytes). */
  private async fetchChunk(entry: LayerEntry, c: ChunkRef, signal?: AbortSignal): Promise<Buffer> {
    if (c.encoding === 'zeros') return Buffer.alloc(c.size);
    const raw = await this.reader.readAt(c.blobOffset, c.blobLength, signal);
    return decodeChunkContent(c, raw, () => `chunk at file offset ${c.fileOffset} of ${JSON.stringify(entry.name)} (blob offset ${c.blobOffset})`);
  }
}

/** Index of the chunk containing fileOffset (chunks sorted, contiguous). */
function firstChunkAt(chunks: readonly ChunkRef[], fileOffset: number): number {
  let lo = 0;
  let hi = chunks.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (chunks[mid]!.fileOffset <= fileOffset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The last line of defence: chunk lists cover [0, size) exactly, each chunk readable from the blob. */
function checkChunks(table: EntryTable, pos: number, probe: ChunkProbe, blobSize: number, format: string): void {
  const fail = (what: string) => invalidArgument(`${format} file ${JSON.stringify(table.name(pos))}${what}`);
  let next = 0;
  for (let k = 0, count = table.chunkCount(pos); k < count; k++) {
    const c = table.probeChunk(pos, k, probe);
    const problem = chunkProblem(c, blobSize);
    if (problem) throw fail(`: its chunk at file offset ${c.fileOffset} ${problem}`);
    if (c.fileOffset !== next || c.size === 0) throw fail(` has chunks that leave a gap or overlap at file offset ${next}`);
    next += c.size;
  }
  const size = table.sizeOf(pos);
  if (next !== size) throw fail(`: its chunks cover ${next} bytes, the file has ${size}`);
}
