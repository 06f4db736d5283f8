// Fetching and decoding an eStargz TOC: the footer and (usually) the whole TOC member in
// one Range request over the blob's tail, one more request only when the TOC starts
// before that window. The TOC member is a gzip member holding a tar whose first entry is
// `stargz.index.json`; its content is the TOC JSON, whose sha256 is the TOC digest.

import { gunzipSync } from 'node:zlib';
import { digestMismatch, invalidArgument } from '../../errors.js';
import { LIMITS } from '../layer-index.js';
import type { RangeReader } from '../range-reader.js';
import { parseTarStream } from '../tar/parse-tar-stream.js';
import { LEGACY_FOOTER_SIZE, parseFooter } from './footer.js';
import { SHA256_DIGEST } from '../layer-index.js';
import { sha256Digest } from '../../reference/digest.js';

export const TOC_TAR_NAME = 'stargz.index.json';
/** The message when the blob simply is not eStargz (open-layer tells this apart). */
export const NO_FOOTER = 'blob has no eStargz footer';
/** Tail fetched first: holds the footer and, for most layers, the whole TOC member. */
export const DEFAULT_TAIL_WINDOW_BYTES = 512 * 1024;
/** Tar framing around the TOC JSON in its member: headers, padding, end-of-archive. */
const TOC_TAR_OVERHEAD = 64 * 1024;

export interface TocReadOptions {
  /** sha256 of the TOC JSON (the layer's toc.digest annotation): verified when given. */
  tocDigest?: string;
  tailWindowBytes?: number;
  signal?: AbortSignal;
}

export interface ReadToc {
  /** The parsed (not yet validated) TOC JSON. */
  readonly json: unknown;
  /** Blob offset of the TOC member: every entry's data lies before it. */
  readonly tocOffset: number;
  readonly tocDigest: string;
  readonly bytesRead: number;
}

export async function readEstargzToc(reader: RangeReader, opts: TocReadOptions = {}): Promise<ReadToc> {
  if (opts.tocDigest !== undefined && !SHA256_DIGEST.test(opts.tocDigest)) {
    throw invalidArgument(`eStargz TOC digest ${JSON.stringify(opts.tocDigest)} is not sha256:<64 hex>`);
  }
  const size = reader.size;
  if (size < LEGACY_FOOTER_SIZE) throw invalidArgument(`blob of ${size} bytes is too small to be an eStargz layer`);
  const window = opts.tailWindowBytes ?? DEFAULT_TAIL_WINDOW_BYTES;
  const windowStart = Math.max(0, size - Math.max(window, 64));
  const tail = await reader.readAt(windowStart, size - windowStart, opts.signal);
  let bytesRead = tail.length;
  const footer = parseFooter(tail);
  if (!footer) throw invalidArgument(NO_FOOTER);
  const tocEnd = size - footer.footerSize;
  const { tocOffset } = footer;
  if (tocOffset >= tocEnd) throw invalidArgument(`eStargz footer names TOC offset ${tocOffset}, past the TOC's end (${tocEnd})`);
  if (tocEnd - tocOffset > LIMITS.maxTocBytes) {
    throw invalidArgument(`eStargz TOC is ${tocEnd - tocOffset} bytes compressed, over the cap of ${LIMITS.maxTocBytes}`);
  }
  let compressed: Buffer;
  if (tocOffset >= windowStart) {
    compressed = tail.subarray(tocOffset - windowStart, tocEnd - windowStart);
  } else {
    const head = await reader.readAt(tocOffset, windowStart - tocOffset, opts.signal);
    bytesRead += head.length;
    compressed = Buffer.concat([head, tail.subarray(0, tocEnd - windowStart)]);
  }
  const tocJson = await tocJsonOf(compressed);
  const tocDigest = sha256Digest(tocJson);
  if (opts.tocDigest !== undefined && opts.tocDigest !== tocDigest) {
    throw digestMismatch(`eStargz TOC has digest ${tocDigest}, the layer annotation says ${opts.tocDigest}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(tocJson.toString('utf8'));
  } catch (err) {
    throw invalidArgument(`eStargz TOC is not valid JSON: ${(err as Error).message}`, err);
  }
  return { json, tocOffset, tocDigest, bytesRead };
}

/** Gunzips the TOC member (bounded) and returns the content of its `stargz.index.json`. */
async function tocJsonOf(compressed: Buffer): Promise<Buffer> {
  let tar: Buffer;
  try {
    tar = gunzipSync(compressed, { maxOutputLength: LIMITS.maxTocBytes + TOC_TAR_OVERHEAD });
  } catch (err) {
    throw invalidArgument(`eStargz TOC member does not gunzip (corrupt, or over ${LIMITS.maxTocBytes} bytes): ${(err as Error).message}`, err);
  }
  for await (const item of parseTarStream(once(tar), { maxEntries: 1 })) {
    if (item.entry.name !== TOC_TAR_NAME || item.entry.type !== 'reg') {
      throw invalidArgument(`eStargz TOC member holds ${JSON.stringify(item.entry.name)}, expected ${TOC_TAR_NAME}`);
    }
    if (item.entry.size > LIMITS.maxTocBytes) throw invalidArgument(`eStargz TOC JSON is ${item.entry.size} bytes, over the cap`);
    const parts: Buffer[] = [];
    for await (const piece of item.body) parts.push(Buffer.from(piece));
    return Buffer.concat(parts);
  }
  throw invalidArgument('eStargz TOC member holds no tar entry');
}

async function* once(buf: Buffer): AsyncGenerator<Buffer> {
  yield buf;
}
