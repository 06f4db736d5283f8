// The one tar header walk shared by the streaming parser and the Range-read index: it
// reads header blocks and metadata records from a SequentialSource and yields entries;
// payloads are skipped through the source (a stream discards them, a Range reader does
// not even fetch them).

import { invalidArgument } from '../../errors.js';
import type { LayerEntry } from '../layer-entry.js';
import { LIMITS } from '../layer-index.js';
import { TarHeaderDecoder, type TarParseOptions } from './tar-decoder.js';
import { BLOCK_SIZE, decodeHeader, isZeroBlock, padded } from './tar-header.js';

/** Forward-only access to a tar's bytes. */
export interface SequentialSource {
  /** Offset of the next byte in the tar. */
  readonly offset: number;
  /**
   * Reads exactly `n` bytes. Resolves null when the tar ends exactly here; rejects with
   * INVALID_ARGUMENT ("tar truncated at offset N") when it ends after fewer than n bytes.
   */
  read(n: number): Promise<Buffer | null>;
  /** Moves forward to `offset` (>= this.offset); rejects like read() past the end. */
  skipTo(offset: number): Promise<void>;
}

export interface ScannedEntry {
  readonly entry: LayerEntry;
  /** Offset of the entry's first header block (its PAX or GNU long-name header if any). */
  readonly headerOffset: number;
  /** Offset of the payload (after every header block). */
  readonly dataOffset: number;
  /** Payload bytes in the tar (without padding). */
  readonly payloadSize: number;
  /** All raw header blocks of this entry (only when keepHeaderBytes). */
  readonly headerBlocks: readonly Buffer[];
  readonly uname: string;
  readonly gname: string;
}

export interface ScanOptions extends TarParseOptions {
  keepHeaderBytes?: boolean;
}

export function truncatedAt(offset: number): Error {
  return invalidArgument(`tar truncated at offset ${offset}`);
}

/**
 * Walks the headers. When the consumer asks for the next entry the source is moved past
 * the previous payload, whether or not the consumer read it.
 */
export async function* scanTar(src: SequentialSource, opts: ScanOptions = {}): AsyncGenerator<ScannedEntry, void, void> {
  const decoder = new TarHeaderDecoder(opts);
  const maxMeta = opts.maxMetaEntryBytes ?? LIMITS.maxMetaEntryBytes;
  const maxEntries = opts.maxEntries ?? LIMITS.maxEntries;
  let count = 0;
  for (;;) {
    const headerOffset = src.offset;
    const blocks: Buffer[] = [];
    let step;
    for (;;) {
      const at = src.offset;
      const block = await src.read(BLOCK_SIZE);
      if (block === null) {
        // A tar may end without its two zero blocks (Go and GNU tar accept that), but not
        // between a metadata record and the entry it describes.
        if (at !== headerOffset) throw truncatedAt(at);
        return;
      }
      if (isZeroBlock(block)) {
        if (at !== headerOffset) throw invalidArgument(`tar has an end-of-archive block after a metadata header, at offset ${at}`);
        const next = await src.read(BLOCK_SIZE);
        if (next === null || isZeroBlock(next)) return;
        throw invalidArgument(`tar has a lone zero block at offset ${at}`);
      }
      if (opts.keepHeaderBytes) blocks.push(block);
      step = decoder.onHeader(decodeHeader(block, at), at);
      if (step.kind !== 'meta') break;
      if (step.size > maxMeta) {
        throw invalidArgument(`tar metadata record (type ${step.flag}) at offset ${at} is ${step.size} bytes, over the cap of ${maxMeta}`);
      }
      const data = await src.read(padded(step.size));
      if (data === null) throw truncatedAt(src.offset);
      if (opts.keepHeaderBytes) blocks.push(data);
      decoder.onMeta(step.flag, data.subarray(0, step.size), at);
    }
    const dataOffset = src.offset;
    if (step.kind === 'entry') {
      if (++count > maxEntries) throw invalidArgument(`tar has more than ${maxEntries} entries`);
      yield { entry: step.entry, headerOffset, dataOffset, payloadSize: step.payloadSize, headerBlocks: blocks, uname: step.uname, gname: step.gname };
    }
    await src.skipTo(dataOffset + padded(step.payloadSize));
  }
}
