// The resumable writer behind ContentStore.ingest (containerd's content.Writer): bytes go
// to ingest/<hex>.partial, which survives an interrupted run; a later writer for the same
// digest starts at `offset`, the bytes already there (hashed again on open, so the final
// check covers them). The blob appears in blobs/ only at commit, after size and digest are
// checked; a mismatch discards the partial data. The store hands each writer exclusive
// ownership of its digest (both in-process and between processes) until it finishes.

import { createHash, type Hash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { digestMismatch, failedPrecondition } from '../errors.js';
import { fsyncDir } from './durable-file.js';

/** Bytes read per step when hashing the prefix left by an interrupted run. */
export const REHASH_CHUNK_BYTES = 1024 * 1024;

export interface BlobWriter {
  readonly digest: string;
  /** The size the descriptor promises; commit refuses anything else. */
  readonly size: number;
  /** Bytes already present when this writer was opened (from an interrupted run). */
  readonly offset: number;
  /** Bytes present now: offset plus what was written through this writer. */
  readonly written: number;
  /** Appends `chunk`; DIGEST_MISMATCH (nothing written) if it would exceed `size`. */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Checks size (FAILED_PRECONDITION while short; the writer stays usable) and sha256
   * (DIGEST_MISMATCH: partial data discarded), fsyncs and moves the blob into blobs/.
   */
  commit(): Promise<void>;
  /** Discards the partial data and releases the digest. Idempotent. */
  abort(): Promise<void>;
  /** Releases the digest, keeping the partial data for a later resume. Idempotent. */
  close(): Promise<void>;
}

export interface BlobWriterPaths {
  partial: string;
  target: string;
  blobDir: string;
}

type State = 'open' | 'finished';

export class FileBlobWriter implements BlobWriter {
  private state: State = 'open';
  private pending: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly digest: string,
    readonly size: number,
    readonly offset: number,
    private writtenBytes: number,
    private readonly fh: FileHandle,
    private readonly hash: Hash,
    private readonly paths: BlobWriterPaths,
    private readonly release: () => Promise<void>,
  ) {}

  /**
   * Opens (or resumes) the partial file. `release` is called once the writer finishes,
   * however it finishes; on a failure here it is the caller's to call.
   */
  static async open(digest: string, size: number, paths: BlobWriterPaths, release: () => Promise<void>): Promise<FileBlobWriter> {
    // O_RDWR|O_CREAT without O_TRUNC: keep what an interrupted run left.
    const fh = await open(paths.partial, constants.O_RDWR | constants.O_CREAT, 0o644);
    try {
      let st: Stats = await fh.stat();
      if (st.size > size) {
        // Longer than the blob can be: not a prefix of it. Start again.
        await fh.truncate(0);
        st = await fh.stat();
      }
      const hash = createHash('sha256');
      const buf = Buffer.allocUnsafe(Math.min(REHASH_CHUNK_BYTES, Math.max(st.size, 1)));
      let pos = 0;
      while (pos < st.size) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, st.size - pos), pos);
        if (bytesRead === 0) break;
        hash.update(buf.subarray(0, bytesRead));
        pos += bytesRead;
      }
      if (pos < st.size) await fh.truncate(pos);
      return new FileBlobWriter(digest, size, pos, pos, fh, hash, paths, release);
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
  }

  get written(): number {
    return this.writtenBytes;
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.serial(async () => {
      this.checkOpen('write');
      if (this.writtenBytes + chunk.length > this.size) {
        throw digestMismatch(`blob ${this.digest}: more than the ${this.size} bytes its descriptor says`);
      }
      let done = 0;
      while (done < chunk.length) {
        const { bytesWritten } = await this.fh.write(chunk, done, chunk.length - done, this.writtenBytes + done);
        done += bytesWritten;
      }
      this.hash.update(chunk);
      this.writtenBytes += chunk.length;
    });
  }

  commit(): Promise<void> {
    return this.serial(async () => {
      this.checkOpen('commit');
      if (this.writtenBytes !== this.size) {
        throw failedPrecondition(`blob ${this.digest}: ${this.writtenBytes} of ${this.size} bytes written, cannot commit yet`);
      }
      const actual = `sha256:${this.hash.copy().digest('hex')}`;
      if (actual !== this.digest) {
        await this.finish(true);
        throw digestMismatch(`blob ${this.digest}: content has digest ${actual}; partial data discarded`);
      }
      try {
        await this.fh.sync();
        await this.fh.close();
        this.state = 'finished';
        await rename(this.paths.partial, this.paths.target);
        await fsyncDir(this.paths.blobDir);
      } finally {
        await this.finish(false);
      }
    });
  }

  abort(): Promise<void> {
    return this.serial(() => this.finish(true));
  }

  close(): Promise<void> {
    return this.serial(() => this.finish(false));
  }

  private async finish(discard: boolean): Promise<void> {
    // Only a writer still open owns the partial file; after commit it is the blob.
    if (this.state === 'open') {
      this.state = 'finished';
      await this.fh.close().catch(() => {});
      if (discard) await rm(this.paths.partial, { force: true });
    }
    await this.releaseOnce();
  }

  private released = false;
  private async releaseOnce(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.release();
  }

  private checkOpen(op: string): void {
    if (this.state !== 'open') throw failedPrecondition(`blob ${this.digest}: ${op} on a finished writer`);
  }

  /** One operation at a time: writes land in order even if the caller does not await. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.pending.then(fn, fn);
    this.pending = run.catch(() => {});
    return run;
  }
}
