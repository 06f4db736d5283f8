// A LayerIndex over a TOC that lists, for each regular file, the compressed chunks that
// hold its content (eStargz gzip members, zstd:chunked frames). The format readers build
// the entry list and chunk lists; this class checks the chunk lists cover each file
// exactly, and serves read(): fetch, decode, verify the chunk digest, slice.

import { invalidArgument } from '../../errors.js';
import { decodeChunkContent } from '../decode.js';
import { hardlinkTargets } from '../hardlink-targets.js';
import type { LayerEntry } from '../layer-entry.js';
import { chunkProblem, type ChunkRef, type LayerFormat, type LayerIndex, type LayerIndexInfo } from '../layer-index.js';
import { checkRange, type RangeReader } from '../range-reader.js';

const NO_CHUNKS: readonly ChunkRef[] = Object.freeze([]);

export class ChunkedLayerIndex implements LayerIndex {
  /** Hardlink entry -> the regular entry holding its content. */
  private readonly targets: ReadonlyMap<LayerEntry, LayerEntry>;

  constructor(
    readonly format: LayerFormat,
    private readonly list: readonly LayerEntry[],
    private readonly chunkMap: ReadonlyMap<LayerEntry, readonly ChunkRef[]>,
    private readonly reader: RangeReader,
    readonly info: LayerIndexInfo,
  ) {
    for (const entry of list) {
      if (entry.type === 'reg') checkChunks(entry, chunkMap.get(entry) ?? NO_CHUNKS, reader.size, format);
    }
    this.targets = hardlinkTargets(list);
  }

  entries(): readonly LayerEntry[] {
    return this.list;
  }

  private contentOf(entry: LayerEntry): LayerEntry | undefined {
    return entry.type === 'hardlink' ? this.targets.get(entry) : entry.type === 'reg' ? entry : undefined;
  }

  chunks(entry: LayerEntry): readonly ChunkRef[] {
    const target = this.contentOf(entry);
    return (target && this.chunkMap.get(target)) ?? NO_CHUNKS;
  }

  async read(entry: LayerEntry, fileOffset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    const target = this.contentOf(entry);
    const size = target?.size ?? 0;
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
function checkChunks(entry: LayerEntry, chunks: readonly ChunkRef[], blobSize: number, format: string): void {
  const fail = (what: string) => invalidArgument(`${format} file ${JSON.stringify(entry.name)}${what}`);
  let next = 0;
  for (const c of chunks) {
    const problem = chunkProblem(c, blobSize);
    if (problem) throw fail(`: its chunk at file offset ${c.fileOffset} ${problem}`);
    if (c.fileOffset !== next || c.size === 0) throw fail(` has chunks that leave a gap or overlap at file offset ${next}`);
    next += c.size;
  }
  if (next !== entry.size) throw fail(`: its chunks cover ${next} bytes, the file has ${entry.size}`);
}
