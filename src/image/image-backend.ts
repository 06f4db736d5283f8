// The production MountBackend (one per mount-server process): images opened lazily
// (LazyImage) over a registry client and a chunk cache whose disk level, STATE/cache, all
// mount servers share, so the same image mounted twice reads bytes fetched once.
// Prefetch fetches from the moment the layers' indexes are read (the bytes travel while
// the tree is built and mounted) and decodes once the mount answers; on-demand reads go
// first (the cache reader's limiter gives prefetch one slot at a time).

import type { CacheFigures, ImageCounters, MountBackend, OpenedImage, OpenImageOptions } from '../daemon/backend.js';
import type { ChunkStore } from '../cache/chunk-store.js';
import type { TwoLevelChunkStore } from '../cache/two-level-chunk-store.js';
import type { StoredBlobs } from '../store/stored-blobs.js';
import { ReadCounters } from '../cache/read-counters.js';
import type { RegistryClient } from '../registry/client.js';
import type { TreeNode } from '../tree/tree-node.js';
import { LazyImage, type LazyLayer } from './lazy-image.js';
import { openSource } from './open-source.js';
import { parsePlatform } from './platform.js';

export interface ImageBackendOptions {
  client: RegistryClient;
  store: TwoLevelChunkStore;
  layersDir: string;
  /** The state dir's content store's blobs: layers pulled with `pull --all` are read from them (may still be opening). */
  localStore?: StoredBlobs | Promise<StoredBlobs>;
  log?: (msg: string) => void;
}

export class ImageBackend implements MountBackend {
  /** Process-wide read counters (every mount's counters add here too). */
  readonly totals = new ReadCounters();

  constructor(private readonly opts: ImageBackendOptions) {}

  async openImage(reference: string, o: OpenImageOptions): Promise<OpenedImage> {
    const source = openSource(reference, { client: this.opts.client });
    const abort = new AbortController();
    const prefetch = o.prefetch ?? 'landmark';
    let openGate!: () => void;
    /** Settles at startBackground() or close(): the prefetched bytes are decoded from then on. */
    const gate = new Promise<void>((done) => (openGate = done));
    const startPrefetch = (layers: readonly LazyLayer[]) => {
      if (prefetch === 'none') return;
      // Failures only cost the prefetch: on-demand reads fetch what they need.
      void Promise.all(layers.map((l) => l.prefetch(prefetch, abort.signal, { decodeAfter: gate }))).catch((err: Error) => {
        if (!abort.signal.aborted) this.opts.log?.(`prefetch of ${reference}: ${err.message}`);
      });
    };
    let image: LazyImage;
    try {
      image = await LazyImage.open(source, {
        onLayersOpen: startPrefetch,
        fetchLandmarkEarly: prefetch !== 'none',
        platform: o.platform ? parsePlatform(o.platform) : undefined,
        layersDir: this.opts.layersDir,
        store: this.opts.store as ChunkStore,
        parentCounters: this.totals,
        ...(this.opts.localStore ? { localStore: this.opts.localStore } : {}),
      });
    } catch (err) {
      abort.abort();
      openGate();
      await source.close().catch(() => {});
      throw err;
    }
    let errors = 0;
    let closed = false;
    return {
      tree: image.tree,
      read: async (node: TreeNode, offset: number, length: number, signal?: AbortSignal) => {
        try {
          return await image.read(node, offset, length, signal);
        } catch (err) {
          errors++;
          throw err;
        }
      },
      describe: () => ({
        image: image.resolved.reference,
        digest: image.resolved.manifestDigest,
        layers: image.layers.map((l) => ({
          digest: l.desc.digest, size: l.desc.size, mediaType: l.desc.mediaType, format: l.format, lazy: l.lazy,
          ...(l.reason ? { reason: l.reason } : {}),
        })),
        compressedBytes: image.compressedSize,
      }),
      counters: (): ImageCounters => ({
        // What crossed the wire for this mount: TOCs, chunks, prefetch and streamed layers.
        bytesFetched: source.counters.bytesFetched,
        requests: source.counters.requests,
        cacheHits: image.counters.cacheHits,
        cacheMisses: image.counters.cacheMisses,
        errors,
      }),
      startBackground: () => openGate(),
      close: async () => {
        if (closed) return;
        closed = true;
        abort.abort();
        openGate();
        await image.close();
        await source.close();
      },
    };
  }

  cacheFigures(): CacheFigures {
    const s = this.opts.store.stats();
    return { memoryBytes: s.memory.bytes, diskBytes: s.disk.bytes, diskLimitBytes: s.disk.limitBytes };
  }
}
