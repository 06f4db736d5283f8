// The eStargz footer: an empty gzip member whose header's extra field records where the
// TOC's gzip member starts. Being a valid (empty) gzip member, it leaves the blob an
// ordinary tar.gz. Byte by byte, the 51-byte footer is:
//
//   0  1f 8b            gzip magic (ID1 ID2)
//   2  08               CM = deflate
//   3  04               FLG = FEXTRA only (an extra field follows the fixed header)
//   4  00 00 00 00      MTIME = 0
//   8  00               XFL = 0
//   9  ff               OS = unknown
//  10  1a 00            XLEN = 26, little-endian: the extra field's length
//  12  53 47            subfield ID 'S' 'G'
//  14  16 00            subfield LEN = 22, little-endian
//  16  %016x            the TOC's blob offset as 16 lower-case hex digits
//  32  STARGZ           magic
//  38  01 00 00 ff ff   deflate: one final stored block of length 0 (LEN, ~LEN)
//  43  00 00 00 00      CRC32 of no bytes = 0
//  47  00 00 00 00      ISIZE = 0
//
// The legacy stargz footer (47 bytes) is the same without the subfield header: XLEN = 22
// and the extra field is directly `%016xSTARGZ`.

import { invalidArgument } from '../../errors.js';

export const FOOTER_SIZE = 51;
export const LEGACY_FOOTER_SIZE = 47;

const GZIP_HEAD = Buffer.from([0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff]);
const EMPTY_DEFLATE_AND_TRAILER = Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
const MAGIC = 'STARGZ';
const HEX16 = /^[0-9a-fA-F]{16}$/;

export interface ParsedFooter {
  /** Blob offset of the TOC's gzip member. */
  readonly tocOffset: number;
  readonly footerSize: typeof FOOTER_SIZE | typeof LEGACY_FOOTER_SIZE;
}

/** The footer for a TOC at `tocOffset`. */
export function encodeFooter(tocOffset: number): Buffer {
  if (!Number.isSafeInteger(tocOffset) || tocOffset < 0) throw invalidArgument(`TOC offset ${tocOffset} is not a valid blob offset`);
  const extra = Buffer.from(`SG\x16\x00${tocOffset.toString(16).padStart(16, '0')}${MAGIC}`, 'latin1');
  const out = Buffer.concat([GZIP_HEAD, Buffer.from([extra.length, 0]), extra, EMPTY_DEFLATE_AND_TRAILER]);
  if (out.length !== FOOTER_SIZE) throw new Error(`internal: footer is ${out.length} bytes`);
  return out;
}

/**
 * Parses the footer at the end of `tail` (the last bytes of the blob): the 51-byte form
 * first, then the legacy 47-byte one. Undefined when neither is there (not an eStargz).
 * The MTIME, XFL and OS bytes are not checked (other gzip writers set them).
 */
export function parseFooter(tail: Buffer): ParsedFooter | undefined {
  if (tail.length >= FOOTER_SIZE) {
    const f = tail.subarray(tail.length - FOOTER_SIZE);
    if (gzipFrame(f, 26) && f[12] === 0x53 && f[13] === 0x47 && f.readUInt16LE(14) === 22) {
      const tocOffset = offsetField(f, 16);
      if (tocOffset !== undefined) return { tocOffset, footerSize: FOOTER_SIZE };
    }
  }
  if (tail.length >= LEGACY_FOOTER_SIZE) {
    const f = tail.subarray(tail.length - LEGACY_FOOTER_SIZE);
    if (gzipFrame(f, 22)) {
      const tocOffset = offsetField(f, 12);
      if (tocOffset !== undefined) return { tocOffset, footerSize: LEGACY_FOOTER_SIZE };
    }
  }
  return undefined;
}

/** Magic, deflate, FEXTRA only, XLEN as given, and the empty final block + zero trailer. */
function gzipFrame(f: Buffer, xlen: number): boolean {
  return f[0] === 0x1f && f[1] === 0x8b && f[2] === 0x08 && f[3] === 0x04 && f.readUInt16LE(10) === xlen &&
    f.subarray(f.length - EMPTY_DEFLATE_AND_TRAILER.length).equals(EMPTY_DEFLATE_AND_TRAILER);
}

/** `%016xSTARGZ` at `at`, narrowed to a safe integer (a 64-bit hex value may not be). */
function offsetField(f: Buffer, at: number): number | undefined {
  const hex = f.toString('latin1', at, at + 16);
  if (!HEX16.test(hex) || f.toString('latin1', at + 16, at + 22) !== MAGIC) return undefined;
  const big = BigInt(`0x${hex}`);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw invalidArgument(`eStargz footer names TOC offset 0x${hex}, beyond any blob`);
  return Number(big);
}
