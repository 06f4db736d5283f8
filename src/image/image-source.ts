// ImageSource: where an image's documents and blobs come from (a registry, or an OCI
// image layout on disk). Lifecycle: `resolve` once (manifest -> platform leaf -> config),
// then `blob(layer)` for random access to each layer and `fetchBlob` for small documents.
// Every document and every whole blob read here is verified against its digest.

import type { RangeReader } from '../formats/range-reader.js';
import type { Descriptor, ImageConfig, ImageManifest, Platform } from './oci-types.js';

export interface ResolvedImage {
  /** Canonical reference for display (`127.0.0.1:5000/a/b:t`, `oci:/path:tag`). */
  readonly reference: string;
  /** Digest of the top-level document the reference names (index or manifest). */
  readonly digest: string;
  /** Digest of the platform manifest (equals `digest` when there is no index). */
  readonly manifestDigest: string;
  readonly manifest: ImageManifest;
  /** The raw manifest bytes as served (their sha256 is manifestDigest). */
  readonly manifestBytes: Buffer;
  readonly config: ImageConfig;
  readonly configBytes: Buffer;
  readonly platform: Platform;
}

/** Counters of what a source has transferred (status, `--stats`, benchmarks). */
export interface TransferCounters {
  bytesFetched: number;
  requests: number;
}

export interface ImageSource {
  /**
   * Resolves the reference for `platform` (default: the host's linux/<arch>). `onManifest`
   * hears the platform manifest once it is verified, before the config is fetched (a lazy
   * open starts on the layers' indexes then); a source may also call it only at the end.
   */
  resolve(platform?: Platform, signal?: AbortSignal, onManifest?: (manifest: ImageManifest) => void): Promise<ResolvedImage>;
  /** Random access to one blob (Range requests, or a local file). */
  blob(desc: Descriptor): RangeReader;
  /** The whole blob, verified against desc.digest; refuses blobs above maxBytes. */
  fetchBlob(desc: Descriptor, maxBytes: number, signal?: AbortSignal): Promise<Buffer>;
  /** A stream of the whole blob from `offset` (for full pulls and the gzip fallback). */
  openBlobStream(desc: Descriptor, offset?: number, signal?: AbortSignal): Promise<NodeJS.ReadableStream>;
  readonly counters: TransferCounters;
  close(): Promise<void>;
}
