// writeEstargz: an uncompressed tar in, an eStargz blob out (stargz-snapshotter
// docs/estargz.md). The blob is an ordinary tar.gz made of many gzip members: a new one
// starts at each chunk (default 4 MiB) of every non-empty regular file's payload, at the
// TOC's tar header and at the footer, so each chunk can be fetched and gunzipped alone.
// Headers of other entries, and a file's tar padding, go into whatever member is open.
//
// Landmarks, as estargz.Build writes them: prioritised files come first, then
// `.prefetch.landmark`; with no prioritised files, `.no.prefetch.landmark` comes first.
// Either way the blob says whether to prefetch. Prioritising needs the whole tar before
// writing, so the input is spooled to a file in spoolDir (memory stays bounded); without
// a list the tar streams straight through. Landmarks or a TOC already in the input
// (a layer converted twice) are dropped, as the reference drops them.

import { createHash } from 'node:crypto';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { constants as zlibConstants } from 'node:zlib';
import { invalidArgument } from '../../errors.js';
import type { LayerEntry } from '../layer-entry.js';
import { LIMITS } from '../layer-index.js';
import { parseTarStream } from '../tar/parse-tar-stream.js';
import { BLOCK_SIZE, decodeHeader } from '../tar/tar-header.js';
import { BlobSink, type BlobOutput } from './blob-sink.js';
import { encodeFooter } from './footer.js';
import { GzipMembers } from './gzip-members.js';
import { prefetchOrder } from './prioritize.js';
import { TOC_TAR_NAME } from './read-toc.js';
import { TocBuilder } from './toc-builder.js';
import { NO_PREFETCH_LANDMARK, PREFETCH_LANDMARK } from './toc-entries.js';
import { tarPadding, ustarFileHeader } from './ustar.js';
import { sha256Digest } from '../../reference/digest.js';

export const DEFAULT_ESTARGZ_CHUNK_BYTES = 4 * 1024 * 1024;
/** Piece size when copying a payload back out of the spool file. */
const SPOOL_READ_BYTES = 1024 * 1024;
/** The landmark files' one byte of content. */
const LANDMARK_CONTENT = Buffer.from([0x0f]);

export interface EstargzWriteOptions {
  /** Paths to write first (prefetched when the layer is mounted). Empty: no prefetch. */
  prioritizedFiles?: readonly string[];
  /** Largest chunk of a file in one gzip member. Default 4 MiB. */
  chunkSize?: number;
  /** gzip level 0-9. Default 6 (zlib's default; the reference uses 9, slower). */
  level?: number;
  /** Directory for the spool file used when prioritizedFiles is non-empty. */
  spoolDir: string;
}

export interface EstargzWriteResult {
  /** sha256 of the blob written. */
  readonly blobDigest: string;
  readonly blobSize: number;
  /** sha256 of the blob's uncompressed tar (the layer's diff ID). */
  readonly diffId: string;
  /** sha256 of the TOC JSON: the `containerd.io/snapshot/stargz/toc.digest` annotation. */
  readonly tocDigest: string;
  /** Size of the uncompressed tar (the `io.containers.estargz.uncompressed-size` annotation). */
  readonly uncompressedSize: number;
  /** Prioritised paths not found in the layer. */
  readonly missedPrioritizedFiles: readonly string[];
}

/** One entry to write: its metadata, raw header blocks and payload. */
interface Item {
  readonly entry: LayerEntry;
  readonly headerBytes: Buffer;
  readonly uname: string;
  readonly gname: string;
  readonly body: AsyncIterable<Buffer>;
  /** Written by the writer itself (a landmark), not taken from the input. */
  readonly synthetic?: boolean;
}

/**
 * Writes `input` (an uncompressed tar) as eStargz to `out`. `out` is not ended: the
 * caller closes it. Rejects with INVALID_ARGUMENT on a malformed tar.
 */
