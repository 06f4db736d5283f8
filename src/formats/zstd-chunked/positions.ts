// Where a zstd:chunked blob keeps its TOC ("manifest"): layer annotations (preferred:
// they come from the signed manifest and save a round trip) or the footer at the blob's
// end. Annotation value: `offset:compressedLength:uncompressedLength:type` in decimal,
// under io.github.containers.zstd-chunked.* (current) or io.containers.zstd-chunked.*
// (legacy: skopeo 1.9, containers/storage <= 1.44). The offset is that of the
// compressed TOC itself, inside its skippable frame (past the frame's 8-byte header).
//
// Footer, the data of the blob's last skippable frame (50 2a 4d 18, LE32 length, data):
//   current, 64 bytes: LE64 TOC offset, LE64 compressed length, LE64 uncompressed length,
//     LE64 manifest type (1), LE64 tar-split offset, LE64 its compressed length,
//     LE64 its uncompressed length, then magic "GNUlInUx";
//   legacy, 40 bytes: LE64 TOC offset, compressed length, uncompressed length, type,
//     then magic "GnUlInUx".

import { invalidArgument } from '../../errors.js';
import { ANNOTATIONS } from '../../image/oci-types.js';
import { LIMITS } from '../layer-index.js';
import { SHA256_DIGEST } from '../layer-index.js';

export const FOOTER_SIZE = 64;
export const LEGACY_FOOTER_SIZE = 40;
const MAGIC = Buffer.from('GNUlInUx', 'latin1');
const LEGACY_MAGIC = Buffer.from('GnUlInUx', 'latin1');
const SKIPPABLE_FRAME_MAGIC = 0x184d2a50;
/** The only manifest type there is: a CRFS-style JSON TOC. */
const MANIFEST_TYPE_CRFS = 1;

export interface TocPosition {
  /** Blob offset of the compressed TOC. */
  readonly offset: number;
  readonly compressedLength: number;
  readonly uncompressedLength: number;
  /** sha256 of the compressed TOC, from the annotation; absent when read from the footer. */
  readonly checksum?: string;
  readonly source: 'annotation' | 'legacy annotation' | 'footer' | 'legacy footer';
}

/** The TOC position from annotations, or undefined when they carry none. */
export function positionFromAnnotations(annotations: Readonly<Record<string, string>> | undefined): TocPosition | undefined {
  if (!annotations) return undefined;
  const dialects = [
    { pos: ANNOTATIONS.zstdChunkedManifestPosition, sum: ANNOTATIONS.zstdChunkedManifestChecksum, source: 'annotation' as const },
    { pos: ANNOTATIONS.legacyZstdChunkedManifestPosition, sum: ANNOTATIONS.legacyZstdChunkedManifestChecksum, source: 'legacy annotation' as const },
  ];
  for (const d of dialects) {
    const value = annotations[d.pos];
    if (value === undefined) continue;
    const parts = value.split(':');
    if (parts.length !== 4 || !parts.every((p) => /^[0-9]{1,16}$/.test(p))) {
      throw invalidArgument(`annotation ${d.pos} is ${JSON.stringify(value)}, not offset:length:uncompressedLength:type`);
    }
    const [offset, compressedLength, uncompressedLength, type] = parts.map(Number) as [number, number, number, number];
    const checksum = annotations[d.sum];
    if (checksum !== undefined && !SHA256_DIGEST.test(checksum)) {
      throw invalidArgument(`annotation ${d.sum} is ${JSON.stringify(checksum)}, not sha256:<64 hex>`);
    }
    return checked({ offset, compressedLength, uncompressedLength, ...(checksum ? { checksum } : {}), source: d.source }, type);
  }
  return undefined;
}

/** The TOC position from the footer at the end of `tail` (the blob's last bytes), if any. */
export function positionFromFooter(tail: Buffer): TocPosition | undefined {
  const at = (size: number) => tail.subarray(tail.length - size);
  if (tail.length >= FOOTER_SIZE + 8 && at(8).equals(MAGIC) && skippableHeader(tail, FOOTER_SIZE)) {
    const f = at(FOOTER_SIZE);
    return checked({ offset: u64(f, 0), compressedLength: u64(f, 8), uncompressedLength: u64(f, 16), source: 'footer' }, u64(f, 24));
  }
  if (tail.length >= LEGACY_FOOTER_SIZE + 8 && at(8).equals(LEGACY_MAGIC) && skippableHeader(tail, LEGACY_FOOTER_SIZE)) {
    const f = at(LEGACY_FOOTER_SIZE);
    return checked({ offset: u64(f, 0), compressedLength: u64(f, 8), uncompressedLength: u64(f, 16), source: 'legacy footer' }, u64(f, 24));
  }
  return undefined;
}

/** The footer is the data of a skippable frame: its 8-byte header sits just before it. */
function skippableHeader(tail: Buffer, footerSize: number): boolean {
  const h = tail.length - footerSize - 8;
  return tail.readUInt32LE(h) === SKIPPABLE_FRAME_MAGIC && tail.readUInt32LE(h + 4) === footerSize;
}

/** A little-endian 64-bit field, narrowed to a safe integer. */
function u64(f: Buffer, at: number): number {
  const v = f.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw invalidArgument(`zstd:chunked footer field at byte ${at} is ${v}, beyond any blob`);
  return Number(v);
}

function checked(p: TocPosition, type: number): TocPosition {
  const what = `zstd:chunked TOC position (from the ${p.source})`;
  if (type !== MANIFEST_TYPE_CRFS) throw invalidArgument(`${what} has manifest type ${type}, expected ${MANIFEST_TYPE_CRFS}`);
  for (const [k, v] of Object.entries({ offset: p.offset, compressedLength: p.compressedLength, uncompressedLength: p.uncompressedLength })) {
    if (!Number.isSafeInteger(v) || v < 0) throw invalidArgument(`${what} has a bad ${k}: ${v}`);
  }
  if (p.compressedLength === 0 || p.compressedLength > LIMITS.maxTocBytes || p.uncompressedLength > LIMITS.maxTocBytes) {
    throw invalidArgument(`${what} claims a TOC of ${p.compressedLength} bytes (${p.uncompressedLength} uncompressed), outside 1..${LIMITS.maxTocBytes}`);
  }
  return p;
}
