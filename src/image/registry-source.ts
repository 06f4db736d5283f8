// ImageSource over a registry: resolve the reference's manifest (and platform leaf and
// config), then serve blobs by Range requests. Each source counts its own transfers.

import type { Readable } from 'node:stream';
import { invalidArgument } from '../errors.js';
import type { RangeReader } from '../formats/range-reader.js';
import { parseReference, type ImageReference, type RegistryReference } from '../reference/reference.js';
import { RegistryClient } from '../registry/client.js';
import type { RegistryClientOptions } from '../registry/options.js';
import type { ImageSource, ResolvedImage, TransferCounters } from './image-source.js';
import type { Descriptor, ImageManifest, Platform } from './oci-types.js';

export class RegistryImageSource implements ImageSource {
  private readonly client: RegistryClient;

  /**
   * `client` is shared (its connections, tokens and caches); the source counts through a
   * view of it. With `ownClient` the source closes the client on close().
   */
  constructor(readonly ref: RegistryReference, client: RegistryClient, private readonly ownClient?: RegistryClient) {
    this.client = client.withCounters();
  }

  get counters(): TransferCounters {
    return this.client.counters;
  }

  resolve(platform?: Platform, signal?: AbortSignal, onManifest?: (manifest: ImageManifest) => void): Promise<ResolvedImage> {
    return this.client.resolve(this.ref, platform, signal, onManifest);
  }

  blob(desc: Descriptor): RangeReader {
    return this.client.blobReader(this.ref.host, this.ref.repository, desc);
  }

  fetchBlob(desc: Descriptor, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
    return this.client.fetchBlob(this.ref.host, this.ref.repository, desc, maxBytes, signal);
  }

  openBlobStream(desc: Descriptor, offset = 0, signal?: AbortSignal): Promise<Readable> {
    return this.client.openBlobStream(this.ref.host, this.ref.repository, desc, offset, signal);
  }

  async close(): Promise<void> {
    await this.ownClient?.close();
  }
}

/**
 * A source for a registry reference (string or parsed). With `client` given it is shared
 * and stays open after the source closes; otherwise one is made from `options` and owned.
 */
export function openRegistrySource(ref: string | ImageReference, options: RegistryClientOptions & { client?: RegistryClient } = {}): RegistryImageSource {
  const parsed = typeof ref === 'string' ? parseReference(ref) : ref;
  if (parsed.kind !== 'registry') throw invalidArgument(`"oci:${parsed.path}" is an OCI layout, not a registry reference`);
  if (options.client) return new RegistryImageSource(parsed, options.client);
  const client = new RegistryClient(options);
  return new RegistryImageSource(parsed, client, client);
}
