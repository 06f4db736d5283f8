// RangeReader: random access to the bytes of one blob, wherever they live. Format code
// reads only through this: tests pass a Buffer, the daemon passes registry -> cache.

import { invalidArgument } from '../errors.js';

export interface RangeReader {
  /** Total size of the blob in bytes. */
  readonly size: number;
  /**
   * Reads `length` bytes at `offset`. Resolves with exactly `length` bytes, or rejects
   * (UNAVAILABLE, DIGEST_MISMATCH, INVALID_ARGUMENT for a range past the end, ...).
   * A reader that receives the bytes over time may tell `arrived` about each prefix that has
   * come, so that the first bytes are used before the last arrive; others never call it.
   */
  readAt(offset: number, length: number, signal?: AbortSignal, arrived?: ArrivedBytes): Promise<Buffer>;
}

/**
 * The bytes of a read that have come so far, from its offset on (a prefix of what it will
 * resolve with). They are the blob's bytes, as final as the resolved ones; a read that
 * restarts (a retry) reports from its offset again.
 */
export type ArrivedBytes = (prefix: Buffer) => void;

/** Checks that [offset, offset+length) lies inside a blob of `size` bytes. */
export function checkRange(offset: number, length: number, size: number, what = 'blob'): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 ||
      offset + length > size) {
    throw invalidArgument(`range [${offset}, +${length}) is outside the ${what} (${size} bytes)`);
  }
}

/** A RangeReader over bytes in memory (tests, small blobs). */
export class BufferRangeReader implements RangeReader {
  constructor(private readonly buf: Buffer) {}
  get size(): number {
    return this.buf.length;
  }
  async readAt(offset: number, length: number): Promise<Buffer> {
    checkRange(offset, length, this.buf.length);
    return this.buf.subarray(offset, offset + length);
  }
}
