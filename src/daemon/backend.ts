// MountBackend: what a mount server (or the daemon itself, in-process) needs from the
// engine to mount an image. The daemon owns records and the control socket, the mount
// server the FUSE session; the backend owns registry, formats, cache and tree.
// Lifecycle: openImage -> (tree, read, counters while mounted) -> close on umount.

import type { Tree } from '../tree/tree-node.js';
import type { NodeReader } from './tree-mount.js';

export type PrefetchMode = 'none' | 'landmark' | 'all';
export const PREFETCH_MODES: readonly PrefetchMode[] = ['none', 'landmark', 'all'];

export interface OpenImageOptions {
  /** `os/arch[/variant]`; the backend picks the host's platform when absent. */
  platform?: string;
  prefetch?: PrefetchMode;
}

export interface LayerDescription {
  digest: string;
  /** Compressed size of the blob. */
  size: number;
  mediaType: string;
  /** estargz | zstd-chunked | tar | gzip | zstd */
  format: string;
  lazy: boolean;
  /** Why the layer is not read lazily. */
  reason?: string;
}

export interface MountDescription {
  /** The reference as resolved (normalised). */
  image: string;
  /** Manifest digest. */
  digest: string;
  layers: LayerDescription[];
  /** Sum of the layers' compressed sizes (what a full pull downloads). */
  compressedBytes: number;
}

export interface ImageCounters {
  /** Body bytes received from the registry (or read from an oci: layout), prefetch included. */
  bytesFetched: number;
  requests: number;
  cacheHits: number;
  cacheMisses: number;
  errors: number;
}

export interface OpenedImage {
  readonly tree: Tree;
  read: NodeReader;
  describe(): MountDescription;
  counters(): ImageCounters;
  /**
   * Lets the background work (prefetch) decode what it fetched, called once the mount
   * answers. The prefetch's first requests are fetched while the image opens, but their
   * chunks are decoded only from here on (or when a read asks for one): decompressing
   * them while mounting competed for the one JS thread and made a cold mount ~100 ms
   * slower. Idempotent.
   */
  startBackground(): void;
  /** Stops prefetch and releases the layers; idempotent. */
  close(): Promise<void>;
}

export interface CacheFigures {
  memoryBytes: number;
  diskBytes: number;
  diskLimitBytes: number;
}

export interface MountBackend {
  /** Rejects with a LazysnapError (NOT_FOUND for a missing image, UNAUTHORIZED, UNAVAILABLE...). */
  openImage(reference: string, opts: OpenImageOptions): Promise<OpenedImage>;
  cacheFigures(): CacheFigures;
}
