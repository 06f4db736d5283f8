// LazyImage: an image opened for lazy reading. It resolves the reference, opens one
// LayerIndex per layer (eStargz / zstd:chunked / tar read in place; plain gzip / zstd
// through the streamed fallback, which leaves a local random-access copy under
// STATE/layers), merges the layers into one Tree without reading file data, and reads
// file bytes through the shared chunk cache. ls/cat/cp, unpack and the mount all use it.

import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { internal } from '../errors.js';
import { forEachLimited } from '../worker-pool.js';
import type { LayerFormat, LayerIndex } from '../formats/layer-index.js';
import type { LayerEntry } from '../formats/layer-entry.js';
import { openLayerIndex } from '../formats/open-layer.js';
import { openStreamedIndex } from '../formats/streamed/open-streamed-index.js';
import { buildTree, type MergedTree } from '../tree/build-tree.js';
import type { TreeNode } from '../tree/tree-node.js';
import { CachedLayerReader, type PrefetchOptions } from '../cache/cached-layer-reader.js';
import { IndexReadCache } from '../cache/index-read-cache.js';
import type { ChunkStore } from '../cache/chunk-store.js';
import { ReadCounters } from '../cache/read-counters.js';
import { silentProgress, type Progress } from '../progress.js';
import type { ImageSource, ResolvedImage } from './image-source.js';
import type { RangeReader } from '../formats/range-reader.js';
import type { StoredBlobs } from '../store/stored-blobs.js';
import { LayoutBlobReader, type ReadMeter } from '../store/layout-blob-reader.js';

const NO_METER: ReadMeter = { request() {}, bytes() {} };
import type { Descriptor, ImageManifest, Platform } from './oci-types.js';
import { EarlyRangeReader } from '../formats/early-range-reader.js';

export interface LazyLayer {
  readonly desc: Descriptor;
  readonly format: LayerFormat;
  /** True when file bytes come from the registry on demand; false for the streamed fallback. */
  readonly lazy: boolean;
  /** Why the layer is not lazy (the streamed fallback), for `status` and `inspect`. */
  readonly reason?: string;
  readonly index: LayerIndex;
  read(entry: LayerEntry, fileOffset: number, length: number, signal?: AbortSignal): Promise<Buffer>;
  /** eStargz landmark prefetch, or everything; shares fetches with on-demand reads. */
  prefetch(what: 'landmark' | 'all', signal?: AbortSignal, opts?: PrefetchOptions): Promise<void>;
  close(): Promise<void>;
}

export interface LazyImageOptions {
  platform?: Platform;
  /** Where streamed layers keep their local copies (STATE/layers). */
  layersDir: string;
  /** The chunk cache shared by every image of the process. */
  store: ChunkStore;
  /** Counters to bump besides the image's own (e.g. the process-wide total). */
  parentCounters?: ReadCounters;
  progress?: Progress;
  signal?: AbortSignal;
  /** Layers opened at once. */
  concurrency?: number;
  /**
   * The local content store's blobs: a layer blob that `pull --all` already stored is
   * read from there, never fetched again. May still be opening: each layer awaits it.
   */
  localStore?: StoredBlobs | Promise<StoredBlobs>;
  /**
   * Called once every layer is open, before the merged tree is built: a mount starts its
   * prefetch's fetches here, so that the bytes travel while the tree is built and mounted.
   */
  onLayersOpen?: (layers: readonly LazyLayer[]) => void;
  /**
   * The image will be prefetched: each eStargz layer starts fetching its prioritised files
   * as soon as its TOC names the landmark (EarlyRangeReader), and its prefetch then reads
   * them from that fetch.
   */
  fetchLandmarkEarly?: boolean;
}

export class LazyImage {
  private closed = false;

  private constructor(
    readonly source: ImageSource,
    readonly resolved: ResolvedImage,
    readonly layers: readonly LazyLayer[],
    readonly tree: MergedTree,
    readonly counters: ReadCounters,
  ) {}

  static async open(source: ImageSource, opts: LazyImageOptions): Promise<LazyImage> {
    const counters = new ReadCounters(opts.parentCounters);
    let layers: LazyLayer[] = [];
    let opening: Promise<void> | undefined;
    const openLayers = (manifest: ImageManifest): Promise<void> => {
      layers = new Array(manifest.layers.length);
      return forEachLimited(manifest.layers, opts.concurrency ?? 4, async (desc, i) => {
        const localStore = await opts.localStore;
        const local = localStore && (await localStore.has(desc.digest)) ? localStore.blobPath(desc.digest) : undefined;
        layers[i] = await openLayer(source, desc, i, manifest.layers.length, opts, counters, local);
      }, opts.signal);
    };
    let resolved: ResolvedImage;
    try {
      // The layers' indexes are fetched while the config travels: one round trip less
      // before the first TOC arrives (the config names nothing a layer's opening needs).
      resolved = await source.resolve(opts.platform, opts.signal, (manifest) => {
        opening = openLayers(manifest);
        opening.catch(() => {}); // awaited below
      });
      await (opening ??= openLayers(resolved.manifest));
    } catch (err) {
      await opening?.catch(() => {}); // a failed config: the layers opening meanwhile finish first
      await Promise.all(layers.filter(Boolean).map((l) => l.close().catch(() => {})));
      throw err;
    }
    opts.onLayersOpen?.(layers);
    // Entries by position from the indexes, not the lists built here: those go after the build.
    const tree = buildTree(layers.map((l) => l.index.entries()), (layer, pos) => layers[layer]!.index.entryAt(pos));
    return new LazyImage(source, resolved, layers, tree, counters);
  }

