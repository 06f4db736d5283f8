// One full download of a blob into a temp file, for registries that ignore Range (they
// answer 200 with the whole body). Reads are served from the file as soon as the bytes
// they need have arrived, so many reads cost one download; the digest is checked at the
// end and a blob that does not match is never served again from this spool.

import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { digestMismatch, unavailable } from '../errors.js';
import { DigestVerifier } from '../reference/digest.js';
import type { Descriptor } from '../image/oci-types.js';
import { TransientError } from './retry.js';
import { discard, type ByteSink } from './body.js';

interface Waiter { end: number; wake: () => void }

export class BlobSpool {
  private fh: FileHandle | undefined;
  private readonly path: string;
  /** Bytes of the current download on disk, from offset 0. */
  private written = 0;
  private state: 'running' | 'done' | 'failed' = 'running';
  private failure: Error | undefined;
  private waiters: Waiter[] = [];
  private closed = false;

  constructor(dir: string, private readonly desc: Descriptor, private readonly what: string) {
    this.path = join(dir, `lazysnap-spool-${process.pid}-${randomBytes(8).toString('hex')}`);
  }

  get failed(): boolean {
    return this.state === 'failed';
  }

  /**
   * Runs the download `task`, which calls `consume` with a body holding the blob from
   * byte 0 (again from the start after a broken body, under the caller's retry policy);
   * its outcome settles the spool. Never rejects: readers see the failure.
   */
  async fill(task: () => Promise<void>): Promise<void> {
    try {
      this.fh = await open(this.path, 'w+', 0o600);
      await task();
      this.state = 'done';
    } catch (err) {
      this.state = 'failed';
      this.failure = err instanceof Error ? err : new Error(String(err));
    }
    this.wakeAll();
  }

  /** Writes one body to the file from offset 0, hashing it; any fault throws. */
  async consume(body: Readable, count: ByteSink): Promise<void> {
    if (!this.fh || this.closed) throw unavailable(`${this.what}: spool closed`);
    const verifier = new DigestVerifier(this.desc.digest, this.what);
    this.written = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (this.closed) throw unavailable(`${this.what}: closed`);
        count(chunk.length);
        if (this.written + chunk.length > this.desc.size) {
          throw digestMismatch(`${this.what}: registry sent more than the blob's ${this.desc.size} bytes`);
        }
        verifier.update(chunk);
        await this.fh.write(chunk, 0, chunk.length, this.written);
        this.written += chunk.length;
        this.wake();
      }
    } catch (err) {
      discard(body);
      throw err;
    }
    if (this.written < this.desc.size) throw new TransientError(`${this.what}: body ended after ${this.written} of ${this.desc.size} bytes`);
    verifier.verify();
  }

  /** A read is served once its bytes are on disk; one that ends at the blob's end waits for the digest check. */
  private ready(end: number): boolean {
    return end <= this.written && end < this.desc.size;
  }

  private wake(): void {
    const ready = this.waiters.filter((w) => this.ready(w.end));
    this.waiters = this.waiters.filter((w) => !this.ready(w.end));
    for (const w of ready) w.wake();
  }

  private wakeAll(): void {
    const all = this.waiters;
    this.waiters = [];
    for (const w of all) w.wake();
  }

  /** Bytes [offset, offset+length) once they are on disk (the range is checked by the caller). */
  async read(offset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    const end = offset + length;
    while (this.state === 'running' && !this.ready(end)) {
      await new Promise<void>((resolve, reject) => {
        const w: Waiter = { end, wake: () => { signal?.removeEventListener('abort', onAbort); resolve(); } };
        const onAbort = () => {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(unavailable(`${this.what}: read aborted`, signal?.reason));
        };
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiters.push(w);
      });
    }
    if (this.state === 'failed') throw this.failure!;
    if (this.closed || !this.fh) throw unavailable(`${this.what}: spool closed`);
    const out = Buffer.allocUnsafe(length);
    const { bytesRead } = await this.fh.read(out, 0, length, offset);
    if (bytesRead !== length) throw unavailable(`${this.what}: spool file is short`);
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.state === 'running') {
      this.state = 'failed';
      this.failure = unavailable(`${this.what}: closed`);
    }
    this.wakeAll();
    await this.fh?.close().catch(() => {});
    await unlink(this.path).catch(() => {});
  }
}
