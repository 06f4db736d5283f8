// Streaming tar reader: entries with their header offsets, raw header blocks and a body
// stream, with backpressure. Used by the eStargz writer and the streamed gzip/zstd
// fallback; memory stays bounded whatever the entry sizes.

import { failedPrecondition } from '../../errors.js';
import type { LayerEntry } from '../layer-entry.js';
import type { TarParseOptions } from './tar-decoder.js';
import { scanTar, truncatedAt } from './tar-scan.js';
import { StreamSource } from './stream-source.js';

export interface TarStreamItem {
  readonly entry: LayerEntry;
  /** Offset in the tar of this entry's first header block (PAX/GNU headers included). */
  readonly headerOffset: number;
  /** Offset in the tar of the payload. */
  readonly dataOffset: number;
  /** All raw header blocks of this entry, incl. PAX and GNU long-name blocks. */
  readonly headerBytes: Buffer;
  /**
   * Exactly the payload bytes (entry.size for regular files), no padding. Read it before
   * asking for the next item; if it is not read (or only partly), the parser skips the
   * rest. The buffers may be views of the source's chunks: copy what you keep.
   */
  readonly body: AsyncIterable<Buffer>;
  /** Owner names from the header or PAX (not part of LayerEntry; the TOC writer wants them). */
  readonly uname: string;
  readonly gname: string;
}

export type TarStreamOptions = TarParseOptions;

/**
 * Parses a tar from `source`. Truncated input rejects with INVALID_ARGUMENT ("tar
 * truncated at offset N"). After the end-of-archive blocks the rest of the source is read
 * and discarded (record padding), so a tee in front of the parser sees every byte; when
 * the consumer stops early or an error occurs, the source iterator is returned instead.
 */
export async function* parseTarStream(
  source: AsyncIterable<Uint8Array>,
  opts: TarStreamOptions = {},
): AsyncGenerator<TarStreamItem, void, void> {
  const src = new StreamSource(source);
  let finished = false;
  try {
    for await (const s of scanTar(src, { ...opts, keepHeaderBytes: true })) {
      let remaining = s.payloadSize;
      let stale = false;
      const name = s.entry.name;
      const body: AsyncIterable<Buffer> = {
        async *[Symbol.asyncIterator]() {
          while (remaining > 0) {
            if (stale) throw failedPrecondition(`body of tar entry ${JSON.stringify(name)} read after the parser moved on`);
            const piece = await src.readSome(remaining);
            if (piece === null) throw truncatedAt(src.offset);
            remaining -= piece.length;
            yield piece;
          }
        },
      };
      try {
        yield { entry: s.entry, headerOffset: s.headerOffset, dataOffset: s.dataOffset, headerBytes: Buffer.concat(s.headerBlocks), body, uname: s.uname, gname: s.gname };
      } finally {
        stale = true;
      }
    }
    await src.drain();
    finished = true;
  } finally {
    if (!finished) await src.close();
  }
}