  /** File bytes of a regular node (clamped at EOF like pread). */
  async read(node: TreeNode, offset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    const source = node.source; // made per read by the tree: read it once
    if (node.type !== 'reg' || !source || offset >= node.size || length <= 0) return Buffer.alloc(0);
    const layer = this.layers[source.layer];
    if (!layer) throw internal(`node ${node.ino} points at layer ${source.layer}, which the image does not have`);
    return layer.read(source.entry, offset, Math.min(length, node.size - offset), signal);
  }

  /** The whole content of a regular node, in bounded pieces. */
  async *readAll(node: TreeNode, pieceBytes = 1024 * 1024, signal?: AbortSignal): AsyncGenerator<Buffer> {
    for (let off = 0; off < node.size; off += pieceBytes) {
      yield await this.read(node, off, Math.min(pieceBytes, node.size - off), signal);
    }
  }

  /** Compressed size of all layers (what a full pull downloads). */
  get compressedSize(): number {
    return this.resolved.manifest.layers.reduce((s, l) => s + l.size, 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.layers.map((l) => l.close().catch(() => {})));
  }
}

async function openLayer(source: ImageSource, desc: Descriptor, i: number, count: number, opts: LazyImageOptions,
  counters: ReadCounters, localPath: string | undefined): Promise<LazyLayer> {
  // Local reads are not transfers: they count nowhere (the store verified the blob on ingest).
  const blob: RangeReader = localPath ? new LayoutBlobReader(localPath, desc.size, `stored layer ${desc.digest}`, NO_METER) : source.blob(desc);
  const early = opts.fetchLandmarkEarly && !localPath ? new EarlyRangeReader(blob) : undefined;
  // Index reads (footer, TOC) are cached too, unless the blob is local anyway.
  let opened: Awaited<ReturnType<typeof openLayerIndex>>;
  try {
    const indexReads = localPath ? undefined : new IndexReadCache(blob, opts.store, desc.digest);
    // Only for a layer whose index came over the wire: one opened here before has its
    // landmark's chunks in the cache (if not, the prefetch fetches what is missing, later).
    const onPrefetchEnd = (end: number) => { if (indexReads && indexReads.fromBlob > 0) early?.startEarly(end); };
    opened = await openLayerIndex(desc, indexReads ?? blob, early ? { onPrefetchEnd } : {});
  } catch (err) {
    early?.release();
    throw err;
  }
  if (opened.kind !== 'indexed') early?.release();
  if (opened.kind === 'indexed') {
    const reader = new CachedLayerReader({ index: opened.index, reader: early ?? blob, keyPrefix: desc.digest, store: opts.store, counters });
    const index = opened.index;
    return {
      desc,
      format: index.format,
      lazy: true,
      index,
      read: (entry, off, len, signal) => reader.read(entry, off, len, signal),
      prefetch: async (what, signal, o) => {
        try {
          if (what === 'all') return await reader.prefetch('all', signal, o);
          const end = index.info.prefetchEnd;
          if (end && end > 0 && !index.info.noPrefetch) await reader.prefetch({ blobOffset: 0, blobLength: end }, signal, o);
        } finally {
          early?.release(); // its bytes are cached now (or the prefetch failed): not kept
        }
      },
      close: async () => {
        early?.release();
        if (blob instanceof LayoutBlobReader) await blob.close();
      },
    };
  }
  // Plain gzip/zstd: one streamed fetch into a local uncompressed tar, read locally after.
  if (blob instanceof LayoutBlobReader) await blob.close();
  const progress = opts.progress ?? silentProgress;
  const id = `layer-${desc.digest}`;
  progress.start(id, `layer ${i + 1}/${count} ${desc.digest.slice(7, 19)} (${opened.format}, streamed)`, desc.size);
  const index = await openStreamedIndex({
    format: opened.format,
    openStream: async (offset) => localPath
      ? createReadStream(localPath, { start: offset })
      : (await source.openBlobStream(desc, offset, opts.signal)) as Readable,
    blobDigest: desc.digest,
    localDir: opts.layersDir,
    signal: opts.signal,
    onProgress: (_u, compressed) => progress.update(id, compressed),
  });
  progress.finish(id);
  return {
    desc,
    format: index.format,
    lazy: false,
    reason: opened.reason,
    index,
    read: (entry, off, len, signal) => index.read(entry, off, len, signal),
    prefetch: async () => {},
    close: () => index.close(),
  };
}

/** Where streamed layers keep their local random-access copies (STATE/layers). */
export function layersDir(stateDir: string): string {
  return join(stateDir, 'layers');
}
