// RangeReader over a local file: opened once, read with positional reads (no shared file
// position, so concurrent reads are safe), closed explicitly.

import { open, type FileHandle } from 'node:fs/promises';
import { failedPrecondition, invalidArgument, notFound } from '../errors.js';
import { checkRange, type RangeReader } from './range-reader.js';

export class FileRangeReader implements RangeReader {
  private closed = false;

  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    readonly path: string,
  ) {}

  /** Opens `path` read-only; its size is fixed at open time. */
  static async open(path: string): Promise<FileRangeReader> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw notFound(`file ${path} does not exist`, err);
      throw invalidArgument(`cannot open ${path}: ${(err as Error).message}`, err);
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw invalidArgument(`${path} is not a regular file`);
      return new FileRangeReader(fh, st.size, path);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async readAt(offset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    if (this.closed) throw failedPrecondition(`file ${this.path} is closed`);
    checkRange(offset, length, this.size, `file ${this.path}`);
    signal?.throwIfAborted();
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await this.fh.read(buf, got, length - got, offset + got);
      if (bytesRead === 0) throw invalidArgument(`file ${this.path} shrank: no bytes at offset ${offset + got}`);
      got += bytesRead;
    }
    return buf;
  }

  /** Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}
