// SequentialSource over a RangeReader: reads headers through a window of `windowBytes`
// (one Range read serves every header that falls inside it, e.g. runs of small files),
// and skips payloads by moving the offset, without fetching them.

import { invalidArgument } from '../../errors.js';
import type { RangeReader } from '../range-reader.js';
import type { SequentialSource } from './tar-scan.js';
import { truncatedAt } from './tar-scan.js';

export const DEFAULT_HEADER_WINDOW_BYTES = 64 * 1024;

export class RangeSource implements SequentialSource {
  offset = 0;
  /** Blob bytes fetched so far (LayerIndexInfo.indexBytesRead). */
  bytesRead = 0;
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly reader: RangeReader,
    private readonly windowBytes = DEFAULT_HEADER_WINDOW_BYTES,
    private readonly signal?: AbortSignal,
  ) {
    if (!Number.isSafeInteger(windowBytes) || windowBytes < 512 || windowBytes > 64 * 1024 * 1024) {
      throw invalidArgument(`header window of ${windowBytes} bytes is out of range`);
    }
  }

  async read(n: number): Promise<Buffer | null> {
    const size = this.reader.size;
    if (this.offset === size && n > 0) return null;
    if (this.offset + n > size) throw truncatedAt(size);
    const start = this.offset;
    const inWindow = start >= this.windowStart && start + n <= this.windowStart + this.window.length;
    if (!inWindow) {
      const length = Math.min(Math.max(n, this.windowBytes), size - start);
      this.window = await this.reader.readAt(start, length, this.signal);
      if (this.window.length !== length) throw invalidArgument(`range reader returned ${this.window.length} bytes for ${length} at offset ${start}`);
      this.windowStart = start;
      this.bytesRead += length;
    }
    this.offset = start + n;
    return this.window.subarray(start - this.windowStart, start - this.windowStart + n);
  }

  async skipTo(target: number): Promise<void> {
    if (target > this.reader.size) throw truncatedAt(this.reader.size);
    this.offset = target;
  }
}
