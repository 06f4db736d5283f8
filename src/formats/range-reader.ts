// RangeReader: random access to the bytes of one blob, wherever they live. Format code
// reads only through this: tests pass a Buffer, the daemon passes registry -> cache.

import { invalidArgument } from '../errors.js';

export interface RangeReader {
  /** Total size of the blob in bytes. */
  readonly size: number;
  /**
   * Reads `length` bytes at `offset`. Resolves with exactly `length` bytes, or rejects
   * (UNAVAILABLE, DIGEST_MISMATCH, INVALID_ARGUMENT for a range past the end, ...).
   */
  readAt(offset: number, length: number, signal?: AbortSignal): Promise<Buffer>;
}

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