export async function writeEstargz(input: AsyncIterable<Uint8Array>, out: BlobOutput, opts: EstargzWriteOptions): Promise<EstargzWriteResult> {
  const chunkSize = opts.chunkSize ?? DEFAULT_ESTARGZ_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0 || chunkSize > LIMITS.maxChunkBytes) {
    throw invalidArgument(`eStargz chunk size ${chunkSize} is out of range (1..${LIMITS.maxChunkBytes})`);
  }
  const level = opts.level ?? zlibConstants.Z_DEFAULT_COMPRESSION;
  if (!Number.isInteger(level) || level < -1 || level > 9) throw invalidArgument(`gzip level ${level} is out of range (0..9)`);
  const sink = new BlobSink(out);
  const w = new EntryWriter(new GzipMembers(sink, level), new TocBuilder(), chunkSize);
  const prioritized = opts.prioritizedFiles ?? [];
  let missed: readonly string[] = [];
  if (prioritized.length === 0) {
    await w.write(landmark(NO_PREFETCH_LANDMARK));
    for await (const item of parseTarStream(input)) await w.write(item);
  } else {
    missed = await writePrioritized(input, w, prioritized, opts.spoolDir);
  }
  const { tocDigest } = await w.finish();
  await sink.write(encodeFooter(w.tocOffset));
  return { blobDigest: sink.digest(), blobSize: sink.size, diffId: w.gz.diffId(), tocDigest, uncompressedSize: w.gz.tarOffset, missedPrioritizedFiles: missed };
}

/** Two passes: spool the tar while indexing it, then write it back out in prefetch order. */
async function writePrioritized(input: AsyncIterable<Uint8Array>, w: EntryWriter, prioritized: readonly string[], spoolDir: string): Promise<readonly string[]> {
  const dir = await mkdtemp(join(spoolDir, 'estargz-spool-'));
  const fh = await open(join(dir, 'layer.tar'), 'w+');
  try {
    const spooled: Array<{ entry: LayerEntry; uname: string; gname: string; headerOffset: number; dataOffset: number }> = [];
    for await (const item of parseTarStream(teeTo(input, fh))) {
      spooled.push({ entry: item.entry, uname: item.uname, gname: item.gname, headerOffset: item.headerOffset, dataOffset: item.dataOffset });
    }
    const order = prefetchOrder(spooled.map((s) => s.entry), prioritized);
    const emit = async (i: number) => {
      const s = spooled[i]!;
      const headerBytes = await readExactly(fh, s.headerOffset, s.dataOffset - s.headerOffset);
      // A regular file's payload is entry.size bytes; of the other types only a GNU dumpdir
      // carries one (a listing), as the tar parser reads them.
      const payloadSize = s.entry.type === 'reg' ? s.entry.size : dumpdirSize(headerBytes, s.headerOffset);
      await w.write({ entry: s.entry, headerBytes, uname: s.uname, gname: s.gname, body: readRange(fh, s.dataOffset, payloadSize) });
    };
    for (const i of order.first) await emit(i);
    await w.write(landmark(PREFETCH_LANDMARK));
    for (const i of order.rest) await emit(i);
    return order.missed;
  } finally {
    await fh.close();
    await rm(dir, { recursive: true, force: true });
  }
}

class EntryWriter {
  tocOffset = 0;
  constructor(readonly gz: GzipMembers, private readonly toc: TocBuilder, private readonly chunkSize: number) {}

  async write(item: Item): Promise<void> {
    const { entry } = item;
    const reserved = entry.name === TOC_TAR_NAME || entry.name === PREFETCH_LANDMARK || entry.name === NO_PREFETCH_LANDMARK;
    if (reserved && !item.synthetic) return; // dropped (its body is skipped): these names are the writer's
    await this.gz.write(item.headerBytes);
    const e = this.toc.addEntry(entry, item.uname, item.gname);
    if (entry.type === 'reg' && entry.size > 0) {
      await this.writePayload(entry, e, item.body);
      return;
    }
    // Other entries normally have no payload; copy whatever the tar had, with its padding.
    let n = 0;
    for await (const piece of item.body) {
      n += piece.length;
      await this.gz.write(Buffer.from(piece));
    }
    await this.gz.write(tarPadding(n));
  }

