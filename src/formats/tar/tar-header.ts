// One 512-byte tar header block, decoded field by field (ustar, GNU and v7 layouts).
// Hand-written rather than taken from a tar library: lazy reads need each header's byte
// offset and its raw blocks, which tar libraries do not expose.

import { invalidArgument } from '../../errors.js';
import { parseTarNumber } from './tar-number.js';

export const BLOCK_SIZE = 512;

export interface RawHeader {
  /** Name as stored (ustar prefix joined), before PAX/GNU overrides and cleaning. */
  readonly name: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** The size field: payload bytes that follow this header. */
  readonly size: number;
  readonly mtime: number; // seconds
  readonly typeflag: string;
  readonly linkName: string;
  readonly uname: string;
  readonly gname: string;
  readonly devMajor: number;
  readonly devMinor: number;
}

/** Rounds a payload size up to whole blocks. */
export function padded(size: number): number {
  return Math.ceil(size / BLOCK_SIZE) * BLOCK_SIZE;
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK_SIZE; i++) if (block[i] !== 0) return false;
  return true;
}

function cString(block: Buffer, start: number, end: number): string {
  const nul = block.indexOf(0, start);
  return block.toString('utf8', start, nul >= 0 && nul < end ? nul : end);
}

/** Decodes and checksums one header block found at `offset` of the tar (for errors). */
export function decodeHeader(block: Buffer, offset: number): RawHeader {
  if (block.length !== BLOCK_SIZE) throw invalidArgument(`tar header at offset ${offset} is ${block.length} bytes, not 512`);
  verifyChecksum(block, offset);
  const magic = block.toString('latin1', 257, 263);
  const version = block.toString('latin1', 263, 265);
  const field = (what: string, start: number, end: number, allowNegative = false) =>
    parseTarNumber(block.subarray(start, end), `${what} (header at offset ${offset})`, allowNegative);

  let name = cString(block, 0, 100);
  // POSIX ustar stores long names as prefix + "/" + name. GNU uses that area for atime etc.
  if (magic === 'ustar\0' && version === '00') {
    const prefix = cString(block, 345, 500);
    if (prefix !== '') name = `${prefix}/${name}`;
  }
  const flag = block[156] === 0 ? '\0' : String.fromCharCode(block[156]!);
  const ustarLike = magic.startsWith('ustar');
  return {
    name,
    mode: field('mode', 100, 108) & 0o7777,
    uid: field('uid', 108, 116),
    gid: field('gid', 116, 124),
    size: field('size', 124, 136),
    mtime: field('mtime', 136, 148, true),
    typeflag: flag,
    linkName: cString(block, 157, 257),
    uname: ustarLike ? cString(block, 265, 297) : '',
    gname: ustarLike ? cString(block, 297, 329) : '',
    devMajor: ustarLike ? field('devmajor', 329, 337) : 0,
    devMinor: ustarLike ? field('devminor', 337, 345) : 0,
  };
}

/**
 * The checksum is the sum of the header bytes with the checksum field read as spaces.
 * Historic writers summed signed chars; like GNU tar and Go, accept either sum.
 */
function verifyChecksum(block: Buffer, offset: number): void {
  const stored = parseTarNumber(block.subarray(148, 156), `checksum (header at offset ${offset})`);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b >= 0x80 ? b - 0x100 : b;
  }
  if (stored !== unsigned && stored !== signed) {
    throw invalidArgument(`tar header at offset ${offset} has a bad checksum (stored ${stored}, computed ${unsigned})`);
  }
}
