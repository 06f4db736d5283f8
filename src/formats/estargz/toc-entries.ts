// eStargz TOC entries -> LayerEntries and chunk lists, checked entry by entry.
//
// Data layout (estargz.md): a non-empty regular file is a `reg` entry followed by zero or
// more `chunk` entries; each names the gzip member holding it (`offset`), where in the
// member's output it starts (`innerOffset`), its place in the file (`chunkOffset`,
// `chunkSize`, 0 = to the end) and its sha256 (`chunkDigest`). A member ends where the
// next member with a larger offset starts, or at the TOC. Offsets therefore must not go
// backwards in TOC order, and pieces sharing a member must not overlap.
// The landmark files are layer metadata, not content: hidden from entries() as
// stargz-snapshotter hides them, but their members still bound the previous file's.

import { invalidArgument } from '../../errors.js';
import { EntryTableBuilder, type EntryTable } from '../entry-table.js';
import { LIMITS } from '../layer-index.js';
import { TocFieldReader, tocCapacities, tocEntriesOf, tocLayerEntry } from './toc-fields.js';
import { TOC_TAR_NAME } from './read-toc.js';

export const PREFETCH_LANDMARK = '.prefetch.landmark';
export const NO_PREFETCH_LANDMARK = '.no.prefetch.landmark';

export interface EstargzContents {
  /** The visible entries (landmarks and the TOC's own entry left out) and their chunks. */
  readonly table: EntryTable;
  /** `.prefetch.landmark`'s blob offset: the prioritised files lie before it. */
  readonly prefetchEnd?: number;
  readonly noPrefetch: boolean;
}

/** One piece of file data as the TOC places it, before its member's end is known. */
interface Piece {
  /** The entry it came from (named in errors). */
  readonly at: { readonly where: string };
  readonly offset: number;
  readonly innerOffset: number;
  readonly chunkOffset: number;
  /** 0 = to the end of the file (last piece only). */
  readonly chunkSize: number;
  readonly digest: string | undefined;
  /** Size of the file this piece belongs to. */
  readonly fileSize: number;
  /** Its chunk slot in the table; -1 for a hidden file's piece (a landmark's). */
  readonly slot: number;
}

/**
 * `.prefetch.landmark`'s blob offset, looked up before the entries are checked and built
 * (that is the opening's longest step: ~70 ms of the JS thread on a TOC of 8,000 files): a
 * mount starts fetching the prioritised files with it. A hint only: a fetch of blob bytes,
 * each chunk still verified when read; estargzContents checks the landmark with the rest.
 * Undefined when there is none, or its offset is not before the TOC.
 */
export function prefetchLandmarkOffset(json: unknown, tocOffset: number): number | undefined {
  const raws = tocEntriesOf(json, 'eStargz TOC', LIMITS.maxEntries);
  for (let i = 0; i < raws.length; i++) {
    const raw = raws[i]!;
    if (raw.name !== PREFETCH_LANDMARK || raw.type !== 'reg') continue;
    const offset = new TocFieldReader(raw, 'eStargz TOC', i).int('offset');
    return offset < tocOffset ? offset : undefined;
  }
  return undefined;
}

