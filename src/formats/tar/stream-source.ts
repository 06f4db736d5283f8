// SequentialSource over an async iterable of byte chunks. Holds at most the current
// incoming chunk (plus one header or metadata record being assembled), so memory stays
// bounded whatever the entry sizes; the source is pulled only as fast as it is consumed.

import type { SequentialSource } from './tar-scan.js';
import { truncatedAt } from './tar-scan.js';

const EMPTY = Buffer.alloc(0);

export class StreamSource implements SequentialSource {
  private readonly it: AsyncIterator<Uint8Array>;
  private buf: Buffer = EMPTY;
  private done = false;
  offset = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** Makes sure some bytes are buffered; false at the end of the stream. */
  private async fill(): Promise<boolean> {
    while (this.buf.length === 0) {
      if (this.done) return false;
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      const v = r.value;
      this.buf = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    }
    return true;
  }

  /** Up to `max` bytes (at least one), without copying; null at the end of the stream. */
  async readSome(max: number): Promise<Buffer | null> {
    if (max <= 0 || !(await this.fill())) return null;
    const n = Math.min(max, this.buf.length);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.offset += n;
    return out;
  }

  async read(n: number): Promise<Buffer | null> {
    if (n === 0) return EMPTY;
    const first = await this.readSome(n);
    if (first === null) return null;
    if (first.length === n) return first;
    const parts = [first];
    let got = first.length;
    while (got < n) {
      const part = await this.readSome(n - got);
      if (part === null) throw truncatedAt(this.offset);
      parts.push(part);
      got += part.length;
    }
    return Buffer.concat(parts, n);
  }

  async skipTo(target: number): Promise<void> {
    while (this.offset < target) {
      if ((await this.readSome(target - this.offset)) === null) throw truncatedAt(this.offset);
    }
  }

  /** Lets the underlying iterator clean up (e.g. when the consumer stops early). */
  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.it.return?.();
    }
  }

  /** Reads the rest of the stream, discarding it (trailing padding after the end blocks). */
  async drain(): Promise<void> {
    while ((await this.readSome(Number.MAX_SAFE_INTEGER)) !== null) { /* discard */ }
  }
}