  private async writePayload(entry: LayerEntry, first: Record<string, unknown>, body: AsyncIterable<Buffer>): Promise<void> {
    const cursor = new BodyCursor(body, entry.name);
    const fileHash = createHash('sha256');
    let e = first;
    for (let written = 0; written < entry.size;) {
      const size = Math.min(this.chunkSize, entry.size - written);
      await this.gz.endMember(); // each chunk starts a member of its own
      const chunkHash = createHash('sha256');
      e.offset = this.gz.blobOffset;
      if (written > 0) e.chunkOffset = written;
      if (size === this.chunkSize) e.chunkSize = size; // a short last chunk says 0: "to the end"
      for await (const piece of cursor.take(size)) {
        fileHash.update(piece);
        chunkHash.update(piece);
        await this.gz.write(Buffer.from(piece));
      }
      e.chunkDigest = `sha256:${chunkHash.digest('hex')}`;
      written += size;
      if (written < entry.size) e = this.toc.addChunk(entry.name);
    }
    first.digest = `sha256:${fileHash.digest('hex')}`;
    await this.gz.write(tarPadding(entry.size));
  }

  /** The TOC member (tar header, JSON, end-of-archive), then the caller writes the footer. */
  async finish(): Promise<{ tocDigest: string }> {
    await this.gz.endMember();
    this.tocOffset = this.gz.blobOffset;
    const json = this.toc.toJSON();
    await this.gz.write(ustarFileHeader(TOC_TAR_NAME, json.length));
    await this.gz.write(json);
    await this.gz.write(tarPadding(json.length));
    await this.gz.write(Buffer.alloc(1024)); // two zero blocks: end of the archive
    await this.gz.endMember();
    return { tocDigest: sha256Digest(json) };
  }
}

/** A landmark file: one byte, 0x0f. */
function landmark(name: string): Item {
  const entry: LayerEntry = { name, type: 'reg', size: 1, mode: 0o644, uid: 0, gid: 0, mtimeMs: 0, linkName: '', devMajor: 0, devMinor: 0, xattrs: {} };
  return { entry, headerBytes: ustarFileHeader(name, 1), uname: '', gname: '', body: bufferBody(LANDMARK_CONTENT), synthetic: true };
}

async function* bufferBody(buf: Buffer): AsyncGenerator<Buffer> {
  yield buf;
}

/** Passes the input through while appending it to the spool file. */
async function* teeTo(input: AsyncIterable<Uint8Array>, fh: FileHandle): AsyncGenerator<Uint8Array> {
  for await (const chunk of input) {
    await fh.write(chunk);
    yield chunk;
  }
}

async function readExactly(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw invalidArgument(`spooled tar ends before offset ${position + length}`);
    done += bytesRead;
  }
  return buf;
}

async function* readRange(fh: FileHandle, position: number, length: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < length; at += SPOOL_READ_BYTES) {
    yield await readExactly(fh, position + at, Math.min(SPOOL_READ_BYTES, length - at));
  }
}

/** A GNU dumpdir's payload size (its own header is the last block); 0 for anything else. */
function dumpdirSize(headerBytes: Buffer, headerOffset: number): number {
  const last = headerBytes.length - BLOCK_SIZE;
  const raw = decodeHeader(headerBytes.subarray(last), headerOffset + last);
  return raw.typeflag === 'D' ? raw.size : 0;
}

/** Hands out a payload stream in exact-size pieces (the chunks). */
class BodyCursor {
  private readonly it: AsyncIterator<Buffer>;
  private left: Buffer | undefined;

  constructor(body: AsyncIterable<Buffer>, private readonly name: string) {
    this.it = body[Symbol.asyncIterator]();
  }

  async *take(n: number): AsyncGenerator<Buffer> {
    while (n > 0) {
      let piece = this.left;
      this.left = undefined;
      if (!piece) {
        const r = await this.it.next();
        if (r.done) throw invalidArgument(`payload of ${JSON.stringify(this.name)} ends early`);
        piece = r.value;
      }
      if (piece.length > n) {
        this.left = piece.subarray(n);
        piece = piece.subarray(0, n);
      }
      n -= piece.length;
      yield piece;
    }
  }
}