/** The TOC's entries as a table. */
export function estargzContents(json: unknown, tocOffset: number): EstargzContents {
  const raws = tocEntriesOf(json, 'eStargz TOC', LIMITS.maxEntries);
  const capacity = tocCapacities(raws);
  const table = new EntryTableBuilder(capacity.entries, capacity.chunks);
  const pieces: Piece[] = [];
  let slots = 0;
  let prefetchEnd: number | undefined;
  let noPrefetch = false;
  let open: { pos: number; size: number; digest: string | undefined; first: number } | undefined;

  const piece = (f: TocFieldReader, fileSize: number, fileDigest: string | undefined, hidden: boolean): Piece => ({
    at: f,
    offset: checkOffset(f, f.int('offset'), tocOffset),
    innerOffset: f.int('innerOffset', LIMITS.maxChunkBytes),
    chunkOffset: f.int('chunkOffset', LIMITS.maxFileBytes),
    chunkSize: f.int('chunkSize', LIMITS.maxChunkBytes),
    digest: f.chunkDigest(fileDigest),
    fileSize,
    slot: hidden ? -1 : slots++,
  });
  const close = () => {
    if (!open) return;
    closeFile(open.size, open.digest, pieces, open.first);
    if (open.pos >= 0) table.setChunks(open.pos, pieces[open.first]!.slot, pieces.length - open.first);
    open = undefined;
  };

  raws.forEach((raw, i) => {
    const f = new TocFieldReader(raw, 'eStargz TOC', i);
    const type = f.type();
    if (type === 'chunk') {
      if (!open) throw f.fail('is a chunk that follows no non-empty regular file');
      pieces.push(piece(f, open.size, open.digest, open.pos < 0));
      return;
    }
    close();
    const entry = tocLayerEntry(f, type);
    const { name, size } = entry;
    let pos = -1;
    if (name === PREFETCH_LANDMARK && type === 'reg') {
      prefetchEnd = f.int('offset');
    } else if (name === NO_PREFETCH_LANDMARK && type === 'reg') {
      noPrefetch = true;
    } else if (name !== TOC_TAR_NAME) {
      pos = table.add(entry);
    }
    if (size > 0) {
      open = { pos, size, digest: entry.digest, first: pieces.length };
      pieces.push(piece(f, size, entry.digest, pos < 0));
    }
  });
  close();
  checkOrder(pieces);

  // A member runs to the next larger offset (or the TOC); equal offsets share a member.
  let bound = tocOffset;
  for (let i = pieces.length - 1; i >= 0; i--) {
    const p = pieces[i]!;
    const next = pieces[i + 1];
    if (next && next.offset !== p.offset) bound = next.offset;
    if (p.slot < 0) continue;
    const size = p.chunkSize || p.fileSize - p.chunkOffset;
    const blobLength = bound - p.offset;
    if (blobLength > LIMITS.maxChunkBytes || p.innerOffset + size > LIMITS.maxChunkBytes) {
      throw invalidArgument(`${p.at.where}: chunk of ${size} bytes in a member of ${blobLength} bytes is over the cap of ${LIMITS.maxChunkBytes}`);
    }
    table.setChunk(p.slot, { fileOffset: p.chunkOffset, size, blobOffset: p.offset, blobLength, innerOffset: p.innerOffset, encoding: 'gzip', ...(p.digest ? { digest: p.digest } : {}) });
  }
  return { table: table.build(), ...(prefetchEnd !== undefined ? { prefetchEnd } : {}), noPrefetch };
}

function checkOffset(f: TocFieldReader, offset: number, tocOffset: number): number {
  if (offset >= tocOffset) throw f.fail(`data offset ${offset} is not before the TOC (offset ${tocOffset})`);
  return offset;
}

/** A file's pieces must tile [0, size): first at 0, each where the last ended. */
function closeFile(fileSize: number, fileDigest: string | undefined, all: Piece[], first: number): void {
  const pieces = all.slice(first);
  let next = 0;
  pieces.forEach((p, i) => {
    const last = i === pieces.length - 1;
    if (p.chunkOffset !== next) throw invalidArgument(`${p.at.where}: chunk starts at file offset ${p.chunkOffset}, expected ${next}`);
    if (p.chunkSize === 0 && !last) throw invalidArgument(`${p.at.where}: only the last chunk may run to the end of the file`);
    next = p.chunkSize === 0 ? fileSize : next + p.chunkSize;
    if (next > fileSize) throw invalidArgument(`${p.at.where}: chunk ends at ${next}, past the file's size ${fileSize}`);
  });
  if (next !== fileSize) throw invalidArgument(`${pieces[pieces.length - 1]!.at.where}: chunks cover ${next} of ${fileSize} bytes`);
  // Old stargz TOCs carry no chunkDigest; a single chunk is the whole file, so its digest serves.
  const only = pieces[0];
  if (pieces.length === 1 && only && only.digest === undefined && fileDigest !== undefined) {
    all[first] = { ...only, digest: fileDigest };
  }
}

/** Offsets never go backwards; pieces sharing a member do not overlap in its output. */
function checkOrder(pieces: readonly Piece[]): void {
  for (let i = 1; i < pieces.length; i++) {
    const a = pieces[i - 1]!;
    const b = pieces[i]!;
    if (b.offset < a.offset) throw invalidArgument(`${b.at.where}: data offset ${b.offset} goes backwards (previous data at ${a.offset})`);
    if (b.offset === a.offset) {
      const aSize = a.chunkSize || a.fileSize - a.chunkOffset;
      if (b.innerOffset < a.innerOffset + aSize) {
        throw invalidArgument(`${b.at.where}: overlaps the previous data in the member at offset ${b.offset}`);
      }
    }
  }
}
