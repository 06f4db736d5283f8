// A LayerIndex whose file contents lie uncompressed in one RangeReader at known offsets:
// a plain tar layer (the blob itself) or the streamed fallback's local copy. Chunks are
// 'none' slices of at most `chunkBytes`, so the chunk cache holds bounded pieces.

import { internal, invalidArgument } from '../../errors.js';
import type { LayerEntry } from '../layer-entry.js';
import { hardlinkTargets } from '../hardlink-targets.js';
import { forEachListedChunk, LIMITS, type ChunkRef, type ChunkVisitor, type LayerFormat, type LayerIndex, type LayerIndexInfo } from '../layer-index.js';
import { checkRange, type RangeReader } from '../range-reader.js';

export const DEFAULT_CHUNK_BYTES = 1024 * 1024;

/** One entry and where its payload starts in the reader (regular files only matter). */
export interface PlacedEntry {
  readonly entry: LayerEntry;
  readonly dataOffset: number;
}

export class PlainLayerIndex implements LayerIndex {
  private readonly list: readonly LayerEntry[];
  private readonly offsets = new Map<LayerEntry, number>();
  /** Hardlink entry -> the regular entry holding its content. */
  private readonly targets: ReadonlyMap<LayerEntry, LayerEntry>;

  constructor(
    readonly format: LayerFormat,
    placed: readonly PlacedEntry[],
    private readonly reader: RangeReader,
    readonly info: LayerIndexInfo,
    private readonly chunkBytes = DEFAULT_CHUNK_BYTES,
  ) {
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0 || chunkBytes > LIMITS.maxChunkBytes) {
      throw invalidArgument(`chunk size ${chunkBytes} is out of range (1..${LIMITS.maxChunkBytes})`);
    }
    this.list = placed.map((p) => p.entry);
    for (const { entry, dataOffset } of placed) {
      if (entry.type === 'reg') {
        checkRange(dataOffset, entry.size, reader.size, `layer (entry ${JSON.stringify(entry.name)})`);
        this.offsets.set(entry, dataOffset);
      }
    }
    this.targets = hardlinkTargets(this.list);
  }

  entries(): readonly LayerEntry[] {
    return this.list;
  }

  entryAt(pos: number): LayerEntry {
    const entry = this.list[pos];
    if (!entry) throw internal(`entry ${pos} of a layer of ${this.list.length} entries`);
    return entry;
  }

  forEachChunk(visit: ChunkVisitor): void {
    forEachListedChunk(this, visit);
  }

  /** The entry holding `entry`'s content: itself, or a hardlink's target. */
  private contentOf(entry: LayerEntry): { entry: LayerEntry; offset: number } | undefined {
    const target = entry.type === 'hardlink' ? this.targets.get(entry) : entry;
    const offset = target && this.offsets.get(target);
    return target && offset !== undefined ? { entry: target, offset } : undefined;
  }

  chunks(entry: LayerEntry): readonly ChunkRef[] {
    const c = this.contentOf(entry);
    if (!c) return [];
    const out: ChunkRef[] = [];
    for (let fileOffset = 0; fileOffset < c.entry.size; fileOffset += this.chunkBytes) {
      const size = Math.min(this.chunkBytes, c.entry.size - fileOffset);
      out.push({ fileOffset, size, blobOffset: c.offset + fileOffset, blobLength: size, innerOffset: 0, encoding: 'none' });
    }
    return out;
  }

  async read(entry: LayerEntry, fileOffset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    const c = this.contentOf(entry);
    if (!c) {
      if (length === 0 && fileOffset === 0) return Buffer.alloc(0);
      throw invalidArgument(`entry ${JSON.stringify(entry.name)} has no content in this layer`);
    }
    checkRange(fileOffset, length, c.entry.size, `file ${JSON.stringify(entry.name)}`);
    return this.reader.readAt(c.offset + fileOffset, length, signal);
  }
}
