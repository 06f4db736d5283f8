// Writes a gzip stream as a series of members: write() appends uncompressed bytes to the
// current member (opening one at the blob's current offset if none is open), endMember()
// finishes it, so the next write starts a new member that can be fetched and gunzipped on
// its own. Compression streams through node:zlib with backpressure: memory stays bounded
// whatever the member's size. Also hashes the uncompressed bytes (the diff ID).

import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { createGzip, type Gzip } from 'node:zlib';
import type { BlobSink } from './blob-sink.js';

export class GzipMembers {
  private gz: Gzip | undefined;
  private pump: Promise<void> | undefined;
  private readonly diffHash: Hash = createHash('sha256');
  private uncompressed = 0;

  constructor(private readonly sink: BlobSink, private readonly level: number) {}

  /** Blob offset where the next member starts (meaningful when no member is open). */
  get blobOffset(): number {
    return this.sink.size;
  }

  /** Uncompressed bytes written so far: the offset in the layer's tar. */
  get tarOffset(): number {
    return this.uncompressed;
  }

  async write(data: Uint8Array): Promise<void> {
    if (data.length === 0) return;
    this.diffHash.update(data);
    this.uncompressed += data.length;
    const gz = this.gz ?? this.open();
    if (!gz.write(data)) await Promise.race([once(gz, 'drain'), this.pump]);
  }

  async endMember(): Promise<void> {
    const gz = this.gz;
    const pump = this.pump;
    if (!gz || !pump) return;
    this.gz = this.pump = undefined;
    gz.end();
    await pump;
  }

  diffId(): string {
    return `sha256:${this.diffHash.digest('hex')}`;
  }

  private open(): Gzip {
    const gz = createGzip({ level: this.level });
    this.gz = gz;
    const sink = this.sink;
    this.pump = (async () => {
      for await (const out of gz) await sink.write(out as Buffer);
    })();
    this.pump.catch(() => {}); // surfaced by write() or endMember()
    return gz;
  }
}
