// Where the eStargz writer's blob bytes go: a Node writable stream (with backpressure) or
// any `write(chunk): Promise<void>` sink. Counts the bytes (blob offsets of members are
// this count) and hashes them (the blob digest).

import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';

export type BlobOutput = NodeJS.WritableStream | { write(chunk: Uint8Array): Promise<void> };

export class BlobSink {
  private readonly hash: Hash = createHash('sha256');
  private count = 0;

  constructor(private readonly out: BlobOutput) {}

  /** Bytes written so far: the blob offset of the next byte. */
  get size(): number {
    return this.count;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    this.hash.update(chunk);
    this.count += chunk.length;
    if (isStream(this.out)) {
      if (!this.out.write(chunk)) await once(this.out, 'drain');
    } else {
      await this.out.write(chunk);
    }
  }

  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

function isStream(out: BlobOutput): out is NodeJS.WritableStream {
  return typeof (out as { on?: unknown }).on === 'function' && typeof (out as { once?: unknown }).once === 'function';
}
