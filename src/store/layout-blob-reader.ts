// A RangeReader over one blob file of an OCI layout, for a descriptor known up front:
// `size` is the descriptor's, the file is opened on the first read (ImageSource.blob is
// synchronous) and refused when its size differs (a truncated or swapped blob is never
// served as if it were the one described). Reads are counted for the source's counters.

import { digestMismatch, failedPrecondition } from '../errors.js';
import { FileRangeReader } from '../formats/file-range-reader.js';
import { checkRange, type RangeReader } from '../formats/range-reader.js';

export interface ReadMeter {
  request(): void;
  bytes(n: number): void;
}

export class LayoutBlobReader implements RangeReader {
  private opening: Promise<FileRangeReader> | undefined;
  private closed = false;

  constructor(
    private readonly path: string,
    readonly size: number,
    private readonly what: string,
    private readonly meter: ReadMeter,
  ) {}

  async readAt(offset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    checkRange(offset, length, this.size, this.what);
    signal?.throwIfAborted();
    const file = await this.file();
    this.meter.request();
    const buf = await file.readAt(offset, length, signal);
    this.meter.bytes(buf.length);
    return buf;
  }

  /** Idempotent; later reads fail with FAILED_PRECONDITION. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const opening = this.opening;
    if (opening) await (await opening.catch(() => undefined))?.close();
  }

  private file(): Promise<FileRangeReader> {
    if (this.closed) return Promise.reject(failedPrecondition(`${this.what}: reader is closed`));
    if (!this.opening) {
      this.opening = (async () => {
        const f = await FileRangeReader.open(this.path);
        if (f.size !== this.size) {
          await f.close();
          throw digestMismatch(`${this.what}: file has ${f.size} bytes, its descriptor says ${this.size}`);
        }
        return f;
      })();
      // A failed open is not cached: the next read tries again.
      this.opening.catch(() => { this.opening = undefined; });
    }
    return this.opening;
  }
}
