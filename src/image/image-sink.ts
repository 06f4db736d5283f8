// ImageSink: where convert and push write an image. A registry (blobs pushed unless the
// registry has them, then the manifest under its tag), or an OCI layout on disk (the
// content store's atomic, verified writes; then a tag in index.json).

import { createReadStream } from 'node:fs';
import { isCode } from '../errors.js';
import type { RegistryReference } from '../reference/reference.js';
import type { RegistryClient } from '../registry/client.js';
import { ContentStore } from '../store/content-store.js';
import type { Descriptor } from './oci-types.js';

export interface ImageSink {
  /** The reference the image will be known by (for display). */
  readonly reference: string;
  /** Stores a blob whose bytes are in a local file (convert's spool) or a stream factory. */
  putBlob(desc: Descriptor, data: { file: string } | { open: () => Promise<AsyncIterable<Uint8Array>> } | { bytes: Buffer }, signal?: AbortSignal): Promise<void>;
  /** Stores the manifest and names it (tag), last, so nothing half-written gets a name. */
  putManifest(bytes: Buffer, desc: Descriptor, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export class RegistrySink implements ImageSink {
  constructor(private readonly client: RegistryClient, private readonly ref: RegistryReference, readonly reference: string) {}

  async putBlob(desc: Descriptor, data: { file: string } | { open: () => Promise<AsyncIterable<Uint8Array>> } | { bytes: Buffer }, signal?: AbortSignal): Promise<void> {
    const payload = 'bytes' in data ? data.bytes
      : 'file' in data ? () => createReadStream(data.file) as AsyncIterable<Uint8Array>
      : await openOnce(data.open);
    await this.client.pushBlob(this.ref.host, this.ref.repository, desc, payload, signal);
  }

  async putManifest(bytes: Buffer, desc: Descriptor, signal?: AbortSignal): Promise<void> {
    const tag = this.ref.tag ?? desc.digest;
    await this.client.putManifest(this.ref.host, this.ref.repository, tag, bytes, desc.mediaType, signal);
  }

  async close(): Promise<void> {}
}

/** The registry client's stream factory is synchronous: open the stream first. */
async function openOnce(open: () => Promise<AsyncIterable<Uint8Array>>): Promise<() => AsyncIterable<Uint8Array>> {
  const stream = await open();
  let used = false;
  return () => {
    if (used) throw new Error('blob stream cannot be replayed');
    used = true;
    return stream;
  };
}

export class LayoutSink implements ImageSink {
  private constructor(private readonly store: ContentStore, private readonly tag: string, readonly reference: string) {}

  static async open(path: string, tag: string, reference: string): Promise<LayoutSink> {
    return new LayoutSink(await ContentStore.open(path), tag, reference);
  }

  async putBlob(desc: Descriptor, data: { file: string } | { open: () => Promise<AsyncIterable<Uint8Array>> } | { bytes: Buffer }, signal?: AbortSignal): Promise<void> {
    if (await this.store.has(desc.digest)) return;
    if ('bytes' in data) {
      await this.store.put(data.bytes, desc.digest);
      return;
    }
    let writer;
    try {
      writer = await this.store.ingest(desc, signal);
    } catch (err) {
      if (isCode(err, 'ALREADY_EXISTS')) return; // another writer just stored it
      throw err;
    }
    try {
      if ('open' in data && writer.offset > 0) {
        // A stream factory starts at 0: drop what an interrupted run already stored.
        await writer.abort();
        writer = await this.store.ingest(desc, signal);
      }
      const stream = 'file' in data ? createReadStream(data.file, { start: writer.offset }) : await data.open();
      for await (const chunk of stream as AsyncIterable<Uint8Array>) await writer.write(chunk);
      await writer.commit();
    } catch (err) {
      await writer.close().catch(() => {});
      throw err;
    }
  }

  async putManifest(bytes: Buffer, desc: Descriptor): Promise<void> {
    await this.store.put(bytes, desc.digest);
    await this.store.tag(this.tag, desc);
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}
