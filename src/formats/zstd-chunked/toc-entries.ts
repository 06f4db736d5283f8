// zstd:chunked TOC entries -> LayerEntries and chunk lists (containers/storage
// pkg/chunked/internal/minimal FileMetadata), checked entry by entry.
//
// A regular file's payload is one or more whole zstd frames spanning [offset, endOffset).
// When the writer split it (rolling checksum), the `reg` entry is followed by `chunk`
// entries and every one of them carries chunkOffset/chunkSize/offset/chunkDigest/
// chunkType: a chunk's frames run to the next chunk's offset, the last to the reg's
// endOffset; chunkType "zeros" is a run of zero bytes (nothing to fetch). Without chunk
// entries the file is one chunk whose digest is the file's digest.
// The TOC lists every tar header (directories included: containers/storage checks that
// it matches the tar-split entry for entry), so the list is complete for a tree.

import { invalidArgument } from '../../errors.js';
import { EntryTableBuilder, type EntryTable } from '../entry-table.js';
import type { LayerEntry } from '../layer-entry.js';
import { LIMITS, type ChunkRef } from '../layer-index.js';
import { TocFieldReader, tocCapacities, tocEntriesOf, tocLayerEntry } from '../estargz/toc-fields.js';

export interface ZstdChunkedContents {
  readonly table: EntryTable;
}

interface Piece {
  /** The entry it came from (named in errors). */
  readonly at: { readonly where: string };
  readonly offset: number;
  readonly chunkOffset: number;
  readonly chunkSize: number;
  readonly digest: string | undefined;
  readonly zeros: boolean;
}

/** `dataEnd`: where file data must end (the TOC's skippable frame starts there). */
export function zstdChunkedContents(json: unknown, dataEnd: number): ZstdChunkedContents {
  const raws = tocEntriesOf(json, 'zstd:chunked TOC', LIMITS.maxEntries);
  const capacity = tocCapacities(raws);
  const table = new EntryTableBuilder(capacity.entries, capacity.chunks);
  let slot = 0;
  let open: { file: LayerEntry; pos: number; at: { readonly where: string }; endOffset: number; pieces: Piece[] } | undefined;
  let lastEnd = 0; // data of consecutive files must not overlap

  const close = () => {
    if (!open) return;
    const refs = chunkRefs(open.file, open.at, open.pieces, open.endOffset, lastEnd);
    table.setChunks(open.pos, slot, refs.length);
    for (const c of refs) table.setChunk(slot++, c);
    lastEnd = open.endOffset;
    open = undefined;
  };

  raws.forEach((raw, i) => {
    const f = new TocFieldReader(raw, 'zstd:chunked TOC', i);
    const type = f.type();
    if (type === 'chunk') {
      if (!open) throw f.fail('is a chunk that follows no non-empty regular file');
      open.pieces.push(piece(f, open.file.digest));
      return;
    }
    close();
    const entry = tocLayerEntry(f, type);
    const { size } = entry;
    const pos = table.add(entry);
    if (size > 0) {
      const endOffset = f.int('endOffset');
      if (endOffset > dataEnd) throw f.fail(`endOffset ${endOffset} is past the file data (which ends at ${dataEnd})`);
      open = { file: entry, pos, at: f, endOffset, pieces: [piece(f, entry.digest)] };
    }
  });
  close();
  return { table: table.build() };
}

function piece(f: TocFieldReader, fileDigest: string | undefined): Piece {
  const chunkType = f.string('chunkType');
  if (chunkType !== '' && chunkType !== 'zeros') throw f.fail(`has unknown chunkType ${JSON.stringify(chunkType)}`);
  return {
    at: f,
    offset: f.int('offset'),
    chunkOffset: f.int('chunkOffset', LIMITS.maxFileBytes),
    chunkSize: f.int('chunkSize', LIMITS.maxFileBytes),
    digest: f.chunkDigest(fileDigest),
    zeros: chunkType === 'zeros',
  };
}

function chunkRefs(file: LayerEntry, at: { readonly where: string }, pieces: Piece[], endOffset: number, lastEnd: number): ChunkRef[] {
  const fail = (msg: string) => invalidArgument(`${at.where}: ${msg}`);
  const first = pieces[0]!;
  if (first.offset < lastEnd || first.offset === 0) throw fail(`data offset ${first.offset} overlaps earlier data (ending at ${lastEnd}) or is missing`);
  if (endOffset <= first.offset) throw fail(`endOffset ${endOffset} is not after its offset ${first.offset}`);
  if (pieces.length === 1 && first.chunkSize === 0) {
    // One chunk: the whole payload, verified by the file's digest.
    const blobLength = endOffset - first.offset;
    if (blobLength > LIMITS.maxChunkBytes || file.size > LIMITS.maxChunkBytes) throw fail(`single chunk of ${file.size} bytes (${blobLength} compressed) is over the cap of ${LIMITS.maxChunkBytes}`);
    const digest = first.digest ?? file.digest;
    return [first.zeros
      ? { fileOffset: 0, size: file.size, blobOffset: first.offset, blobLength: 0, innerOffset: 0, encoding: 'zeros' }
      : { fileOffset: 0, size: file.size, blobOffset: first.offset, blobLength, innerOffset: 0, encoding: 'zstd', ...(digest ? { digest } : {}) }];
  }
  const out: ChunkRef[] = [];
  let next = 0;
  pieces.forEach((p, i) => {
    const end = i + 1 < pieces.length ? pieces[i + 1]!.offset : endOffset;
    if (p.chunkOffset !== next) throw invalidArgument(`${p.at.where}: chunk starts at file offset ${p.chunkOffset}, expected ${next}`);
    if (p.chunkSize === 0 || next + p.chunkSize > file.size) throw invalidArgument(`${p.at.where}: chunk size ${p.chunkSize} is zero or runs past the file's ${file.size} bytes`);
    if (p.offset < first.offset || end < p.offset || end > endOffset) throw invalidArgument(`${p.at.where}: chunk frames [${p.offset}, ${end}) are out of order or outside [${first.offset}, ${endOffset})`);
    if (!p.zeros && (end - p.offset > LIMITS.maxChunkBytes || p.chunkSize > LIMITS.maxChunkBytes)) throw invalidArgument(`${p.at.where}: chunk is over the cap of ${LIMITS.maxChunkBytes} bytes`);
    if (!p.zeros && end === p.offset) throw invalidArgument(`${p.at.where}: data chunk has no frames`);
    next += p.chunkSize;
    out.push(p.zeros
      ? { fileOffset: p.chunkOffset, size: p.chunkSize, blobOffset: p.offset, blobLength: 0, innerOffset: 0, encoding: 'zeros' }
      : { fileOffset: p.chunkOffset, size: p.chunkSize, blobOffset: p.offset, blobLength: end - p.offset, innerOffset: 0, encoding: 'zstd', ...(p.digest ? { digest: p.digest } : {}) });
  });
  if (next !== file.size) throw fail(`chunks cover ${next} of ${file.size} bytes`);
  return out;
}
