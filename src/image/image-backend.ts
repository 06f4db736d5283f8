// The production MountBackend (one per mount-server process): images opened lazily
// (LazyImage) over a registry client and a chunk cache whose disk level, STATE/cache, all
// mount servers share, so the same image mounted twice reads bytes fetched once.
// Prefetch runs in the background after the mount answers; on-demand reads go first
// (the cache reader's limiter gives prefetch one slot at a time).

import type { CacheFigures, ImageCounters, MountBackend, OpenedImage, OpenImageOptions } from '../daemon/backend.js';
import type { ChunkStore } from '../cache/chunk-store.js';
import type { TwoLevelChunkStore } from '../cache/two-level-chunk-store.js';
import type { ContentStore } from '../store/content-store.js';
import { ReadCounters } from '../cache/read-counters.js';
import type { RegistryClient } from '../registry/client.js';
import type { TreeNode } from '../tree/tree-node.js';
import { LazyImage } from './lazy-image.js';
import { openSource } from './open-source.js';
import { parsePlatform } from './platform.js';

export interface ImageBackendOptions {
  client: RegistryClient;
  store: TwoLevelChunkStore;
  layersDir: string;
  /** The state dir's content store: layers pulled with `pull --all` are read from it. */
  localStore?: ContentStore;
  log?: (msg: string) => void;
}

export class ImageBackend implements MountBackend {
  /** Process-wide read counters (every mount's counters add here too). */
  readonly totals = new ReadCounters();

  constructor(private readonly opts: ImageBackendOptions) {}

  async openImage(reference: string, o: OpenImageOptions): Promise<OpenedImage> {
    const source = openSource(reference, { client: this.opts.client });
    let image: LazyImage;
    try {
      image = await LazyImage.open(source, {
        platform: o.platform ? parsePlatform(o.platform) : undefined,
        layersDir: this.opts.layersDir,
        store: this.opts.store as ChunkStore,
        parentCounters: this.totals,
        ...(this.opts.localStore ? { localStore: this.opts.localStore } : {}),
      });
    } catch (err) {
      await source.close().catch(() => {});
      throw err;
    }
    const abort = new AbortController();
    let errors = 0;
    const prefetch = o.prefetch ?? 'landmark';
    let started = false;
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
      startBackground: () => {
        if (started || closed || prefetch === 'none') return;
        started = true;
        // Failures only cost the prefetch: on-demand reads fetch what they need.
        void Promise.all(image.layers.map((l) => l.prefetch(prefetch, abort.signal))).catch((err: Error) => {
          if (!abort.signal.aborted) this.opts.log?.(`prefetch of ${reference}: ${err.message}`);
        });
      },
      close: async () => {
        if (closed) return;
        closed = true;
        abort.abort();
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
